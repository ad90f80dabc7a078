/**
 * Shared set-up for the end-to-end and kill tests of the exchange: the sample provider imported into
 * a real data dir, a configuration naming the consumer (the KIK-starter) and the beheerorganisatie as
 * trust peers, and the consumer's side: its own token endpoint (a StandaloneTrust behind
 * src/server/token.ts, as a KIK-V consumer's authorisation server) and its DIDComm endpoint (the
 * KIK-starter simulator demanding one of those tokens and verifying our JWS against our JWKS).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, type JSONWebKeySet } from 'jose';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { openDb } from '../src/db/open.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { jwksOfKeyring, loadKeyring } from '../src/exchange/keys.js';
import { linkedAnswers } from '../src/exchange/requests.js';
import { JWT_BEARER } from '../src/exchange/trust/oauth.js';
import { StandaloneTrust } from '../src/exchange/trust/index.js';
import { peerOf } from '../src/exchange/trust/peers.js';
import { KIKV_SERVICE } from '../src/exchange/types.js';
import { queryKey } from '../src/engines/routing.js';
import { loadPack } from '../src/indicators/pack.js';
import { loadMatrix } from '../src/indicators/run-profile.js';
import { importSource } from '../src/pipeline/import.js';
import { writeSample } from '../src/sample/generate.js';
import { tokenRoutes } from '../src/server/token.js';
import { startKikStarterSim, type KikStarterSim } from '../src/sim/kik-starter.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';
import { CONSUMER, ISSUER, Parties } from './inbox-fixtures.js';

export const AGENT = 'did:web:datastation.test';
export { CONSUMER, ISSUER };

/** A port nothing listens on yet (the consumer that is down until the test starts it there). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A small imported sample and a configuration file for it; `trust` and `delivery` are the test's. */
export async function importedAgent(opts: { trust: (dir: string) => Record<string, unknown>; extra?: Record<string, unknown>; maxAttempts?: number }): Promise<{ file: string; dir: string; dataDir: string }> {
  const source = join(tempDir('kikv-e2e-src-'), 'source');
  await writeSample({ employees: 12, clients: 6, locations: 1, seed: 11 }, source);
  const c = writeConfig({ source, maxAttempts: opts.maxAttempts ?? 8 });
  rewriteConfig(c.file, { trust: opts.trust(c.dir), import: { schedule: 'off', timezone: 'Europe/Amsterdam' }, ...opts.extra });
  const cfg = loadConfig(c.file);
  const db = openDb(cfg.storage.dataDir);
  await importSource(cfg, db, 'test');
  db.close();
  return c;
}

/** Replaces top-level sections of a configuration file (the rest stays as written). */
export function rewriteConfig(file: string, sections: Record<string, unknown>): void {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...doc, ...sections }));
}

/** The consumer's keys as a JWKS file, and the standalone trust section naming it and the issuer. */
export function standaloneTrustSection(parties: Parties, dir: string, consumer: { endpoint: string; tokenEndpoint: string }): Record<string, unknown> {
  const file = (did: string, name: string) => {
    const f = join(dir, `${name}.jwks.json`);
    writeFileSync(f, JSON.stringify({ keys: [parties.get(did).publicJwk] }));
    return f;
  };
  return {
    mode: 'standalone',
    keysDir: join(dir, 'data', 'keys'),
    trustedIssuers: [ISSUER],
    peers: [
      { did: CONSUMER, name: 'KIK-starter (simulated)', roles: ['consumer'], jwks: file(CONSUMER, 'consumer'), endpoint: consumer.endpoint, tokenEndpoint: consumer.tokenEndpoint },
      { did: ISSUER, name: 'beheerorganisatie (simulated)', roles: ['issuer'], jwks: file(ISSUER, 'issuer') },
    ],
  };
}

export interface ConsumerSide {
  tokenApp: FastifyInstance;
  tokenEndpoint: string;
  /** Tokens the consumer's authorisation server issued to us. */
  issued: string[];
  /** Starts the DIDComm endpoint (the KIK-starter simulator) on `port`; until then the consumer is down. */
  start(port?: number): Promise<KikStarterSim>;
  sim?: KikStarterSim;
  close(): Promise<void>;
}

/**
 * The consumer's side in standalone mode. Its authorisation server knows the agent as a peer by the
 * agent's JWKS file (our RFC 7523 assertions are checked against it); its DIDComm endpoint accepts
 * only tokens it issued to the sender, and verifies our JWS against `agentJwks` (our JWKS URL, or the
 * key set itself when the agent may be down while the consumer checks).
 */
export async function startConsumerSide(o: { agentKeysDir: string; agentJwks: () => string | JSONWebKeySet; beforeHandle?: (msg: unknown) => Promise<void> }): Promise<ConsumerSide> {
  const dir = tempDir('kikv-consumer-');
  const agentJwksFile = join(dir, 'agent.jwks.json');
  writeFileSync(agentJwksFile, JSON.stringify(jwksOfKeyring(await loadKeyring(o.agentKeysDir))));
  let trust: StandaloneTrust | undefined;
  const issued: string[] = [];
  const tokenApp = Fastify({ logger: false });
  await tokenApp.register(
    tokenRoutes({
      tokenForAssertion: async (assertion, scope) => {
        const res = await trust!.tokenForAssertion(assertion, scope);
        issued.push(res.access_token);
        return res;
      },
      introspect: (token) => trust!.introspect(token),
    }),
  );
  await tokenApp.listen({ host: '127.0.0.1', port: 0 });
  const tokenEndpoint = `http://127.0.0.1:${(tokenApp.server.address() as { port: number }).port}/oauth2/token`;
  trust = new StandaloneTrust({
    did: CONSUMER,
    keysDir: join(dir, 'keys'),
    tokenEndpoint,
    peers: [peerOf({ did: AGENT, name: 'datastation', roles: ['consumer'], jwks: agentJwksFile }, 0)],
    trustedIssuers: [],
    isRevoked: async () => false,
    verifyPresentation,
  });
  const side: ConsumerSide = {
    tokenApp,
    tokenEndpoint,
    issued,
    start: async (port) => {
      side.sim = await startKikStarterSim({
        did: CONSUMER,
        agentDid: AGENT,
        agentJwks: o.agentJwks(),
        ...(port ? { port } : {}),
        ...(o.beforeHandle ? { beforeHandle: o.beforeHandle } : {}),
        requireToken: async (token, from) => {
          await trust!.verifyAccessToken(token ?? '', { from: String(from), service: KIKV_SERVICE });
        },
      });
      return side.sim;
    },
    close: async () => {
      await side.sim?.close();
      await tokenApp.close();
    },
  };
  return side;
}

/** An access token from the agent's own POST /oauth2/token, for an RFC 7523 assertion the consumer signs. */
export async function agentToken(parties: Parties, agentUrl: string): Promise<string> {
  const p = parties.get(CONSUMER);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: p.kid, typ: 'JWT' })
    .setIssuer(p.did)
    .setSubject(p.did)
    .setAudience(AGENT)
    .setIssuedAt()
    .setExpirationTime('1m')
    .setJti(randomUUID())
    .sign(p.privateKey);
  const res = await fetch(`${agentUrl}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: JWT_BEARER, assertion, scope: KIKV_SERVICE }).toString() });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`the agent's token endpoint answered ${res.status}: ${body.error_description ?? JSON.stringify(body)}`);
  return body.access_token;
}

/** The answer ids linked to a request, read from the agent's database. */
export function linkedAnswerIds(dataDir: string, requestId: string): string[] {
  const db = openDb(dataDir);
  try {
    return linkedAnswers(db, requestId).map((a) => a.id);
  } finally {
    db.close();
  }
}

/**
 * The personnel items (at least `n`) of the shipped pack whose current query text the conformance matrix proves on
 * an engine that runs in-process here (no JVM needed): a request for them is computed, not refused as unproven (a query being edited in the
 * checkout is unproven until the matrix is rerun, and is skipped here).
 */
const IN_PROCESS_ENGINES = ['oxigraph', 'comunica'];
export function provenItems(n: number): string[] {
  const pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');
  const matrix = loadMatrix();
  const proven = pack.manifest.indicators
    .map((i) => i.id)
    .filter((id) => /^ps-1\.\d+$/.test(id) && pack.queries.has(id))
    .filter((id) => Object.entries(matrix.queries[queryKey(id, pack.queries.get(id)!.sha256)]?.engines ?? {}).some(([engine, e]) => IN_PROCESS_ENGINES.includes(engine) && e.verdict === 'same'));
  if (proven.length < n) throw new Error(`only ${proven.length} ps-1.x items are proven in the conformance matrix; rerun npm run conformance:engines`);
  return proven;
}
