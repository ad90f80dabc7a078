/**
 * The "profile" section of `npm run bench`: the whole 2023 profile (every computed item of the pack)
 * on a generated provider, on every available engine, each engine in its own process with a time
 * budget, next to the oracle (the same items computed directly from the staging rows) as the floor.
 * Per item: time, peak RSS while it ran, and whether its rows equal the oracle's.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AgentConfig } from '../config/schema.js';
import { loadPack } from '../indicators/pack.js';
import { runChild, type ChildOutcome } from './child.js';
import { benchEngines } from './engines.js';
import { int, mb, msOrSec, oneLine, row, sec } from './format.js';
import { fileSize, type BenchProvider } from './providers.js';
import type { BenchRow, WorkerMessage } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Past its budget an engine may finish the item it is on; after this grace it is killed. */
const GRACE_MS = 20_000;

type ItemMsg = Extract<WorkerMessage, { kind: 'item' }>;

export interface EngineRun {
  engine: string;
  loadMs?: number;
  items: Map<string, ItemMsg>;
  /** Load plus every item; undefined when an item failed, was skipped or never reported. */
  totalMs?: number;
  peakRss: number;
  failure?: string;
  /** Times the engine was started again after an item was stopped (each reloads the snapshot). */
  restarts?: number;
}

export interface ProfileRun {
  staff: number;
  engines: EngineRun[];
  oracle?: EngineRun;
  itemIds: string[];
}

function describe(p: BenchProvider): string {
  const o = p.options;
  const cached = (at?: string) => (at ? ` (cached ${at.slice(0, 16).replace('T', ' ')})` : '');
  return [
    `provider: ${int(o.employees)} staff, ${int(o.clients)} clients, ${o.locations} locations, ${o.years!.from}–${o.years!.to}, seed ${o.seed}: ${int(p.rows)} staging rows`,
    `  generated in ${sec(p.generateMs)}${cached(p.generatedAt)}; imported in ${sec(p.importMs)}, peak RSS ${mb(p.importPeakRss)}${p.validated ? '' : ', SHACL skipped (over mapping.validateUpTo)'}${cached(p.importedAt)}`,
    `  snapshot ${p.hash.slice(0, 12)}…: ${int(p.quads)} quads, ${mb(fileSize(p.snapshotFile))}`,
  ].join('\n');
}

function collect(engine: string, out: ChildOutcome<WorkerMessage>): EngineRun {
  const items = new Map<string, ItemMsg>();
  let loadMs: number | undefined;
  let maxRss = 0;
  let error: string | undefined;
  for (const m of out.messages) {
    if (m.kind === 'loaded') loadMs = m.ms;
    else if (m.kind === 'item') items.set(m.id, m);
    else if (m.kind === 'done') {
      maxRss = m.maxRss;
      error = m.error;
    }
  }
  const failure = out.failure ?? error;
  return { engine, ...(loadMs !== undefined ? { loadMs } : {}), items, peakRss: Math.max(maxRss, out.treePeakRss), ...(failure ? { failure } : {}) };
}

const STOPPED = 'stopped: over the per-item limit';

/**
 * Runs the items on one engine within its budget. An item that runs past the per-item limit is
 * stopped (its process killed: an in-process engine cannot be interrupted) and the engine starts
 * again from the next item, so one slow query does not hide the figures of the others.
 */
async function runEngine(name: string, itemIds: string[], task: Record<string, unknown>, budgetMs: number, itemLimitMs: number): Promise<EngineRun> {
  const run: EngineRun = { engine: name, items: new Map(), peakRss: 0, restarts: 0 };
  const started = performance.now();
  let remaining = [...itemIds];
  while (remaining.length > 0) {
    const left = budgetMs - (performance.now() - started);
    if (left < 5_000) {
      run.failure = `used up its time budget of ${sec(budgetMs)}`;
      break;
    }
    const out = await runChild<WorkerMessage>(
      WORKER,
      { ...task, kind: 'profile', engine: name, items: remaining, budgetMs: left },
      { timeoutMs: left + GRACE_MS, execArgv: ['--max-old-space-size=8192'], idle: { after: 'loaded', ms: itemLimitMs } },
    );
    const part = collect(name, out);
    if (run.loadMs === undefined) {
      if (part.loadMs !== undefined) run.loadMs = part.loadMs;
    } else run.restarts!++;
    run.peakRss = Math.max(run.peakRss, part.peakRss);
    for (const [id, m] of part.items) run.items.set(id, m);
    remaining = remaining.filter((id) => !run.items.has(id));
    if (out.idle && remaining.length > 0) {
      const id = remaining.shift()!;
      run.items.set(id, { kind: 'item', id, ms: itemLimitMs, peakRss: 0, error: `${STOPPED} of ${sec(itemLimitMs)}` });
      continue;
    }
    if (part.failure) {
      const running = remaining[0];
      run.failure = out.failure?.startsWith('stopped')
        ? `stopped after ${sec(out.wallMs)} (time budget ${sec(left)} left, plus ${sec(GRACE_MS)} to finish the item under way)${part.loadMs === undefined ? ' while loading the snapshot' : running ? ` while running ${running}` : ''}`
        : part.failure;
      break;
    }
  }
  const complete = run.loadMs !== undefined && itemIds.every((id) => run.items.has(id) && !run.items.get(id)!.error && !run.items.get(id)!.skipped);
  if (complete) run.totalMs = run.loadMs! + itemIds.reduce((s, id) => s + run.items.get(id)!.ms, 0);
  return run;
}

/** Rows compared as teller/noemer per indeling; rows the oracle leaves out must be rows without data. */
function compare(engineRows: BenchRow[] | undefined, oracleRows: BenchRow[] | undefined): string {
  if (!oracleRows) return 'no oracle';
  if (!engineRows) return '';
  const want = new Map(oracleRows.map((r) => [r.indeling, r]));
  let differ = 0;
  for (const r of engineRows) {
    const o = want.get(r.indeling);
    want.delete(r.indeling);
    if (!o) {
      if (r.teller !== null) differ++;
      continue;
    }
    if (o.teller !== r.teller || o.noemer !== r.noemer) differ++;
  }
  differ += want.size;
  return differ === 0 ? '= oracle' : `DIFFERS (${differ} rows)`;
}

export async function profileSection(
  provider: BenchProvider,
  cfg: AgentConfig,
  /** scratch: a directory for engine stores (Jena's TDB2), kept for the bench run. */
  opts: { budgetMs: (engines: number) => number; log: (s: string) => void; scratch: string; engines?: string[] },
): Promise<ProfileRun> {
  const { profile, version } = cfg.indicators.profiles[0]!;
  const year = cfg.indicators.reportingYear;
  const pack = loadPack(cfg.indicators.packs, profile, version);
  const itemIds = pack.manifest.indicators.filter((i) => pack.queries.has(i.id)).map((i) => i.id);
  const manual = pack.manifest.indicators.length - itemIds.length;
  const staff = provider.options.employees;

  console.log('');
  console.log(`== profile ${profile} ${version}, reporting year ${year}: ${itemIds.length} computed items (${manual} manual items need no query)`);
  console.log(describe(provider));

  const common = { packs: cfg.indicators.packs, profile, version, year };
  const oracleOut = await runChild<WorkerMessage>(WORKER, { kind: 'oracle', csvDir: provider.csvDir, ...common }, { timeoutMs: 120_000, execArgv: ['--max-old-space-size=8192'] });
  const oracle = collect('oracle', oracleOut);

  const engines = (await benchEngines()).filter((e) => !opts.engines || opts.engines.includes(e.name));
  const available = engines.filter((e) => !e.unavailable);
  const budgetMs = opts.budgetMs(available.length);
  const itemLimitMs = staff <= 1000 ? 60_000 : 150_000;
  console.log(`engines (src/engines/registry.ts): ${engines.map((e) => (e.unavailable ? `${e.name} (not available: ${e.unavailable})` : e.name)).join(', ')}; time budget ${sec(budgetMs)} each, ${sec(itemLimitMs)} per item`);
  const runs: EngineRun[] = [];
  for (const e of available) {
    opts.log(`${e.name} …`);
    runs.push(await runEngine(e.name, itemIds, { snapshotFile: provider.snapshotFile, ...common, locations: provider.locations, scratch: opts.scratch }, budgetMs, itemLimitMs));
  }

  // ---- table: one line per item, oracle then each engine --------------------------------------------
  const W = { item: 8, oracle: 10, time: 9, rss: 9, check: 20 };
  const head: Array<[string, number]> = [['item', W.item], ['oracle', -W.oracle]];
  for (const r of runs) head.push([`${r.engine}`, -W.time], ['peak RSS', -W.rss], ['rows', W.check]);
  console.log('');
  console.log(row(head));
  const cell = (r: EngineRun, id: string): Array<[string, number]> => {
    const m = r.items.get(id);
    if (!m) return [['—', -W.time], ['', -W.rss], [r.failure ? (id === itemIds.find((x) => !r.items.has(x)) && r.loadMs !== undefined ? 'stopped (budget)' : 'not run (budget)') : 'no result', W.check]];
    if (m.skipped) return [['—', -W.time], ['', -W.rss], ['not run (budget)', W.check]];
    if (m.error?.startsWith(STOPPED)) return [[`> ${sec(m.ms)}`, -W.time], ['', -W.rss], ['STOPPED (item limit)', W.check]];
    if (m.error) return [[msOrSec(m.ms), -W.time], [mb(m.peakRss), -W.rss], ['ERROR', W.check]];
    return [[msOrSec(m.ms), -W.time], [mb(m.peakRss), -W.rss], [compare(m.rows, oracle.items.get(id)?.rows), W.check]];
  };
  const loadLine: Array<[string, number]> = [['load', W.item], [oracle.loadMs !== undefined ? msOrSec(oracle.loadMs) : '—', -W.oracle]];
  for (const r of runs) loadLine.push([r.loadMs !== undefined ? sec(r.loadMs) : '—', -W.time], ['', -W.rss], ['', W.check]);
  console.log(row(loadLine));
  for (const id of itemIds) {
    const o = oracle.items.get(id);
    const cells: Array<[string, number]> = [[id, W.item], [o ? (o.error ? 'ERROR' : msOrSec(o.ms)) : '—', -W.oracle]];
    for (const r of runs) cells.push(...cell(r, id));
    console.log(row(cells));
  }
  const oracleTotal = [...oracle.items.values()].reduce((s, m) => s + m.ms, 0);
  const total: Array<[string, number]> = [['total', W.item], [oracle.items.size > 0 ? msOrSec(oracleTotal) : '—', -W.oracle]];
  for (const r of runs) total.push([r.totalMs !== undefined ? sec(r.totalMs) : 'incomplete', -W.time], [mb(r.peakRss), -W.rss], ['', W.check]);
  console.log(row(total));
  if (runs.some((r) => r.engine === 'jena')) console.log('jena: load = building its TDB2 store from the snapshot (tdb2.tdbloader, once per snapshot); each item = one tdb2.tdbquery JVM');
  console.log('total = load + every item; its peak RSS is the whole process tree (the kernel\'s maxRSS, and VmHWM of a JVM it started)');
  console.log(`oracle: ${oracle.items.size} of ${itemIds.length} items have one (src/oracle ITEM_ORACLES); its time excludes reading the CSV files (the "load" line)${oracle.failure ? `; ${oracle.failure}` : ''}`);

  for (const r of runs) {
    if (r.failure) console.log(`note: ${r.engine}: ${oneLine(r.failure, 400)}`);
    if (r.restarts) console.log(`note: ${r.engine} was started again ${r.restarts} time(s) after a stopped item; those reloads are not in its total`);
    for (const id of itemIds) {
      const m = r.items.get(id);
      if (m?.error && !m.error.startsWith(STOPPED)) console.log(`note: ${r.engine} ${id}: ${oneLine(m.error, 300)}`);
    }
  }
  const slowest = runs.flatMap((r) => [...r.items.values()].filter((m) => !m.error && !m.skipped).map((m) => ({ engine: r.engine, id: m.id, ms: m.ms })));
  slowest.sort((a, b) => b.ms - a.ms);
  for (const r of runs) {
    const top = slowest.filter((s) => s.engine === r.engine).slice(0, 3);
    if (top.length > 0) console.log(`slowest on ${r.engine}: ${top.map((s) => `${s.id} ${msOrSec(s.ms)}`).join(', ')}`);
  }
  return { staff, engines: runs, oracle, itemIds };
}
