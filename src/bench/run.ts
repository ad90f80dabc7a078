/**
 * `npm run bench [CONFIG] [--only=profile,official,stages,mapping|all] [--sizes=1000,15000]
 *                [--engines=oxigraph,jena] [--budget=SECONDS] [--total=SECONDS] [--fresh] [--rocket-budget=SECONDS]`
 *
 * profile   the whole 2023 profile on generated providers (--sizes, in staff) on every available
 *           engine, per item time and peak memory, next to the oracle as the floor (profile.ts)
 * official  the official Zorgkantoren queries at 1,000 staff on Jena (official.ts)
 * stages    each pipeline stage on small providers (stages.ts)
 * mapping   RML mapping throughput and memory, side by side with RocketRML (mapping.ts)
 *
 * Default: profile and official, then the issue 4 targets with PASS/MISS. Providers are generated and
 * imported once and reused from os.tmpdir()/kikv-bench-cache (--fresh: make them again). Every engine
 * run is its own process with a time budget, fitted so that the sections stay within --total
 * (default 600 s, not counting making providers that were not cached). Figures are printed, not asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFileFrom, loadConfig } from '../config/load.js';
import { ENGINE_NAMES } from '../engines/registry.js';
import { EMBEDDED_DEFAULT } from './engines.js';
import { mb, msOrSec, oneLine, sec, verdict } from './format.js';
import { mappingBench } from './mapping.js';
import { officialSection, OFFICIAL_TARGET_MS, type OfficialRun } from './official.js';
import { profileSection, type ProfileRun } from './profile.js';
import { benchProvider } from './providers.js';
import { stagesSection } from './stages.js';

const SECTIONS = ['profile', 'official', 'stages', 'mapping'] as const;
type Section = (typeof SECTIONS)[number];

const PROFILE_TARGET_1000_MS = 10_000;
const PROFILE_TARGET_15000_MS = 300_000;
const MEMORY_LIMIT = 8 * 1024 ** 3;
/** Official queries run at this size (the issue's target is stated for it). */
const OFFICIAL_STAFF = 1000;
const OFFICIAL_BUDGET_MS = 720_000;
/** Past the 60 s target a query only shows how far over it is. */
const OFFICIAL_QUERY_TIMEOUT_MS = 75_000;

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const has = (name: string) => args.includes(`--${name}`);

function parseSections(v: string | undefined): Set<Section> {
  if (!v) return new Set(['profile', 'official']);
  if (v === 'all') return new Set(SECTIONS);
  const out = new Set<Section>();
  for (const s of v.split(',')) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only=${v}: "${s}" is not a section; use one or more of ${SECTIONS.join(',')} (comma-separated), or all`);
    out.add(s as Section);
  }
  return out;
}

function parseSizes(v: string | undefined): number[] {
  const sizes = (v ?? '1000,15000').split(',').map((s) => Number(s.replace(/_/g, '')));
  for (const n of sizes) if (!Number.isInteger(n) || n < 10) throw new Error(`--sizes=${v}: sizes are whole numbers of staff (at least 10), e.g. --sizes=1000,15000`);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function seconds(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}=${v}: give a number of seconds, e.g. --${name}=120`);
  return n * 1000;
}

const only = parseSections(flag('only'));
const sizes = parseSizes(flag('sizes'));
const fixedBudget = flag('budget') !== undefined ? seconds('budget', 0) : undefined;
const totalMs = seconds('total', 600);
const fresh = has('fresh');
/** Only these engines in the profile section (default: every available one). */
const engineFilter = flag('engines')?.split(',').filter(Boolean);
for (const e of engineFilter ?? []) if (!(ENGINE_NAMES as readonly string[]).includes(e)) throw new Error(`--engines: "${e}" is not an engine; use one or more of ${ENGINE_NAMES.join(',')}`);
const configFile = configFileFrom(args.find((a) => !a.startsWith('--')));
const cfg = loadConfig(configFile);
const year = cfg.indicators.reportingYear;
const started = Date.now();
// Engine stores (Jena's TDB2) for this run, shared by the sections, removed at the end.
const scratch = mkdtempSync(join(tmpdir(), 'kikv-bench-stores-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
/** Time spent making providers that were not cached: not counted against --total. */
let preparingMs = 0;
const left = () => totalMs - (Date.now() - started - preparingMs);
async function provider(staff: number) {
  const t = Date.now();
  try {
    return await benchProvider(staff, cfg, { fresh, log });
  } finally {
    preparingMs += Date.now() - t;
  }
}
const log = (s: string) => console.log(`  [${sec(Date.now() - started)}] ${s}`);

console.log(`kikv-agent bench, node ${process.version}, sections: ${[...only].join(', ')}${only.has('profile') ? `, sizes: ${sizes.join(', ')} staff` : ''}`);
console.log('Timings are wall time on this machine, shared with other work: expect noise of tens of percent between runs.');

const profiles: ProfileRun[] = [];
let official: OfficialRun | undefined;
const officialPending = () => only.has('official') && !official;

/** Per-engine budget: the item cap for the size, within what is left of --total after the sections still to come. */
function engineBudget(staff: number, engines: number, laterSizes: number): number {
  if (fixedBudget !== undefined) return fixedBudget;
  const cap = staff <= 1000 ? 90_000 : 330_000;
  const reserve = (officialPending() ? OFFICIAL_BUDGET_MS : 0) + laterSizes * 120_000;
  return Math.max(30_000, Math.min(cap, (left() - reserve) / Math.max(1, engines)));
}

async function runOfficial(): Promise<void> {
  const p = await provider(OFFICIAL_STAFF);
  const budgetMs = Math.max(60_000, Math.min(OFFICIAL_BUDGET_MS, left() - (only.has('profile') ? sizes.filter((s) => s > OFFICIAL_STAFF).length * 120_000 : 0)));
  official = await officialSection(p, { year, budgetMs, queryTimeoutMs: OFFICIAL_QUERY_TIMEOUT_MS, scratch: join(scratch, String(OFFICIAL_STAFF)) });
}

if (only.has('profile')) {
  for (const [i, staff] of sizes.entries()) {
    const p = await provider(staff);
    profiles.push(await profileSection(p, cfg, { budgetMs: (n) => engineBudget(staff, n, sizes.length - i - 1), log, scratch: join(scratch, String(staff)), ...(engineFilter ? { engines: engineFilter } : {}) }));
    // The official queries go right after the 1,000-staff profile: they reuse its provider.
    if (staff >= OFFICIAL_STAFF && officialPending()) await runOfficial();
  }
}
if (officialPending()) await runOfficial();
if (only.has('stages')) await stagesSection(cfg);
if (only.has('mapping')) {
  const budget = Number(flag('rocket-budget') ?? 180);
  await mappingBench({ config: configFile, rules: cfg.mapping.rules, baseIri: cfg.mapping.baseIri, rocketBudgetSeconds: Number.isFinite(budget) ? budget : 180 });
}

// ---- targets (issue 4) ----------------------------------------------------------------------------
if (only.has('profile') || only.has('official')) {
  console.log('');
  console.log(`== targets (issue 4), bench took ${sec(Date.now() - started)}${preparingMs > 1000 ? ` (${sec(preparingMs)} of it making providers)` : ''}`);
  const wrong = (p: ProfileRun, engine: string) =>
    p.itemIds.filter((id) => {
      const m = profiles.find((x) => x === p)!.engines.find((e) => e.engine === engine)?.items.get(id);
      const o = p.oracle?.items.get(id);
      if (!m?.rows || !o?.rows) return false;
      const key = (r: { indeling: string; teller: string | null; noemer: string | null }) => `${r.indeling}|${r.teller}|${r.noemer}`;
      const want = new Set(o.rows.map(key));
      const got = new Set(m.rows.filter((r) => r.teller !== null || want.has(key(r))).map(key));
      return want.size !== got.size || [...want].some((k) => !got.has(k));
    });

  if (only.has('profile')) {
    const p1 = profiles.find((p) => p.staff === 1000);
    const r = p1?.engines.find((e) => e.engine === EMBEDDED_DEFAULT);
    const label = `profile at 1,000 staff on ${EMBEDDED_DEFAULT} (embedded default) ≤ ${sec(PROFILE_TARGET_1000_MS)}`;
    if (!p1) console.log(`${label}: not measured (--sizes has no 1000)`);
    else if (!r) console.log(`${label}: not measured (${EMBEDDED_DEFAULT} did not run)`);
    else {
      const diff = wrong(p1, EMBEDDED_DEFAULT);
      const figure = r.totalMs !== undefined ? `${sec(r.totalMs)} (load ${sec(r.loadMs!)} + ${p1.itemIds.length} items), peak ${mb(r.peakRss)}` : `incomplete${r.failure ? `: ${oneLine(r.failure, 160)}` : ': an item failed or was skipped'}`;
      console.log(`${label}: ${figure}  ${verdict(r.totalMs !== undefined && r.totalMs <= PROFILE_TARGET_1000_MS)}${diff.length ? `  (rows differ from the oracle: ${diff.join(', ')})` : ''}`);
    }
    const p15 = profiles.find((p) => p.staff === 15000);
    const label15 = `profile at 15,000 staff on the best available engine ≤ ${sec(PROFILE_TARGET_15000_MS)} within ${mb(MEMORY_LIMIT)}`;
    if (!p15) console.log(`${label15}: not measured (--sizes has no 15000)`);
    else {
      const done = p15.engines.filter((e) => e.totalMs !== undefined).sort((a, b) => a.totalMs! - b.totalMs!);
      const best = done.find((e) => e.peakRss <= MEMORY_LIMIT) ?? done[0];
      if (!best) console.log(`${label15}: no engine completed the profile (${p15.engines.map((e) => `${e.engine}: ${oneLine(e.failure ?? 'an item failed or was skipped', 120)}`).join('; ')})  MISS`);
      else {
        const diff = wrong(p15, best.engine);
        console.log(`${label15}: ${best.engine} ${sec(best.totalMs!)}, peak ${mb(best.peakRss)}  ${verdict(best.totalMs! <= PROFILE_TARGET_15000_MS && best.peakRss <= MEMORY_LIMIT)}${diff.length ? `  (rows differ from the oracle: ${diff.join(', ')})` : ''}`);
      }
    }
  }
  if (only.has('official')) {
    const label = `every official query at 1,000 staff ≤ ${sec(OFFICIAL_TARGET_MS)} on the best available engine (jena)`;
    if (!official || official.unavailable) console.log(`${label}: not measured${official?.unavailable ? ` (${oneLine(official.unavailable, 160)})` : ''}  MISS`);
    else {
      const slow = official.queries.filter((q) => !q.msg || q.msg.skipped || q.msg.error || q.msg.ms > OFFICIAL_TARGET_MS);
      const worst = [...official.queries].filter((q) => q.msg && !q.msg.skipped && !q.msg.error).sort((a, b) => b.msg!.ms - a.msg!.ms)[0];
      const why = slow.map((q) => `${q.id} ${!q.msg ? 'not finished' : q.msg.skipped ? 'not run' : q.msg.error ? (/timed out|no answer within/.test(q.msg.error) ? `> ${sec(q.msg.ms)}` : 'failed') : msOrSec(q.msg.ms)}`);
      console.log(`${label}: ${official.queries.length - slow.length} of ${official.queries.length} within${worst ? `, slowest finished: ${worst.id} ${msOrSec(worst.msg!.ms)}` : ''}${why.length ? `; over or not done: ${why.join(', ')}` : ''}  ${verdict(slow.length === 0 && official.queries.length > 0)}`);
    }
  }
}
