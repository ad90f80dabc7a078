import { AnswerStateError } from '../../answers/answers.js';
import { ManualValueError } from '../../answers/manual.js';
import { RoundError } from '../../answers/rounds.js';
import { UserError } from '../../auth/users.js';

/** A refusal by the domain, as the API (English, status) and the pages (Dutch) show it. */
export interface DomainRefusal {
  status: 400 | 403 | 404 | 409;
  /** The domain's own message (English, names the fix). */
  message: string;
  /** The same for the board's users, in Dutch. */
  dutch: string;
}

/**
 * Dutch for the refusals the users meet; the domain's English message stays behind it as the
 * technical detail, so nothing it says is lost in translation.
 */
function dutchFor(e: Error, status: number): string {
  const m = e.message.toLowerCase();
  // The password asked again at approval (before "locked": an account lock is not a closed round).
  if (m.includes('password wrong')) return 'Het wachtwoord klopt niet: geef uw eigen wachtwoord opnieuw om goed te keuren.';
  if (m.includes('account locked')) return 'Uw account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het later opnieuw.';
  // Value checks (the manual entry's own, also when the round's code passes them on).
  if (m.includes('ja/nee')) return 'Kies ja of nee.';
  if (m.includes('web address') || m.includes('http(s)')) return 'Geef een volledig webadres, bijvoorbeeld https://www.voorbeeld.nl/kwaliteitsverslag.pdf.';
  if (m.includes('text is empty')) return 'Vul een tekst in.';
  if (m.includes('not a number')) return 'Geef een getal (cijfers, eventueel met één decimaalteken).';
  if (m.includes('not a percentage')) return 'Geef een percentage tussen 0 en 100.';
  if (e instanceof ManualValueError) return 'De ingevulde waarde past niet bij dit item.';
  if (m.includes('locked') || m.includes('closed') || m.includes('deadline')) return 'De ronde is gesloten: na de deadline kan niets meer worden gewijzigd, klaargezet of goedgekeurd.';
  if (m.includes('hash') || m.includes('changed') || m.includes('stale')) return 'De inhoud is veranderd sinds u de pagina opende. Bekijk opnieuw wat wordt verzonden en keur daarna goed.';
  if (m.includes('four-eyes') || m.includes('four eyes')) return 'Vier-ogenprincipe: deze indeling moet eerst door een kwaliteitsmedewerker worden klaargezet, en goedkeuren moet door een ander persoon gebeuren.';
  if (m.includes('justification')) return 'Geef een toelichting van minstens 10 tekens bij de correctie.';
  if (m.includes('reason')) return 'Geef een reden op.';
  if (m.includes('upcoming') || m.includes('not open')) return 'De ronde is nog niet open.';
  if (e instanceof UserError) return 'Dit is niet gelukt met dit account.';
  if (status === 404) return 'Niet gevonden: controleer de ronde, de indeling of het item.';
  if (status === 403) return 'Dit mag u met uw rol niet doen.';
  if (status === 409) return 'Dit kan in de huidige toestand niet.';
  return 'De invoer klopt niet.';
}

/** The refusal when `e` is one of the domain's own errors; undefined for anything else (a 500). */
export function domainRefusalOf(e: unknown): DomainRefusal | undefined {
  if (!(e instanceof Error)) return undefined;
  let status: DomainRefusal['status'];
  if (e instanceof RoundError) status = e.status;
  else if (e instanceof AnswerStateError) status = 409;
  else if (e instanceof ManualValueError || e instanceof UserError) status = 400;
  else return undefined;
  return { status, message: e.message, dutch: `${dutchFor(e, status)} (${e.message})` };
}
