/**
 * Logical sources: resolving a mapping's source description against the run's directories (plain
 * LogicalSourceSpec data), telling identical sources apart, and reading the ones the engine reads itself
 * (CSV via sources/csv.ts, JSON, PostgreSQL via sources/pg.ts) as record batches.
 */

import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import { readCsvBatches, SourceFileError } from '../../sources/csv.js';
import { pgTargetFromDsn, readOf, streamPg } from '../../sources/pg.js';
import { RmlNotSupportedError } from './errors.js';
import { compileJsonPath } from './jsonpath.js';
import type { LogicalSourceDef } from './model.js';
import type { LogicalSourceSpec, RecordStream, SourceRecord } from './types.js';

export interface Directories {
  mappingDirectory: string;
  currentWorkingDirectory: string;
}

export function resolveSource(def: LogicalSourceDef, dirs: Directories): LogicalSourceSpec {
  const s = def.source;
  if (s.kind === 'file') {
    const root = s.root === 'CurrentWorkingDirectory' ? dirs.currentWorkingDirectory : dirs.mappingDirectory;
    const path = isAbsolute(s.path) ? s.path : resolve(root, s.path);
    return {
      label: s.path,
      referenceFormulation: def.referenceFormulation,
      ...(def.iterator !== undefined ? { iterator: def.iterator } : {}),
      nullValues: [...def.nullValues],
      source: {
        kind: 'file',
        path,
        declaredPath: s.path,
        ...(s.root ? { root: s.root } : {}),
        encoding: s.encoding,
        ...(s.delimiter !== undefined ? { delimiter: s.delimiter } : {}),
        ...(s.compression !== undefined ? { compression: s.compression } : {}),
      },
    };
  }
  const what = s.query !== undefined ? 'query' : (s.table ?? def.iterator ?? 'query');
  return {
    label: `pg:${def.referenceFormulation === 'SQL2008Query' || s.query !== undefined ? 'query' : what}`,
    referenceFormulation: def.referenceFormulation,
    ...(def.iterator !== undefined ? { iterator: def.iterator } : {}),
    nullValues: [...def.nullValues],
    source: {
      kind: 'database',
      dsn: s.dsn,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.table !== undefined ? { table: s.table } : {}),
      ...(s.query !== undefined ? { query: s.query } : {}),
    },
  };
}

/** Identity of a logical source: two specs with the same key are read once. */
export function sourceKey(spec: LogicalSourceSpec): string {
  const { label: _label, ...rest } = spec;
  const src = spec.source.kind === 'file' ? { ...spec.source, declaredPath: undefined, root: undefined } : spec.source;
  return JSON.stringify({ ...rest, nullValues: [...rest.nullValues].sort(), source: src });
}

/** Distinct specs in first-seen order, with labels made unique (same file, different rml:null or iterator). */
export function distinctSources(specs: LogicalSourceSpec[]): { specs: LogicalSourceSpec[]; keyOf: (spec: LogicalSourceSpec) => string } {
  const byKey = new Map<string, LogicalSourceSpec>();
  const labels = new Set<string>();
  for (const spec of specs) {
    const k = sourceKey(spec);
    if (byKey.has(k)) continue;
    let label = spec.label;
    if (labels.has(label)) {
      const extra: string[] = [];
      if (spec.iterator !== undefined) extra.push(`iterator ${spec.iterator}`);
      if (spec.nullValues.length) extra.push(`null ${spec.nullValues.map((n) => JSON.stringify(n)).join(', ')}`);
      label = `${label} (${extra.join('; ') || spec.referenceFormulation})`;
      for (let i = 2; labels.has(label); i++) label = `${spec.label} #${i}`;
    }
    labels.add(label);
    byKey.set(k, { ...spec, label });
  }
  return { specs: [...byKey.values()], keyOf: sourceKey };
}

/** Records of a source the engine reads itself. */
export function readSource(spec: LogicalSourceSpec): RecordStream {
  const src = spec.source;
  if (src.kind === 'database') {
    const target = pgTargetFromDsn(src.dsn, src.username, src.password);
    return streamPg(target, readOf(spec));
  }
  if (src.compression) {
    throw new RmlNotSupportedError(`logical source ${spec.label}: compressed input (rml:compression ${src.compression}) is not supported; decompress the file first`);
  }
  switch (spec.referenceFormulation) {
    case 'CSV':
      return csvRecords(spec, src.path, src.encoding, src.delimiter ?? ',');
    case 'JSONPath':
      return jsonRecords(spec, src.path, src.encoding);
    default:
      throw new RmlNotSupportedError(
        `logical source ${spec.label}: reference formulation ${spec.referenceFormulation} is not supported; this engine reads rml:CSV, rml:JSONPath, rml:SQL2008Table and rml:SQL2008Query`,
      );
  }
}

function csvRecords(spec: LogicalSourceSpec, path: string, encoding: string, delimiter: string): RecordStream {
  return {
    async *[Symbol.asyncIterator]() {
      // SourceRow has `row` and `values`: it is a SourceRecord as it is. Rows with a shapeError are
      // reported by the runner (a data error of that record).
      yield* readCsvBatches(path, spec.label, { delimiter, encoding });
    },
  };
}

const JSON_BATCH = 1000;

function jsonRecords(spec: LogicalSourceSpec, path: string, encoding: string): RecordStream {
  const iterator = compileJsonPath(spec.iterator ?? '$', `logical source ${spec.label}, rml:iterator`);
  return {
    async *[Symbol.asyncIterator]() {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') throw new SourceFileError(spec.label, undefined, `file not found at ${path}; check rml:path and rml:root`);
        throw new SourceFileError(spec.label, undefined, `cannot be read: ${err.message}`);
      }
      let text: string;
      try {
        // "UTF-16" without byte order: the byte-order mark decides (little-endian without one).
        const label = encoding === 'utf-16le' && bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : encoding;
        text = new TextDecoder(label, { fatal: true }).decode(bytes);
      } catch (e) {
        throw new SourceFileError(spec.label, undefined, `is not valid ${encoding} (${(e as Error).message}); save it as UTF-8 or set rml:encoding`);
      }
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new SourceFileError(spec.label, undefined, `is not valid JSON (${basename(path)}): ${(e as Error).message}`);
      }
      const nodes = iterator(doc);
      for (let i = 0; i < nodes.length; i += JSON_BATCH) {
        const batch: SourceRecord[] = [];
        for (let j = i; j < Math.min(i + JSON_BATCH, nodes.length); j++) batch.push({ row: j + 1, values: nodes[j] });
        yield batch;
      }
    },
  };
}
