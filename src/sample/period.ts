/**
 * The calendar period a generated sample covers. Staff data covers the years `from`..`to`; client data
 * runs on to the end of February after `to` (the Basisveiligheid measurement window of reporting year
 * `to`), which is also the date of the export.
 *
 * The generator was first written for 2022–2023 (the reference span of two years); its dates and shares
 * are expressed relative to this period so that the default span gives exactly the same output.
 */
import * as D from './dates.js';

export interface SampleYears {
  /** First calendar year (inclusive). */
  from: number;
  /** Last calendar year (inclusive); the reporting year. */
  to: number;
}

export const DEFAULT_YEARS: Readonly<SampleYears> = Object.freeze({ from: 2022, to: 2023 });

/** Years of the reference span the shares below were calibrated on. */
const REFERENCE_YEARS = 2;

export class Period {
  readonly from: number;
  readonly to: number;
  /** Number of calendar years covered (to - from + 1). */
  readonly years: number;
  /** Day numbers of 1 January `from` and 31 December `to`. */
  readonly start: number;
  readonly end: number;
  /** Last day the export knows about (end of February of the year after `to`): absences running past it are still open. */
  readonly exportDate: number;

  constructor(years: SampleYears = DEFAULT_YEARS) {
    const { from, to } = years;
    for (const [name, v] of [['from', from], ['to', to]] as const)
      if (!Number.isInteger(v) || v < 1950 || v > 2200) throw new RangeError(`sample years.${name} must be a whole year between 1950 and 2200 (got ${v})`);
    if (to < from) throw new RangeError(`sample years: from (${from}) must not be after to (${to})`);
    if (to - from + 1 > 30) throw new RangeError(`sample years: at most 30 years (got ${from}–${to})`);
    this.from = from;
    this.to = to;
    this.years = to - from + 1;
    this.start = D.day(from, 1, 1);
    this.end = D.day(to, 12, 31);
    this.exportDate = this.atEnd(1, 2, 29);
  }

  /**
   * True for a two-year period: the generator then draws exactly as it was calibrated (and as the
   * default output has always been). Other lengths model leaving and discharge as a constant rate per
   * year from the same calibration, which keeps head counts flat over the years.
   */
  get reference(): boolean {
    return this.years === REFERENCE_YEARS;
  }

  /**
   * The yearly rate at which persons present at the start leave, when share `p` of the persons seen
   * over the reference span were already present: inflow equals outflow, so (1 - p) / p / 2 per year.
   */
  static leaveRate(p: number): number {
    return (1 - p) / p / REFERENCE_YEARS;
  }

  /** The day `waitYears` (fractional) years after day `from`. */
  static after(from: number, waitYears: number): number {
    return from + Math.floor(waitYears * 365.25);
  }

  /** The given month and day in year `from + yearOffset` (day clamped to the month, so 29 Feb becomes 28 Feb). */
  atStart(yearOffset: number, m: number, d: number): number {
    return clampedDay(this.from + yearOffset, m, d);
  }

  /** The given month and day in year `to + yearOffset` (day clamped to the month). */
  atEnd(yearOffset: number, m: number, d: number): number {
    return clampedDay(this.to + yearOffset, m, d);
  }

  /** The calendar years from..to. */
  yearList(): number[] {
    return Array.from({ length: this.years }, (_, i) => this.from + i);
  }

  /**
   * Share of persons already present when the period starts, given that share `p` over the two-year
   * reference span: with a steady inflow, persons who join during the period grow with its length,
   * so the share is p / (p + (1 - p) * years / 2). Exactly `p` for a two-year period.
   */
  present(p: number): number {
    if (this.years === REFERENCE_YEARS) return p;
    return p / (p + ((1 - p) * this.years) / REFERENCE_YEARS);
  }

  /** Share of persons who leave during the period, given share `p` over the reference span (complement of present). Exactly `p` for two years. */
  leaving(p: number): number {
    if (this.years === REFERENCE_YEARS) return p;
    return 1 - this.present(1 - p);
  }

  /** Probability that an event with probability `p` per two years happens at least once in the period. Exactly `p` for two years. */
  atLeastOnce(p: number): number {
    if (this.years === REFERENCE_YEARS) return p;
    return 1 - Math.pow(1 - p, this.years / REFERENCE_YEARS);
  }

  /** Extra years beyond the reference span (0 for two years or fewer). */
  get extraYears(): number {
    return Math.max(0, this.years - REFERENCE_YEARS);
  }

  /** Shift of age-related year ranges: the reference ranges are for a period ending in 2023. */
  get ageShift(): number {
    return this.to - 2023;
  }
}

function clampedDay(y: number, m: number, d: number): number {
  return D.day(y, m, Math.min(d, D.daysInMonth(y, m)));
}
