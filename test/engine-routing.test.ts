import { describe, expect, it } from 'vitest';
import { chooseEngine, queryKey, type EngineMatrix, type MatrixCell, type ProviderVerdict } from '../src/engines/routing.js';

const PROVIDERS = ['sample', 'gen-a', 'gen-b'];

function cell(...verdicts: ProviderVerdict[]): MatrixCell {
  const providers = Object.fromEntries(PROVIDERS.map((p, i) => [p, verdicts[i] ?? verdicts[0]!]));
  const all = Object.values(providers);
  const verdict = all.every((v) => v === 'same') ? 'same' : all.some((v) => v.startsWith('fails')) ? 'fails' : all.some((v) => v === 'differs') ? 'differs' : 'unproven';
  return { verdict, providers };
}

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

function matrix(): EngineMatrix {
  return {
    version: 1,
    reference: 'jena',
    providers: PROVIDERS,
    engines: ['jena', 'oxigraph', 'comunica'],
    queries: {
      [queryKey('ps-1.1', H1)]: { id: 'ps-1.1', kind: 'pack', sha256: H1, engines: { jena: cell('same'), oxigraph: cell('same'), comunica: cell('same') } },
      [queryKey('official/1.1', H1)]: {
        id: 'official/1.1',
        kind: 'official',
        sha256: H1,
        engines: { jena: cell('same'), oxigraph: cell('same', 'fails (timeout)', 'same'), comunica: cell('same', 'same', 'differs') },
      },
      [queryKey('official/9.1', H2)]: { id: 'official/9.1', kind: 'official', sha256: H2, engines: { jena: cell('same'), oxigraph: cell('differs'), comunica: cell('same') } },
      [queryKey('official/11.1', H2)]: {
        id: 'official/11.1',
        kind: 'official',
        sha256: H2,
        engines: { jena: cell('fails (timeout)'), oxigraph: cell('no reference'), comunica: cell('no reference') },
      },
    },
  };
}

describe('chooseEngine', () => {
  it('takes the first engine of the configured order that is proven and available', () => {
    const m = matrix();
    const k = queryKey('ps-1.1', H1);
    expect(chooseEngine(m, k, ['jena', 'oxigraph', 'comunica'], ['oxigraph', 'comunica', 'jena'])).toEqual({ engine: 'oxigraph' });
    expect(chooseEngine(m, k, ['jena', 'oxigraph', 'comunica'], ['comunica', 'oxigraph', 'jena'])).toEqual({ engine: 'comunica' });
    expect(chooseEngine(m, k, ['comunica', 'jena'], ['oxigraph', 'jena', 'comunica'])).toEqual({ engine: 'jena' });
    // An available engine outside the configured order is a last resort, not refused.
    expect(chooseEngine(m, k, ['comunica'], ['oxigraph'])).toEqual({ engine: 'comunica' });
  });

  it('skips engines that differ from the reference or fail on any provider', () => {
    const m = matrix();
    expect(chooseEngine(m, queryKey('official/9.1', H2), ['oxigraph', 'comunica'], ['oxigraph', 'comunica'])).toEqual({ engine: 'comunica' });
    // oxigraph timed out on one provider, comunica differed on another: only jena is proven.
    expect(chooseEngine(m, queryKey('official/1.1', H1), ['oxigraph', 'comunica', 'jena'], ['oxigraph', 'comunica', 'jena'])).toEqual({ engine: 'jena' });
  });

  it('refuses when no available engine is proven, naming the proven ones, how to install Jena and how to re-run', () => {
    const r = chooseEngine(matrix(), queryKey('official/1.1', H1), ['oxigraph', 'comunica'], ['oxigraph', 'comunica']);
    expect(r).not.toHaveProperty('engine');
    const refusal = (r as { refusal: string }).refusal;
    expect(refusal).toMatch(/Refusing to run official\/1\.1/);
    expect(refusal).toMatch(/oxigraph: fails \(fails \(timeout\) on gen-a\)/);
    expect(refusal).toMatch(/comunica: differs \(differs on gen-b\)/);
    expect(refusal).toMatch(/Proven on every provider of the conformance run: jena/);
    expect(refusal).toMatch(/apt-get install libapache-jena-java/);
    expect(refusal).toMatch(/npm run conformance:engines/);
  });

  it('refuses a query the reference could not answer, even on the reference itself', () => {
    const r = chooseEngine(matrix(), queryKey('official/11.1', H2), ['jena', 'oxigraph', 'comunica'], ['jena']);
    const refusal = (r as { refusal: string }).refusal;
    expect(refusal).toMatch(/Proven on every provider of the conformance run: no engine/);
    expect(refusal).toMatch(/jena: fails/);
    expect(refusal).toMatch(/oxigraph: unproven \(no reference on sample/);
  });

  it('refuses with no engines available at all', () => {
    const r = chooseEngine(matrix(), queryKey('ps-1.1', H1), [], ['oxigraph']);
    expect((r as { refusal: string }).refusal).toMatch(/Available engines: none/);
  });

  it('refuses a query missing from the matrix, or whose text changed, and names conformance:engines', () => {
    const unknown = chooseEngine(matrix(), queryKey('ps-9.9', H1), ['jena', 'oxigraph'], ['oxigraph']);
    expect((unknown as { refusal: string }).refusal).toMatch(/has no entry for ps-9\.9.*npm run conformance:engines/s);
    const edited = chooseEngine(matrix(), queryKey('ps-1.1', H2), ['jena', 'oxigraph'], ['oxigraph']);
    expect((edited as { refusal: string }).refusal).toMatch(/has ps-1\.1 only for another text of the query.*npm run conformance:engines/s);
  });
});
