import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { loadPack, type ProfileHeader } from '../indicators/pack.js';
import { instantOfWallTime, isoInZone, wallTimeAt } from '../scheduler/zoned-time.js';
import type { Answer } from './answers.js';

/**
 * Delivery rounds: a configured profile pack × a reporting year, with the window in which its
 * answers may be sent. The window is the configured override (delivery.windows) for that profile
 * and year, else the pack's own when the year is the pack's reporting year, else the pack's window
 * moved by the difference in years (in the pack's time zone, so 23:59 stays 23:59 across DST).
 */

export interface Round {
  /** `${profile}/${year}` */
  id: string;
  profile: string;
  /** The configured pack version. */
  version: string;
  name: string;
  year: number;
  /** ISO date-times with the offset of `timeZone`. */
  opens: string;
  closes: string;
  timeZone: string;
}

export type RoundPhase = 'upcoming' | 'open' | 'locked';

/** A refused round action; `status` is the HTTP status the API answers with. */
export class RoundError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409,
  ) {
    super(message);
    this.name = 'RoundError';
  }
}

// Packs do not change while the agent runs; reading their manifests for every answer would.
const headers = new Map<string, ProfileHeader>();

function headerOf(cfg: AgentConfig, profile: string, version: string): ProfileHeader {
  const key = `${cfg.indicators.packs}\u0000${profile}\u0000${version}`;
  let h = headers.get(key);
  if (!h) {
    h = loadPack(cfg.indicators.packs, profile, version).manifest.profile;
    headers.set(key, h);
  }
  return h;
}

function shiftYears(iso: string, years: number, timeZone: string): string {
  const w = wallTimeAt(new Date(iso), timeZone);
  const shifted = { ...w, year: w.year + years };
  // 29 February in a year without one, or a wall time skipped by DST: the next existing minute.
  let ms = instantOfWallTime(shifted, timeZone);
  for (let step = 1; ms === undefined && step <= 180; step++) ms = instantOfWallTime({ ...shifted, minute: shifted.minute + step }, timeZone);
  if (ms === undefined) ms = Date.UTC(shifted.year, shifted.month - 1, shifted.day, shifted.hour, shifted.minute);
  return isoInZone(ms, timeZone);
}

// A YAML reader may hand a timestamp over as a Date.
const isoOf = (v: string | Date): string => (v instanceof Date ? v.toISOString() : String(v));

function roundFor(cfg: AgentConfig, profile: string, version: string, year: number): Round {
  const h = headerOf(cfg, profile, version);
  const tz = h.deliveryWindow.timeZone;
  const override = cfg.delivery.windows.find((w) => w.profile === profile && w.year === year);
  const opensRaw = isoOf(h.deliveryWindow.opens);
  const closesRaw = isoOf(h.deliveryWindow.closes);
  const window = override
    ? { opens: isoInZone(new Date(override.opens), tz), closes: isoInZone(new Date(override.closes), tz) }
    : year === h.reportingYear
      ? { opens: isoInZone(new Date(opensRaw), tz), closes: isoInZone(new Date(closesRaw), tz) }
      : { opens: shiftYears(opensRaw, year - h.reportingYear, tz), closes: shiftYears(closesRaw, year - h.reportingYear, tz) };
  return { id: `${profile}/${year}`, profile, version, name: h.name, year, ...window, timeZone: tz };
}

/** Per configured profile: the pack's reporting year and every year with answers, newest first. */
export function listRounds(cfg: AgentConfig, db: Db): Round[] {
  const years = db.prepare('SELECT DISTINCT reporting_year AS year FROM answers WHERE profile = ? AND profile_version = ?');
  const rounds: Round[] = [];
  for (const p of cfg.indicators.profiles) {
    const h = headerOf(cfg, p.profile, p.version);
    const ys = new Set<number>([h.reportingYear, ...(years.all(p.profile, p.version) as Array<{ year: number }>).map((r) => r.year)]);
    for (const y of [...ys].sort((a, b) => b - a)) rounds.push(roundFor(cfg, p.profile, p.version, y));
  }
  return rounds;
}

/** The round `${profile}/${year}`, or a 404 RoundError naming the rounds there are. */
export function getRound(cfg: AgentConfig, db: Db, id: string): Round {
  const all = listRounds(cfg, db);
  const r = all.find((x) => x.id === id);
  if (!r) throw new RoundError(`no delivery round "${id}"; rounds are PROFILE/YEAR, one of: ${all.map((x) => x.id).join(', ') || 'none (configure indicators.profiles)'}`, 404);
  return r;
}

export function roundPhase(round: Round, now: Date): RoundPhase {
  const t = now.getTime();
  if (t < Date.parse(round.opens)) return 'upcoming';
  if (t <= Date.parse(round.closes)) return 'open';
  return 'locked';
}

/** Calendar days from today to the deadline's day in the round's time zone: 0 on the last day, negative after. */
export function daysToDeadline(round: Round, now: Date): number {
  const a = wallTimeAt(now, round.timeZone);
  const b = wallTimeAt(new Date(round.closes), round.timeZone);
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

/** The round an answer belongs to; undefined for a profile this agent does not answer for (or whose pack is missing). */
export function roundOfAnswer(cfg: AgentConfig, a: Pick<Answer, 'profile' | 'reporting_year'>): Round | undefined {
  const p = cfg.indicators.profiles.find((x) => x.profile === a.profile);
  if (!p) return undefined;
  try {
    return roundFor(cfg, p.profile, p.version, a.reporting_year);
  } catch {
    return undefined;
  }
}

/** The message for a refused action on a locked round: names the deadline that passed. */
export function lockedMessage(round: Round): string {
  return `round ${round.id} is locked: its delivery window closed at ${round.closes} (${round.timeZone}); nothing can be changed, approved or sent any more`;
}

/** Throws 409 when the round is locked at `now`. */
export function assertNotLocked(round: Round, now: Date): void {
  if (roundPhase(round, now) === 'locked') throw new RoundError(lockedMessage(round), 409);
}
