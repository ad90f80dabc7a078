/**
 * The "official" section of `npm run bench`: every official KIK-V Zorgkantoren 1.3.4 query, parameters
 * bound for the last quarter (Q4) and last day of the reporting year, on Apache Jena (the only engine
 * that runs them all as written: docs/research/engine-anchors.md) with the snapshot in memory in one
 * long-lived JVM (src/engines/jena/memory.ts): on a TDB2 store the slowest take minutes. Each text goes
 * through the normaliser for Jena first, as at run time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveJenaClasspath } from '../engines/jena/index.js';
import { bindOfficialQuery, peildatumParameter, quarterParameters, zorgkantoor } from '../engines/jena/official.js';
import { normaliseQuery } from '../sparql/normalise.js';
import { runChild } from './child.js';
import { mb, oneLine, row, sec, verdict } from './format.js';
import { fileSize, type BenchProvider } from './providers.js';
import type { WorkerMessage } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OFFICIAL_DIR = resolve(ROOT, '../shared/kikv-official/zorgkantoren-1.3.4');
/** The target per official query at 1,000 staff (issue 4). */
export const OFFICIAL_TARGET_MS = 60_000;

type OfficialMsg = Extract<WorkerMessage, { kind: 'official' }>;

export interface OfficialRun {
  engine: string;
  loadMs?: number;
  queries: Array<{ id: string; msg?: OfficialMsg }>;
  unavailable?: string;
  failure?: string;
}

const byNumber = (a: string, b: string) => {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1! - b1! || a2! - b2!;
};

/** `scratch`: where Jena keeps its TDB2 store for the run (the profile section may have built it already). */
export async function officialSection(provider: BenchProvider, opts: { year: number; budgetMs: number; queryTimeoutMs: number; scratch: string; dir?: string }): Promise<OfficialRun> {
  const dir = opts.dir ?? OFFICIAL_DIR;
  console.log('');
  console.log(`== official Zorgkantoren 1.3.4 queries (${dir}) at ${provider.options.employees.toLocaleString('en-US')} staff, on Apache Jena`);
  if (!existsSync(dir)) {
    console.log(`not run: ${dir} does not exist (the official queries live beside the repository, in ../shared/kikv-official)`);
    return { engine: 'jena', queries: [], unavailable: `${dir} missing` };
  }
  let jena: string;
  try {
    const cp = resolveJenaClasspath();
    jena = `Jena ${cp.jenaVersion}`;
  } catch (e) {
    const why = oneLine(e instanceof Error ? e.message : String(e));
    console.log(`not run: Jena is not available: ${why}`);
    return { engine: 'jena', queries: [], unavailable: why };
  }
  const ids = readdirSync(dir)
    .filter((f) => /^\d+\.\d+\.rq$/.test(f))
    .map((f) => f.slice(0, -3))
    .sort(byNumber);
  const values = { ...quarterParameters(opts.year, 'Q4'), ...peildatumParameter(`${opts.year}-12-31`), zorgkantoor: zorgkantoor('MiddenIJssel') };
  // Normalised for Jena, as the exchange sends a KIK-starter's query to it (src/exchange/requests.ts).
  const queries = ids.map((id) => ({ id, text: normaliseQuery(bindOfficialQuery(readFileSync(join(dir, `${id}.rq`), 'utf8'), values).text, {}, 'jena').text }));
  console.log(
    `${jena} in memory (the snapshot, ${mb(fileSize(provider.snapshotFile))}, read once into one long-lived JVM, -Xmx6g); ` +
      `parameters: jaar ${opts.year}, kwartaal Q4, peildatum ${opts.year}-12-31, zorgkantoor MiddenIJssel; ` +
      `time limit ${sec(opts.queryTimeoutMs)} per query, ${sec(opts.budgetMs)} for the section`,
  );

  const out = await runChild<WorkerMessage>(
    WORKER,
    { kind: 'official', dataFile: provider.snapshotFile, queries, queryTimeoutMs: opts.queryTimeoutMs, budgetMs: opts.budgetMs, scratch: opts.scratch },
    { timeoutMs: opts.budgetMs + opts.queryTimeoutMs + 60_000 },
  );
  const msgs = new Map<string, OfficialMsg>();
  let loadMs: number | undefined;
  let loadRss = 0;
  let error: string | undefined;
  for (const m of out.messages) {
    if (m.kind === 'official') msgs.set(m.id, m);
    else if (m.kind === 'loaded') {
      loadMs = m.ms;
      loadRss = m.peakRss;
    } else if (m.kind === 'done') error = m.error;
  }
  const run: OfficialRun = { engine: 'jena', ...(loadMs !== undefined ? { loadMs } : {}), queries: ids.map((id) => ({ id, ...(msgs.has(id) ? { msg: msgs.get(id)! } : {}) })) };
  const failure = out.failure ?? error;
  if (failure) run.failure = failure;

  console.log('');
  console.log(row([['query', 7], ['time', -9], ['peak RSS', -9], ['rows', -6], [`≤ ${sec(OFFICIAL_TARGET_MS)}`, 6], ['', 0]]));
  if (loadMs !== undefined) console.log(row([['load', 7], [sec(loadMs), -9], [mb(loadRss), -9], ['', -6], ['', 6], ['the snapshot read into memory (once per run)', 0]]));
  for (const { id, msg } of run.queries) {
    if (!msg) {
      console.log(row([[id, 7], ['—', -9], ['', -9], ['', -6], ['MISS', 6], [failure ? `not finished: ${oneLine(failure, 200)}` : 'no result', 0]]));
      continue;
    }
    if (msg.skipped) {
      console.log(row([[id, 7], ['—', -9], ['', -9], ['', -6], ['MISS', 6], [msg.skipped, 0]]));
      continue;
    }
    const ok = !msg.error && msg.ms <= OFFICIAL_TARGET_MS;
    if (msg.error && /timed out|no answer within/.test(msg.error)) {
      console.log(row([[id, 7], [`> ${sec(msg.ms)}`, -9], [mb(msg.peakRss), -9], ['', -6], ['MISS', 6], ['stopped at its time limit', 0]]));
      continue;
    }
    console.log(row([[id, 7], [sec(msg.ms), -9], [mb(msg.peakRss), -9], [msg.rowCount !== undefined ? String(msg.rowCount) : '', -6], [verdict(ok), 6], [msg.error ? oneLine(msg.error, 200) : '', 0]]));
  }
  console.log('time = one query on the loaded data: query and results (the target is judged on it); peak RSS = the JVM. Correctness of the values: test/official-jena.test.ts and npm run conformance:engines.');
  return run;
}
