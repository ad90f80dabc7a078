/** Number and table formatting shared by the bench sections. */

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const mb = (bytes: number) => `${int(bytes / 1_048_576)} MB`;
export const sec = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
export const msOrSec = (ms: number) => (ms < 1000 ? `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms` : sec(ms));

/** Cells padded to their width; a negative width right-aligns. */
export function row(cells: Array<[string, number]>): string {
  return cells
    .map(([s, w]) => (w < 0 ? s.padStart(-w) : s.padEnd(w)))
    .join('  ')
    .trimEnd();
}

export function oneLine(s: string, max = 300): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, max);
}

export const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');
