import type { Command } from 'commander';
import { enterManualValue, ManualValueError, manualValues } from '../../answers/manual.js';
import { ORGANISATIE, type ItemRow } from '../../indicators/item-rows.js';
import { loadPack } from '../../indicators/pack.js';
import { ProfileRunError, runProfile, snapshotVestigingen, type ItemOutcome, type ProfileRun } from '../../indicators/run-profile.js';
import { ParameterError } from '../../indicators/parameter-shapes.js';
import { latestSnapshotHash } from '../../pipeline/import.js';
import { snapshotFile } from '../../store/snapshot.js';
import { UsageError, wholeNumber, withAgent } from '../context.js';
import { table } from '../format.js';

/** `kikv run` and `kikv manual`: computing a profile, and the board's manual items. */
export function registerProfileCommands(program: Command): void {
  program
    .command('run')
    .description('compute every item of a profile on the latest snapshot; the answers wait for the board')
    .option('--profile <id>', 'profile pack id (default: the first of indicators.profiles)')
    .option('--version <v>', 'profile pack version (default: the configured one)')
    .requiredOption('--year <yyyy>', 'reporting year', wholeNumber('--year'))
    .option('--engine <name>', 'run every computed item on this engine (only where conformance proves it)')
    .option('--allow-unproven-engine', 'with --engine: also where the conformance matrix does not prove it (recorded in each answer)')
    .option('--json', 'print every item as JSON')
    .action(async (o: { profile?: string; version?: string; year: number; engine?: string; allowUnprovenEngine?: boolean; json?: boolean }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        if (o.allowUnprovenEngine && !o.engine) throw new UsageError('--allow-unproven-engine needs --engine NAME');
        let run: ProfileRun;
        try {
          run = await runProfile(ctx.cfg, ctx.db, { profile: o.profile, version: o.version, year: o.year, engine: o.engine, allowUnproven: o.allowUnprovenEngine, actor: 'operator (cli)' });
        } catch (e) {
          if (e instanceof ProfileRunError || e instanceof ParameterError) throw new UsageError(e.message);
          throw e;
        }
        console.log(o.json ? JSON.stringify(runJson(run), null, 2) : runText(run));
        if (run.items.some((i) => i.status === 'refused' || i.status === 'failed')) process.exitCode = 1;
      }),
    );

  const manual = program.command('manual').description('the manual items (yes/no, text, URL) the board enters per location');
  manual
    .command('set')
    .description('enter the value of a manual item for a location or the organisation')
    .argument('<item>', 'item id, e.g. bv-7')
    .argument('<value>', 'ja/nee, a text, a URL or a number, as the item\'s unit says')
    .option('--location <vestigingsnummer>', 'the location (leave out for an organisation item)')
    .requiredOption('--year <yyyy>', 'reporting year', wholeNumber('--year'))
    .requiredOption('--as <name>', 'who enters the value')
    .action(async (item: string, value: string, o: { location?: string; year: number; as: string }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const { pack, scope } = configuredPack(ctx.cfg, o.year);
        const def = pack.manifest.indicators.find((i) => i.id === item);
        if (!def) throw new UsageError(`no item ${item} in ${scope.profile} ${scope.version}; manual items: ${pack.manifest.indicators.filter((i) => i.manual).map((i) => i.id).join(', ')}`);
        const locations = await snapshotLocations(ctx);
        try {
          const row = enterManualValue(ctx.db, scope, def, o.location ?? ORGANISATIE, value, o.as, locations);
          console.log(`${def.number} ${def.name} for ${row.indeling}: ${row.value} (entered by ${row.entered_by}). It is included in the next \`kikv run --year ${o.year}\`.`);
        } catch (e) {
          if (e instanceof ManualValueError) throw new UsageError(e.message);
          throw e;
        }
      }),
    );
  manual
    .command('list')
    .description('the latest entry of every manual item, and which are still missing')
    .requiredOption('--year <yyyy>', 'reporting year', wholeNumber('--year'))
    .action(async (o: { year: number }, cmd: Command) =>
      withAgent(cmd, async (ctx) => {
        const { pack, scope } = configuredPack(ctx.cfg, o.year);
        const entries = manualValues(ctx.db, scope);
        const locations = await snapshotLocations(ctx);
        const rows: string[][] = [];
        for (const def of pack.manifest.indicators.filter((i) => i.manual)) {
          const targets = [...(def.level.includes('location') ? locations : []), ...(def.level.includes('organisation') ? [ORGANISATIE] : [])];
          for (const t of targets) {
            const e = entries.find((x) => x.item_id === def.id && x.indeling === t);
            rows.push([def.id, def.number, def.unit, t, e ? e.value : '(not entered)', e ? `${e.entered_by} ${e.entered_at.slice(0, 16).replace('T', ' ')}` : '']);
          }
        }
        console.log(table(['item', 'nr', 'unit', 'location', 'value', 'entered'], rows));
      }),
    );
}

function configuredPack(cfg: Parameters<typeof runProfile>[0], year: number) {
  const p = cfg.indicators.profiles[0];
  if (!p) throw new UsageError('no profile configured under indicators.profiles');
  const pack = loadPack(cfg.indicators.packs, p.profile, p.version);
  return { pack, scope: { profile: pack.manifest.profile.id, version: pack.manifest.profile.version, year } };
}

/** Vestigingsnummers of the latest snapshot. */
async function snapshotLocations(ctx: { cfg: Parameters<typeof runProfile>[0]; db: Parameters<typeof runProfile>[1] }): Promise<string[]> {
  const hash = latestSnapshotHash(ctx.db);
  if (!hash) throw new UsageError('there is no snapshot yet; run `kikv import` first');
  return snapshotVestigingen(snapshotFile(ctx.cfg.storage.dataDir, hash));
}

const show = (r: ItemRow): string => (r.value !== null ? r.value : `not computable: ${r.notComputable}`);

function runText(run: ProfileRun): string {
  const out: string[] = [`${run.profile.id} ${run.profile.version} (${run.profile.ontology}), reporting year ${run.year}, snapshot ${run.snapshot.slice(0, 12)}`];
  const section = (title: string, indeling: string) => {
    const rows: string[][] = [];
    for (const o of run.items) {
      const r = o.rows.find((x) => x.indeling === indeling && x.afdeling === undefined);
      if (!r && (o.status === 'refused' || o.status === 'failed') && levelApplies(o, indeling)) rows.push([o.item.number, o.item.name, '', '', `${o.status.toUpperCase()} (see below)`, o.engine ?? '']);
      if (!r) continue;
      rows.push([o.item.number, o.item.name, r.teller ?? '', r.noemer ?? '', show(r), o.engine ?? '']);
    }
    if (rows.length === 0) return;
    out.push('', title, table(['nr', 'item', 'teller', 'noemer', 'value', 'engine'], rows));
  };
  for (const l of run.locations) section(`Vestiging ${l.vestigingsnummer} ${l.name}`, l.vestigingsnummer);
  section(`Organisatie ${run.organisation.name} (KvK ${run.organisation.kvk})`, ORGANISATIE);
  const problems = run.items.filter((i) => i.status === 'refused' || i.status === 'failed');
  for (const p of problems) out.push('', `${p.item.id} ${p.status}: ${p.error}`);
  const count = (s: string) => run.items.filter((i) => i.status === s).length;
  out.push('', `${count('computed')} computed, ${count('entered')} entered, ${count('awaiting entry')} manual awaiting entry (\`kikv manual set\`), ${count('refused')} refused, ${count('failed')} failed. Answers wait for the board: \`kikv answers list\`.`);
  return out.join('\n');
}

function levelApplies(o: ItemOutcome, indeling: string): boolean {
  return indeling === ORGANISATIE ? o.item.level.includes('organisation') : o.item.level.includes('location');
}

/** Every item with its number, INID, level, location (vestigingsnummer) or organisation (KvK), teller, noemer and value. */
export function runJson(run: ProfileRun) {
  return {
    profile: run.profile,
    reportingYear: run.year,
    snapshot: run.snapshot,
    organisation: run.organisation,
    locations: run.locations,
    items: run.items.map((o) => ({
      id: o.item.id,
      set: o.item.set,
      inid: o.item.inid,
      number: o.item.number,
      name: o.item.name,
      unit: o.item.unit,
      level: o.item.level,
      manual: o.item.manual ?? false,
      status: o.status,
      engine: o.engine ?? null,
      queryHash: o.queryHash ?? null,
      answerId: o.answerId ?? null,
      ...(o.error ? { error: o.error } : {}),
      values: o.rows.map((r) => ({
        level: r.afdeling !== undefined ? 'ward' : r.indeling === ORGANISATIE ? 'organisation' : 'location',
        ...(r.indeling === ORGANISATIE ? { kvk: run.organisation.kvk } : { vestigingsnummer: r.indeling }),
        ...(r.afdeling !== undefined ? { afdeling: r.afdeling } : {}),
        teller: r.teller,
        noemer: r.noemer,
        value: r.value,
        ...(r.notComputable ? { notComputable: r.notComputable } : {}),
        ...(r.details ? { details: r.details } : {}),
      })),
    })),
  };
}
