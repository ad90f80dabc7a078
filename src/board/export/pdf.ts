import PDFDocument from 'pdfkit';
import type { LocationOverview, OverviewItem } from '../overview.js';

/**
 * The performance overview as a PDF for the board's papers: A4, one section per location (and the
 * organisation), each a title block and a table of the items with value, teller, noemer, the previous
 * year and the change, a marker for corrected values and warnings; page numbers and a footer with the
 * snapshot and when it was made. Dutch labels, decimal commas. The standard PDF fonts (no files to ship).
 */

export interface PdfOptions {
  /** False writes uncompressed content streams (tests read the text back). */
  compress?: boolean;
  now?: Date;
}

const MARGIN = 40;
const FOOTER = 28;
const COLUMNS = [
  { key: 'nr', label: 'Nr.', width: 38, align: 'left' },
  { key: 'name', label: 'Indicator', width: 196, align: 'left' },
  { key: 'value', label: 'Waarde', width: 56, align: 'right' },
  { key: 'teller', label: 'Teller', width: 48, align: 'right' },
  { key: 'noemer', label: 'Noemer', width: 48, align: 'right' },
  { key: 'previous', label: 'Vorig jaar', width: 52, align: 'right' },
  { key: 'change', label: 'Verschil', width: 50, align: 'right' },
  { key: 'mark', label: 'Let op', width: 27, align: 'center' },
] as const;
type Key = (typeof COLUMNS)[number]['key'];

const NUMBER = /^[+-]?\d+(\.\d+)?$/;

/** Characters of Windows-1252 above Latin-1's printable range: what the standard PDF fonts can show besides Latin-1. */
const CP1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const SPELLED: Record<string, string> = { '≥': '>=', '≤': '<=', '≠': '!=', '→': '->', '←': '<-', '−': '-' };

/**
 * Text the standard fonts (WinAnsi) can show: other characters would print as unrelated glyphs (pdfkit
 * writes their low byte), so they are spelled out, stripped of accents, or replaced by "?".
 */
export function pdfSafe(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '\n' || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) || CP1252_EXTRA.has(ch)) out += ch;
    else if (SPELLED[ch] !== undefined) out += SPELLED[ch];
    else {
      const base = ch.normalize('NFD').replace(/\p{M}+/gu, '');
      out += base !== ch && [...base].every((b) => b.codePointAt(0)! < 0x7f) ? base : '?';
    }
  }
  return out;
}

const nl = (v: string | null | undefined): string => (v === null || v === undefined ? '' : NUMBER.test(v) ? v.replace('.', ',') : v);

function dutchDateTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('nl-NL', { timeZone, day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

function valueText(it: OverviewItem): string {
  if (it.awaitingEntry) return 'nog invullen';
  if (it.value === null) return 'n.b.';
  if (it.item.unit === 'percentage') return `${nl(it.value)}%`;
  if (it.item.unit === 'yes/no') return it.value === 'ja' ? 'Ja' : it.value === 'nee' ? 'Nee' : it.value;
  return nl(it.value);
}

function cells(it: OverviewItem): Record<Key, string> {
  const marks = [it.override ? 'C' : '', it.warnings.length > 0 ? '!' : ''].join('');
  // Free text and web addresses do not fit a number column: they go under the name.
  const long = (it.item.unit === 'text' || it.item.unit === 'url') && it.value !== null;
  const out = {
    nr: it.item.number,
    name: long ? `${it.item.name}\n${it.value}` : it.item.name,
    value: long ? '' : valueText(it),
    teller: nl(it.teller),
    noemer: nl(it.noemer),
    previous: it.previous ? (it.previous.value === null ? 'n.b.' : nl(it.previous.value)) : '',
    change: nl(it.change),
    mark: marks,
  };
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, pdfSafe(v)])) as Record<Key, string>;
}

export async function overviewPdf(overviews: LocationOverview[], opts: PdfOptions = {}): Promise<Buffer> {
  const now = opts.now ?? new Date();
  const doc = new PDFDocument({ size: 'A4', margins: { top: MARGIN, bottom: MARGIN + FOOTER, left: MARGIN, right: MARGIN }, bufferPages: true, compress: opts.compress ?? true, info: { Title: 'Prestatieoverzicht', Creator: 'kikv-agent' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  /** Per page, the overview it belongs to (for the footer's snapshot). */
  const pageOf: Array<LocationOverview | undefined> = [];
  const bottom = () => doc.page.height - MARGIN - FOOTER;

  const header = () => {
    let x = MARGIN;
    const y = doc.y;
    doc.font('Helvetica-Bold').fontSize(8.5);
    for (const c of COLUMNS) {
      doc.text(c.label, x + 2, y, { width: c.width - 4, align: c.align });
      x += c.width;
    }
    doc.moveTo(MARGIN, y + 12).lineTo(doc.page.width - MARGIN, y + 12).lineWidth(0.7).stroke();
    doc.y = y + 15;
    doc.font('Helvetica').fontSize(8.5);
  };

  if (overviews.length === 0) {
    doc.font('Helvetica').fontSize(12).text('Geen indelingen in deze ronde: er zijn nog geen antwoorden berekend.');
  }
  overviews.forEach((ov, i) => {
    if (i > 0) doc.addPage();
    pageOf[doc.bufferedPageRange().count - 1] = ov;
    const r = ov.round;
    doc.font('Helvetica-Bold').fontSize(16).text(pdfSafe(`Prestatieoverzicht ${ov.name}`), { width: doc.page.width - 2 * MARGIN });
    doc.moveDown(0.3).font('Helvetica').fontSize(10);
    doc.text(pdfSafe(`Organisatie: ${ov.organisation.name}${ov.organisation.kvk ? ` (KvK ${ov.organisation.kvk})` : ''}`));
    doc.text(ov.indeling === 'Organisatie' ? 'Indeling: organisatie als geheel' : `Vestigingsnummer: ${ov.indeling}`);
    doc.text(pdfSafe(`Ronde: ${r.name}, verslagjaar ${r.year} (profielversie ${r.version})`));
    doc.text(`Deadline: ${dutchDateTime(r.closes, r.timeZone)}`);
    doc.moveDown(0.8);
    header();
    for (const it of ov.items) {
      const c = cells(it);
      doc.font('Helvetica').fontSize(8.5);
      const h = Math.max(...COLUMNS.map((col) => doc.heightOfString(c[col.key] || ' ', { width: col.width - 4 }))) + 4;
      if (doc.y + h > bottom()) {
        doc.addPage();
        pageOf[doc.bufferedPageRange().count - 1] = ov;
        doc.font('Helvetica-Bold').fontSize(10).text(pdfSafe(`Prestatieoverzicht ${ov.name} (vervolg)`));
        doc.moveDown(0.4);
        header();
      }
      const y = doc.y;
      let x = MARGIN;
      for (const col of COLUMNS) {
        doc.text(c[col.key], x + 2, y, { width: col.width - 4, align: col.align });
        x += col.width;
      }
      doc.moveTo(MARGIN, y + h - 1).lineTo(doc.page.width - MARGIN, y + h - 1).lineWidth(0.2).strokeColor('#999999').stroke().strokeColor('#000000');
      doc.y = y + h;
    }
    doc.moveDown(0.6).fontSize(8).font('Helvetica');
    if (doc.y + 24 > bottom()) {
      doc.addPage();
      pageOf[doc.bufferedPageRange().count - 1] = ov;
    }
    doc.text('Let op: C = waarde gecorrigeerd (met onderbouwing), ! = waarschuwing uit het verwerkingsverslag. n.b. = niet berekenbaar. Verschil = waarde min vorig jaar.', MARGIN, doc.y, { width: doc.page.width - 2 * MARGIN });
  });

  const range = doc.bufferedPageRange();
  const generated = dutchDateTime(now.toISOString(), overviews[0]?.round.timeZone ?? 'Europe/Amsterdam');
  let last: LocationOverview | undefined;
  for (let p = range.start; p < range.start + range.count; p++) {
    doc.switchToPage(p);
    const ov = pageOf[p] ?? last;
    last = ov;
    // Writing inside the bottom margin would start a new page; the footer is placed there on purpose.
    const saved = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = doc.page.height - MARGIN - 10;
    doc.font('Helvetica').fontSize(7.5).fillColor('#444444');
    doc.text(`Snapshot ${ov?.snapshot ?? 'onbekend'} · gemaakt ${generated}`, MARGIN, y, { width: doc.page.width - 2 * MARGIN - 80, lineBreak: false });
    doc.text(`Pagina ${p - range.start + 1} van ${range.count}`, doc.page.width - MARGIN - 80, y, { width: 80, align: 'right', lineBreak: false });
    doc.fillColor('#000000');
    doc.page.margins.bottom = saved;
  }
  doc.end();
  return done;
}
