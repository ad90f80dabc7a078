import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/open.js';
import type { IndicatorDef } from '../indicators/pack.js';

/**
 * Manual items: the yes/no, text, URL (and a few number) items of basisveiligheid that the board or
 * quality staff enter per location. Each entry is validated by the item's unit, kept forever (the
 * table refuses updates and deletes), audited, and the latest entry per item and indeling counts.
 */

export interface ManualValue {
  item_id: string;
  indeling: string;
  value: string;
  entered_by: string;
  entered_at: string;
}

export class ManualValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManualValueError';
  }
}

const MAX_TEXT = 4000;

/** The value in its stored form, or an error saying what the unit accepts. */
export function validateManualValue(item: IndicatorDef, raw: string): string {
  const v = raw.trim();
  const where = `${item.id} (${item.number} ${item.name}, unit ${item.unit})`;
  switch (item.unit) {
    case 'yes/no': {
      const t = v.toLowerCase();
      if (t === 'ja' || t === 'yes') return 'ja';
      if (t === 'nee' || t === 'no') return 'nee';
      throw new ManualValueError(`${where}: "${raw}" is not ja/nee (yes/no)`);
    }
    case 'text':
      if (!v) throw new ManualValueError(`${where}: the text is empty`);
      if (v.length > MAX_TEXT) throw new ManualValueError(`${where}: the text has ${v.length} characters; at most ${MAX_TEXT}`);
      return v;
    case 'url': {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new ManualValueError(`${where}: "${raw}" is not a web address; give the full address, e.g. https://www.example.nl/kwaliteitsverslag-2023.pdf`);
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ManualValueError(`${where}: "${raw}" is not an http(s) address`);
      return u.href;
    }
    case 'number':
    case 'percentage': {
      const n = v.replace(',', '.');
      if (!/^-?\d+(\.\d+)?$/.test(n)) throw new ManualValueError(`${where}: "${raw}" is not a number (digits, optionally one decimal separator)`);
      if (item.unit === 'percentage' && (Number(n) < 0 || Number(n) > 100)) throw new ManualValueError(`${where}: ${n} is not a percentage between 0 and 100`);
      return n;
    }
  }
}

export interface ManualScope {
  profile: string;
  version: string;
  year: number;
}

/** Stores a validated entry for a location (vestigingsnummer) or "Organisatie"; returns the stored value. */
export function enterManualValue(db: Db, scope: ManualScope, item: IndicatorDef, indeling: string, raw: string, actor: string, locations: string[]): ManualValue {
  if (!item.manual) throw new ManualValueError(`${item.id} is computed from the data, not entered; correct the source data or (issue 6) override it with a justification`);
  if (!actor.trim()) throw new ManualValueError('say who enters the value (--as NAME); every entry is attributable');
  const organisation = indeling === 'Organisatie';
  if (organisation && !item.level.includes('organisation')) throw new ManualValueError(`${item.id} is entered per location; give --location VESTIGINGSNUMMER`);
  if (!organisation && !item.level.includes('location')) throw new ManualValueError(`${item.id} is entered for the organisation; leave out --location`);
  if (!organisation && !locations.includes(indeling)) throw new ManualValueError(`location ${indeling} is not in the latest snapshot (known: ${locations.join(', ') || 'none'})`);
  const value = validateManualValue(item, raw);
  const row: ManualValue = { item_id: item.id, indeling, value, entered_by: actor.trim(), entered_at: new Date().toISOString() };
  db.transaction(() => {
    db.prepare(
      `INSERT INTO manual_values (profile, profile_version, reporting_year, item_id, indeling, value, entered_by, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(scope.profile, scope.version, scope.year, row.item_id, row.indeling, row.value, row.entered_by, row.entered_at);
    appendAudit(db, { actor: row.entered_by, action: 'manual.entered', subject: `${scope.profile} ${scope.version} ${scope.year} ${item.id} ${indeling}`, details: { item: item.id, inid: item.inid, indeling, value } });
  }).immediate();
  return row;
}

/** The latest entry per item and indeling for a profile version and year. */
export function manualValues(db: Db, scope: ManualScope): ManualValue[] {
  return db
    .prepare(
      `SELECT item_id, indeling, value, entered_by, entered_at FROM manual_values m
       WHERE profile = ? AND profile_version = ? AND reporting_year = ?
         AND id = (SELECT MAX(id) FROM manual_values n WHERE n.profile = m.profile AND n.profile_version = m.profile_version
                   AND n.reporting_year = m.reporting_year AND n.item_id = m.item_id AND n.indeling = m.indeling)
       ORDER BY item_id, indeling`,
    )
    .all(scope.profile, scope.version, scope.year) as ManualValue[];
}
