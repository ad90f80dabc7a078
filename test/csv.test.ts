import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readCsv, readCsvBatches, type CsvOptions } from '../src/sources/csv.js';
import { tempDir } from './helpers.js';

async function rows(content: string | Buffer, opts: CsvOptions = { delimiter: ',' }) {
  const file = join(tempDir(), 'f.csv');
  writeFileSync(file, content);
  const out = [];
  for await (const r of readCsv(file, 'f.csv', opts)) out.push(r);
  return out;
}

/** A deterministic pseudo-random generator, so a failure can be reproduced. */
function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('readCsvBatches: RFC 4180 streaming tokenizer', () => {
  it('agrees with csv-parse on a 2 MB file of quoted fields, doubled quotes, embedded delimiters and CRLF/LF line breaks across read chunks', async () => {
    const rnd = lcg(42);
    const pieces = ['a', 'ß', 'é', '😀', ' ', ',', '"', '\n', '\r\n', 'x'.repeat(40)];
    const field = () => {
      let v = '';
      const n = Math.floor(rnd() * 6);
      for (let i = 0; i < n; i++) v += pieces[Math.floor(rnd() * pieces.length)];
      return v;
    };
    const quote = (v: string) => (/[",\r\n]/.test(v) || rnd() < 0.2 ? `"${v.replace(/"/g, '""')}"` : v);
    const lines = ['id,one,two,three'];
    for (let i = 1, size = 0; size < 2_000_000; i++) {
      const line = [String(i), field(), field(), field()].map(quote).join(',');
      lines.push(line);
      size += line.length;
    }
    const text = lines.map((l, i) => l + (i % 3 === 0 ? '\r\n' : '\n')).join('');
    let expected: Array<Record<string, string>>;
    try {
      expected = parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true, record_delimiter: ['\r\n', '\n'] }) as Array<Record<string, string>>;
    } catch (e) {
      const m = /line (\d+)/.exec(String(e));
      throw new Error(`${String(e)}\n${text.split('\n').slice(Number(m?.[1] ?? 1) - 3, Number(m?.[1] ?? 1) + 1).join('⏎')}`);
    }
    const got = await rows(text);
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) {
      if (JSON.stringify(got[i]!.values) !== JSON.stringify(expected[i])) expect(got[i]!.values, `row ${i + 1}`).toEqual(expected[i]);
    }
  });

  it('numbers rows and the line each starts on, through multi-line quoted fields and blank lines', async () => {
    const got = await rows('a,b\n1,"x\ny"\n\n2,z\r\n3,"q"\n');
    expect(got.map((r) => [r.row, r.line, r.values])).toEqual([
      [1, 2, { a: '1', b: 'x\ny' }],
      [2, 5, { a: '2', b: 'z' }],
      [3, 6, { a: '3', b: 'q' }],
    ]);
  });

  it('keeps spaces unless asked to trim; skips a UTF-8 byte-order mark', async () => {
    const text = '\uFEFFid , name\n1," Ann "\n';
    expect((await rows(text))[0]!.values).toEqual({ 'id ': '1', ' name': ' Ann ' });
    expect((await rows(text, { delimiter: ',', trim: true }))[0]!.values).toEqual({ id: '1', name: 'Ann' });
  });

  it('reads windows-1252 and other delimiters', async () => {
    const got = await rows(Buffer.from('id;naam\n1;Caf\xe9 \x80\n', 'latin1'), { delimiter: ';', encoding: 'windows-1252' });
    expect(got[0]!.values).toEqual({ id: '1', naam: 'Café €' });
  });

  it('marks rows whose field count differs from the header instead of dropping them', async () => {
    const got = await rows('a,b,c\n1,2\n1,2,3,4\n');
    expect(got.map((r) => r.shapeError)).toEqual([
      'has 2 fields where the header has 3; check for an unquoted "," or a missing field',
      'has 4 fields where the header has 3; check for an unquoted "," or a missing field',
    ]);
  });

  it('an unclosed quote names the line it opened on; an unknown encoding names the ones to use', async () => {
    await expect(rows('a,b\n1,2\n3,"open\n4,5\n')).rejects.toThrow('f.csv, line 3: a quoted field opened here is never closed');
    await expect(rows('a\n1\n', { delimiter: ',', encoding: 'klingon' })).rejects.toThrow('unknown encoding "klingon"; use utf-8, windows-1252, latin1 or utf-16le');
  });

  it('yields batches and returns the header', async () => {
    const file = join(tempDir(), 'f.csv');
    writeFileSync(file, `h\n${Array.from({ length: 1500 }, (_, i) => i).join('\n')}\n`);
    const it = readCsvBatches(file, 'f.csv', { delimiter: ',' });
    const sizes = [];
    let next;
    while (!(next = await it.next()).done) sizes.push(next.value.length);
    expect(sizes.reduce((a, b) => a + b)).toBe(1500);
    expect(next.value).toEqual(['h']);
  });
});
