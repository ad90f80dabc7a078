/**
 * Option `historyYears`: no staff agreement starts more than that many years before the period.
 * Permanent staff otherwise start up to 34 years back, and the import's OWL-Time calendar covers
 * every year the data's events fall in (up to 20 years back), so a tiny provider carries a calendar
 * of some 33,000 statements. Tests that import many small providers use this to keep the calendar
 * (and with it the import and the engine load) short; the measurement years see the same persons.
 */
import type { SampleTables } from './generate.js';

/**
 * Agreements (and their clauses) starting before 1 January of `cutYear` start on that day instead;
 * agreements that ended before it are left out with everything that refers to them, and so are
 * persons left without an agreement; client indications, stays and measures likewise. Changes the
 * tables in place.
 */
export function limitHistory(t: SampleTables, cutYear: number): void {
  const cut = `${String(cutYear).padStart(4, '0')}-01-01`;
  const dropped = new Set<string>();
  const agreements = (t.agreements ?? []).filter((a) => {
    if (a.end_date && a.end_date < cut) {
      dropped.add(a.agreement_id!);
      return false;
    }
    if (a.start_date! < cut) a.start_date = cut;
    return true;
  });
  t.agreements = agreements;
  const keep = (rows: SampleTables[string] | undefined) => (rows ?? []).filter((r) => !dropped.has(r.agreement_id!));
  t.clauses = keep(t.clauses).filter((c) => !(c.end_date && c.end_date < cut));
  for (const c of t.clauses) if (c.start_date! < cut) c.start_date = cut;
  t.absences = keep(t.absences).filter((a) => !(a.end_date && a.end_date < cut));
  for (const a of t.absences) if (a.start_date! < cut) a.start_date = cut;
  t.worked_hours = keep(t.worked_hours);
  const withAgreement = new Set(agreements.map((a) => a.employee_id));
  t.employees = (t.employees ?? []).filter((e) => withAgreement.has(e.employee_id));
  // Clients: stays and indications likewise (clients admitted long ago are in care from the cut on).
  const goneIndications = new Set((t.indications ?? []).filter((i) => i.end_date && i.end_date < cut).map((i) => i.indication_id!));
  t.indications = (t.indications ?? []).filter((i) => !goneIndications.has(i.indication_id!));
  t.care_episodes = (t.care_episodes ?? []).filter((e) => !goneIndications.has(e.indication_id!) && !(e.end_date && e.end_date < cut));
  t.restrictive_measures = (t.restrictive_measures ?? []).filter((m) => !(m.end_date && m.end_date < cut));
  for (const rows of [t.indications, t.care_episodes, t.restrictive_measures]) for (const r of rows) if (r.start_date! < cut) r.start_date = cut;
}
