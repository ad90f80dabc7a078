import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Metadata stored beside a snapshot's N-Quads. */
export interface SnapshotMeta {
  hash: string;
  createdAt: string;
  quads: number;
  ontology: { name: string; version: string };
  mappingRules: { file: string; sha256: string };
  source: string;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** Canonical N-Quads: unique lines in code-point order, each ending in a newline. */
  nquads: string;
}

/**
 * Canonical N-Quads of a blank-node-free dataset: the unique statements sorted by code point.
 * (For data without blank nodes this is exactly what RDF Dataset Canonicalization produces.)
 */
export function canonicalNQuads(lines: Iterable<string>): string {
  const unique = [...new Set(lines)];
  for (const l of unique) {
    if (/(^|\s)_:/.test(l)) throw new Error(`blank node in mapped data (${l.slice(0, 120)}); give every resource an IRI template in the mapping rules`);
  }
  // UTF-8 byte order equals code-point order; JS string order differs for astral characters.
  const keyed = unique.map((l) => ({ l, b: Buffer.from(l, 'utf8') }));
  keyed.sort((x, y) => Buffer.compare(x.b, y.b));
  return keyed.map((k) => `${k.l}\n`).join('');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function snapshotDir(dataDir: string): string {
  return join(dataDir, 'snapshots');
}

/** Stores a snapshot under its content hash; storing the same content twice is a no-op. */
export function storeSnapshot(dataDir: string, nquads: string, meta: Omit<SnapshotMeta, 'hash' | 'quads'>): Snapshot {
  const hash = sha256(nquads);
  const dir = snapshotDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const full: SnapshotMeta = { hash, quads: nquads === '' ? 0 : nquads.split('\n').length - 1, ...meta };
  const nqFile = join(dir, `${hash}.nq`);
  if (!existsSync(nqFile)) writeAtomically(nqFile, nquads);
  const metaFile = join(dir, `${hash}.json`);
  if (!existsSync(metaFile)) writeAtomically(metaFile, `${JSON.stringify(full, null, 2)}\n`);
  return { meta: existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as SnapshotMeta) : full, nquads };
}

/** Reads a snapshot back and checks that its content still matches its name. */
export function readSnapshot(dataDir: string, hash: string): Snapshot {
  const nquads = readFileSync(join(snapshotDir(dataDir), `${hash}.nq`), 'utf8');
  if (sha256(nquads) !== hash) throw new Error(`snapshot ${hash} is corrupt: its content no longer matches its hash; re-import the source`);
  const meta = JSON.parse(readFileSync(join(snapshotDir(dataDir), `${hash}.json`), 'utf8')) as SnapshotMeta;
  return { meta, nquads };
}

/** Write to a temporary file and rename, so a crash never leaves a half-written file under the final name. */
export function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
