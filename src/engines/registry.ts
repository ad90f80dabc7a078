import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { enginesWithDefaults, type AgentConfig } from '../config/schema.js';
import { ComunicaQueryEngine } from './comunica.js';
import { INSTALL_HINT, resolveJenaClasspath } from './jena/classpath.js';
import { JenaTdb2Engine, type JenaTdb2Options } from './jena/tdb2.js';
import { OxigraphQueryEngine } from './oxigraph.js';
import { RemoteQueryEngine, type RemoteEngineConfig } from './remote.js';
import type { QueryEngine } from './types.js';

export const ENGINE_NAMES = ['oxigraph', 'comunica', 'jena', 'remote'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Embedded (WASM, in process): `npm ci && npm start` needs nothing else installed. */
export const DEFAULT_ENGINE: EngineName = 'oxigraph';

export interface EngineOptions {
  /** The agent's data directory: Jena keeps its TDB2 stores under <dataDir>/engines/tdb2. */
  dataDir?: string;
  /** The configured remote SPARQL endpoint (config `engines.remote`); without it 'remote' is unavailable. */
  remote?: RemoteEngineConfig;
  jena?: JenaTdb2Options;
}

export interface EngineAvailability {
  name: EngineName;
  available: boolean;
  /** Why it is not available, naming the fix. */
  reason?: string;
}

/** Engine options from the agent configuration (`storage.dataDir`, `engines`), and the configured default engine. */
export function engineOptionsFromConfig(cfg: Pick<AgentConfig, 'storage' | 'engines'>): EngineOptions & { defaultEngine: EngineName } {
  const engines = enginesWithDefaults(cfg.engines);
  return { dataDir: cfg.storage.dataDir, ...(engines.remote ? { remote: engines.remote } : {}), defaultEngine: engines.default };
}

export function isEngineName(name: string): name is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(name);
}

/** A fresh engine by name; nothing is loaded or started until its first load. */
export function createEngine(name: string, opts: EngineOptions = {}): QueryEngine {
  if (!isEngineName(name)) throw new Error(`unknown engine "${name}"; choose one of ${ENGINE_NAMES.join(', ')}`);
  switch (name) {
    case 'oxigraph':
      return new OxigraphQueryEngine();
    case 'comunica':
      return new ComunicaQueryEngine();
    case 'jena':
      return new JenaTdb2Engine({ ...(opts.dataDir ? { storeRoot: join(opts.dataDir, 'engines', 'tdb2') } : {}), ...opts.jena });
    case 'remote':
      if (!opts.remote?.endpoint) throw new Error('the remote engine needs an endpoint: set engines.remote.endpoint in the configuration (e.g. http://localhost:3030/kikv/sparql)');
      return new RemoteQueryEngine(opts.remote);
  }
}

/** Engines by name, each created on first use with the same snapshot file loaded; `close` stops them all. */
export interface EnginePool {
  get(name: string): Promise<QueryEngine>;
  close(): Promise<void>;
}

export function enginePool(file: string, opts: EngineOptions = {}): EnginePool {
  const engines = new Map<string, Promise<QueryEngine>>();
  return {
    get(name) {
      let e = engines.get(name);
      if (!e) {
        const engine = createEngine(name, opts);
        e = engine.loadFile(file).then(() => engine);
        engines.set(name, e);
      }
      return e;
    },
    async close() {
      // Jena keeps a query JVM holding the store's lock; the next run (or another process) needs it free.
      for (const e of engines.values()) await (await e.catch(() => undefined))?.close?.();
      engines.clear();
    },
  };
}

/** Which engines can run here, and for those that cannot, what to install or configure. */
export async function availableEngines(opts: EngineOptions = {}): Promise<EngineAvailability[]> {
  return [
    { name: 'oxigraph', available: true },
    { name: 'comunica', available: true },
    jenaAvailability(opts.jena?.java),
    opts.remote?.endpoint ? { name: 'remote', available: true } : { name: 'remote', available: false, reason: 'no remote SPARQL endpoint configured; set engines.remote.endpoint' },
  ];
}

function jenaAvailability(javaCommand?: string): EngineAvailability {
  try {
    const cp = resolveJenaClasspath();
    if (cp.missing.some((m) => m.startsWith('org.apache.jena:'))) return { name: 'jena', available: false, reason: `Jena jars missing for ${cp.missing.join(', ')}; ${INSTALL_HINT}` };
  } catch (e) {
    return { name: 'jena', available: false, reason: (e as Error).message };
  }
  const java = javaCommand ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
  const r = spawnSync(java, ['-version'], { stdio: 'ignore', timeout: 30_000 });
  if (r.error || r.status !== 0) return { name: 'jena', available: false, reason: `no Java runtime ("${java}" ${r.error ? 'was not found' : `exited with ${r.status}`}); ${INSTALL_HINT} default-jre-headless, or set JAVA_HOME` };
  return { name: 'jena', available: true };
}
