import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';

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

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function snapshotDir(dataDir: string): string {
  return join(dataDir, 'snapshots');
}

/**
 * Stores a snapshot from unsorted statement lines without ever holding the dataset as one string: the
 * lines go to a temporary file, the system's `sort -u` under LC_ALL=C (byte order, which for UTF-8 is
 * code-point order; an external merge sort, so size is bounded by disk, not memory) makes them
 * canonical, and the result is hashed while streaming and renamed to its hash.
 */
export async function storeSnapshotFromLines(dataDir: string, lines: readonly string[], meta: Omit<SnapshotMeta, 'hash' | 'quads'>): Promise<SnapshotMeta> {
  const dir = snapshotDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const unsorted = join(dir, `.unsorted-${process.pid}.nq`);
  const sorted = join(dir, `.sorted-${process.pid}.nq`);
  try {
    const out = createWriteStream(unsorted);
    for (let i = 0; i < lines.length; i += 10_000) {
      const chunk = lines.slice(i, i + 10_000);
      for (const l of chunk) {
        if (/(^|\s)_:/.test(l)) throw new Error(`blank node in mapped data (${l.slice(0, 120)}); give every resource an IRI template in the mapping`);
      }
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    await sortUnique(unsorted, sorted, dir);
    const hash = createHash('sha256');
    let quads = 0;
    for await (const buf of createReadStream(sorted) as AsyncIterable<Buffer>) {
      hash.update(buf);
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) quads++;
    }
    const full: SnapshotMeta = { hash: hash.digest('hex'), quads, ...meta };
    const nqFile = join(dir, `${full.hash}.nq`);
    if (!existsSync(nqFile)) renameSync(sorted, nqFile);
    const metaFile = join(dir, `${full.hash}.json`);
    if (!existsSync(metaFile)) writeAtomically(metaFile, `${JSON.stringify(full, null, 2)}\n`);
    return JSON.parse(readFileSync(metaFile, 'utf8')) as SnapshotMeta;
  } finally {
    rmSync(unsorted, { force: true });
    rmSync(sorted, { force: true });
  }
}

function sortUnique(input: string, output: string, tmpDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sort', ['-u', '-S', '25%', '-T', tmpDir, '-o', output, input], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`cannot run sort to make the snapshot canonical (${e.message}); install coreutils`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sort failed making the snapshot canonical (exit ${code}): ${err.trim()}`))));
  });
}

/**
 * The canonical N-Quads file of a snapshot. Engines load it from here (QueryEngine.loadFile): a large
 * provider's snapshot does not fit in one JS string, so readSnapshot is for small ones only.
 */
export function snapshotFile(dataDir: string, hash: string): string {
  return join(snapshotDir(dataDir), `${hash}.nq`);
}

/** Reads a snapshot back and checks that its content still matches its name. */
export function readSnapshot(dataDir: string, hash: string): Snapshot {
  const nquads = readFileSync(snapshotFile(dataDir, hash), 'utf8');
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
