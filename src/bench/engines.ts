/** The engines the bench runs on, from the engine registry. */
import { availableEngines, createEngine, DEFAULT_ENGINE } from '../engines/registry.js';
import type { QueryEngine } from '../engines/types.js';

/** The embedded default engine: the profile target at 1,000 staff applies to it. */
export const EMBEDDED_DEFAULT: string = DEFAULT_ENGINE;

export interface EngineChoice {
  name: string;
  /** Why it cannot run here (e.g. Jena not installed); absent when it can. */
  unavailable?: string;
}

/** Every engine of the registry, with whether it can run on this machine (a remote endpoint is not configured for the bench). */
export async function benchEngines(): Promise<EngineChoice[]> {
  return (await availableEngines()).map((e) => (e.available ? { name: e.name } : { name: e.name, unavailable: e.reason ?? 'not available' }));
}

/**
 * A fresh engine by name. Jena builds its TDB2 store under `scratch` (the caller removes it, also
 * when the run was killed), so its load time is a real build, never a store reused from an earlier
 * run; `queryTimeoutMs` bounds one of its queries.
 */
export function createBenchEngine(name: string, opts: { scratch: string; queryTimeoutMs?: number }): QueryEngine {
  if (name !== 'jena') return createEngine(name);
  return createEngine('jena', { jena: { storeRoot: opts.scratch, javaOptions: ['-Xmx6g'], ...(opts.queryTimeoutMs ? { timeoutMs: opts.queryTimeoutMs } : {}) } });
}
