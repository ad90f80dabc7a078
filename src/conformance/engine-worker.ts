/**
 * Child process of the engine conformance run (engines.ts): holds one engine with one provider's
 * snapshot and runs the queries it is sent, one at a time. It is a separate process because the
 * in-process engines (Oxigraph's WASM, Comunica) cannot be interrupted mid-query: the parent kills
 * this process (and its process group, which takes Jena's JVMs along) when a query overruns.
 *
 * Messages in: init {engine, options, packsDir, profile, version}, load {file}, official {n, text},
 * pack {n, id, year}. Messages out: ready, loaded {ms}, done {n, ok, results | error, ms}.
 */
import { createEngine, type EngineOptions } from '../engines/registry.js';
import type { QueryEngine, SparqlJsonResults } from '../engines/types.js';
import { loadPack, normaliserEngine, runIndicator, type ProfilePack, type SharedRuns } from '../indicators/pack.js';
import { normaliseQuery } from '../sparql/normalise.js';

export type WorkerRequest =
  | { type: 'init'; engine: string; options: EngineOptions; pack?: { dir: string; profile: string; version: string } }
  | { type: 'load'; file: string }
  | { type: 'official'; n: number; text: string }
  | { type: 'pack'; n: number; id: string; year: number };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'loaded'; ms: number }
  | { type: 'failed'; error: string }
  | { type: 'done'; n: number; ok: true; results: SparqlJsonResults; ms: number }
  | { type: 'done'; n: number; ok: false; error: string; ms: number };

let engine: QueryEngine | undefined;
let pack: ProfilePack | undefined;
/** Runs of queries that several items share, for the snapshot loaded now. */
let shared: SharedRuns = new Map();

const send = (m: WorkerReply) => process.send!(m);
const message = (e: unknown) => ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').slice(0, 400);

async function handle(m: WorkerRequest): Promise<void> {
  switch (m.type) {
    case 'init':
      try {
        engine = createEngine(m.engine, m.options);
        if (m.pack) pack = loadPack(m.pack.dir, m.pack.profile, m.pack.version);
        send({ type: 'ready' });
      } catch (e) {
        send({ type: 'failed', error: message(e) });
      }
      return;
    case 'load': {
      const started = Date.now();
      try {
        await engine!.loadFile(m.file);
        shared = new Map();
        send({ type: 'loaded', ms: Date.now() - started });
      } catch (e) {
        send({ type: 'failed', error: message(e) });
      }
      return;
    }
    case 'official':
    case 'pack': {
      const started = Date.now();
      try {
        let results: SparqlJsonResults;
        if (m.type === 'official') {
          // The official text with its parameters bound, then the engine's normalisation, as in `kikv run`.
          results = await engine!.select(normaliseQuery(m.text, {}, normaliserEngine(engine!.name)).text);
        } else {
          results = (await runIndicator(engine!, pack!, m.id, m.year, shared)).results;
        }
        send({ type: 'done', n: m.n, ok: true, results, ms: Date.now() - started });
      } catch (e) {
        send({ type: 'done', n: m.n, ok: false, error: message(e), ms: Date.now() - started });
      }
      return;
    }
  }
}

// One request at a time, in order: the parent waits for each reply before sending the next.
let queue = Promise.resolve();
process.on('message', (m: WorkerRequest) => {
  queue = queue.then(() => handle(m));
});
process.on('disconnect', () => process.exit(0));
