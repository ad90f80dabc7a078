import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStagingSchema } from '../src/sources/staging.js';
import { ROOT } from './helpers.js';

// The staging schema is the vendor's contract: the README must document every table and column the
// import checks, and every reference table it names must ship.
const readme = readFileSync(join(ROOT, 'config/mappings/README.md'), 'utf8');
const schema = loadStagingSchema(join(ROOT, 'config/staging.yaml'));

function section(name: string): string {
  const start = readme.indexOf(`\n## ${name}\n`);
  if (start < 0) return '';
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('config/mappings/README.md documents the staging tables', () => {
  it.each(schema.tables.map((t) => [t.name, t] as const))('%s: file, key, every column with its type and code list', (name, table) => {
    const s = section(name);
    expect(s, `no "## ${name}" section`).not.toBe('');
    expect(s).toContain(`\`${table.file}\``);
    if (table.key) expect(s).toContain(`Key: \`${table.key}\``);
    for (const [column, spec] of Object.entries(table.columns)) {
      const row = s.split('\n').find((l) => l.startsWith(`| \`${column}\` |`));
      expect(row, `${name}.${column} is not documented`).toBeDefined();
      expect(row).toContain(`| ${spec.type} |`);
      for (const v of spec.values ?? []) expect(row).toContain(`\`${v}\``);
      if (spec.references) expect(row).toContain(spec.references);
    }
    expect(s).toMatch(/Maps to: \S/);
  });

  it('every reference table it names ships next to the mapping', () => {
    const named = [...readme.matchAll(/`([a-z-]+\.csv)`/g)].map((m) => m[1]!).filter((f) => !schema.tables.some((t) => t.file === f));
    expect(named.length).toBeGreaterThan(10);
    for (const f of named) expect(existsSync(join(ROOT, 'config/mappings/reference', f)), f).toBe(true);
  });
});
