import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { approveAnswer } from '../src/answers/answers.js';
import { createServer } from 'node:net';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig, PeerConfig } from '../src/config/schema.js';
import { simDirOf, simParties, simPeers, simRequest } from '../src/cli/commands/sim.js';
import { responseFor } from '../src/exchange/requests.js';
import { openDb, type Db } from '../src/db/open.js';
import { verifyPresentation } from '../src/exchange/credentials/index.js';
import { deliverDue, queueProblemReport, queueResponse } from '../src/exchange/outbox.js';
import { revocationListOf } from '../src/exchange/trust/revocation.js';
import { StandaloneTrust } from '../src/exchange/trust/index.js';
import { peerOf, type Peer } from '../src/exchange/trust/peers.js';
import type { DidcommMessage } from '../src/exchange/messages.js';
import { answerPullRoutes } from '../src/server/answers-pull.js';
import { didcommRoutes, type DidcommRoutes } from '../src/server/didcomm.js';
import { jwksRoutes } from '../src/server/jwks.js';
import { tokenRoutes } from '../src/server/token.js';
import { Beheerorganisatie, newSimParty, packItemQuery, stableUuid, writeJwksFile, type SimParty } from '../src/sim/beheerorganisatie.js';
import { startKikStarterSim, tamperedResponse } from '../src/sim/kik-starter.js';
import { MISBEHAVIOURS, Requester, RequesterError, type Misbehaviour } from '../src/sim/requester.js';
import { importedSample, matrixProving } from './inbox-fixtures.js';
import { runCli, spawnCli, tempDir, writeConfig } from './helpers.js';

const CONSUMER = 'did:web:kik-starter.test';

/** A port nobody listens on now, for a server whose URL must be configured before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
const ISSUER = 'did:web:beheer.test';
const PROFILE = 'zorginstituut-verpleeghuiszorg';
const VERSION = '2023.1.0';

interface Agent {
  url: string;
  db: Db;
  didcomm: DidcommRoutes;
  app: FastifyInstance;
  trust: StandaloneTrust;
}

/**
 * A datastation built from the plugins (until src/server/app.ts wires them): token endpoint, inbox,
 * pull, JWKS, plus a second token endpoint under /other for a datastation with another DID and the
 * same keys (its tokens are for another audience).
 */
async function startAgent(cfg: AgentConfig, packs: string, peers: Peer[], revoked: string): Promise<Agent> {
  const db = openDb(cfg.storage.dataDir);
  const common = { keysDir: cfg.trust.keysDir, peers, trustedIssuers: [], isRevoked: revocationListOf(revoked), verifyPresentation };
  // The token endpoint URLs are known once the port is; the trusts read them from these objects per assertion.
  const own = { ...common, did: cfg.agent.did, tokenEndpoint: '' };
  const foreign = { ...common, did: 'did:web:other-datastation.test', tokenEndpoint: '' };
  const trust = new StandaloneTrust(own);
  const other = new StandaloneTrust(foreign);
  const app = Fastify({ logger: false });
  const didcomm = didcommRoutes({ db, trust, cfg, inbox: { maxBodyBytes: 256 * 1024, hardBodyLimit: 512 * 1024, maxCredentials: 5, maxSparqlChars: 50_000 }, matrix: matrixProving(packs) });
  await app.register(tokenRoutes(trust));
  await app.register(tokenRoutes(other), { prefix: '/other' });
  await app.register(didcomm);
  await app.register(answerPullRoutes({ db, trust }));
  await app.register(jwksRoutes({ jwks: () => trust.jwks() }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  own.tokenEndpoint = `${url}/oauth2/token`;
  foreign.tokenEndpoint = `${url}/other/oauth2/token`;
  return { url, db, didcomm, app, trust };
}

describe('the simulator: beheerorganisatie, KIK-starter requester and receiver, kikv sim', () => {
  let agent: Agent;
  let base: Awaited<ReturnType<typeof importedSample>>;
  let consumer: SimParty;
  let issuer: Beheerorganisatie;
  let requester: Requester;
  let revoked: string;
  let cliConfig: string;
  const counts = () => (agent.db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
  const query = (item: string) => packItemQuery(base.packs, PROFILE, VERSION, item, 2023);
  let peersAt: string;
  const peersDir = (name: string) => join(peersAt, `${name}.jwks.json`);
  const settings = { from: 'did:web:datastation.test', kikStarter: { did: CONSUMER, endpoint: 'http://127.0.0.1:9/unused' }, retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }, timeoutMs: 5000 };
  /** The agent's trust as its delivery uses it, with consumers' endpoints and token endpoints in trust.peers. */
  const deliveryTrust = (peers: PeerConfig[]) =>
    new StandaloneTrust({ did: base.cfg.agent.did, keysDir: base.cfg.trust.keysDir, tokenEndpoint: `${agent.url}/oauth2/token`, peers: peers.map((p, i) => peerOf(p, i)), trustedIssuers: [], isRevoked: async () => false, verifyPresentation });

  beforeAll(async () => {
    base = await importedSample();
    const dir = tempDir('kikv-sim-peers-');
    peersAt = dir;
    consumer = await newSimParty(CONSUMER);
    revoked = join(dir, 'revoked.txt');
    writeFileSync(revoked, '');
    issuer = new Beheerorganisatie(await newSimParty(ISSUER), revoked);
    writeJwksFile(consumer, join(dir, 'consumer.jwks.json'));
    writeJwksFile(issuer.party, join(dir, 'issuer.jwks.json'));
    // The CLI's own parties: `kikv sim peers` creates them and says what to configure.
    cliConfig = writeConfig({ extra: { indicators: { packs: base.packs, profiles: [{ profile: PROFILE, version: VERSION }], reportingYear: 2023 } } }).file;
    const cliCfg = loadConfig(cliConfig);
    expect(existsSync(simDirOf(cliCfg))).toBe(false);
    const created = await simParties(cliCfg);
    expect(statSync(join(created.dir, 'kik-starter.key.json')).mode & 0o777).toBe(0o600);
    const cliPeers = simPeers(created.dir).map((p) => ({ ...p, roles: p.roles as Array<'consumer' | 'issuer'> }));
    const peers = [
      peerOf({ did: CONSUMER, name: 'KIK-starter', roles: ['consumer'], jwks: join(dir, 'consumer.jwks.json') }, 0),
      peerOf({ did: ISSUER, name: 'beheerorganisatie', roles: ['issuer'], jwks: join(dir, 'issuer.jwks.json') }, 1),
      ...cliPeers.map((p, i) => peerOf(p, i + 2)),
    ];
    agent = await startAgent(base.cfg, base.packs, peers, revoked);
    requester = new Requester({ party: consumer, issuer, agentUrl: agent.url, agentDid: base.cfg.agent.did, foreignTokenEndpoint: `${agent.url}/other/oauth2/token` });
  }, 180_000);
  afterAll(async () => {
    await agent?.app.close();
    await agent?.didcomm.idle();
    agent?.db.close();
  });

  it('obtains an access token with an RFC 7523 assertion; an unregistered party is told to register', async () => {
    const token = await requester.token();
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    expect(decodeJwt(token)).toMatchObject({ sub: CONSUMER, iss: base.cfg.agent.did, service: 'didcomm-service-kikv' });
    const stranger = new Requester({ party: await newSimParty('did:web:stranger.test'), issuer, agentUrl: agent.url, agentDid: base.cfg.agent.did });
    await expect(stranger.token()).rejects.toThrow(/HTTP 401 invalid_client: iss did:web:stranger.test is not a registered consumer/);
    const down = new Requester({ party: consumer, issuer, agentUrl: 'http://127.0.0.1:9', agentDid: base.cfg.agent.did, timeoutMs: 2000 });
    await expect(down.token()).rejects.toBeInstanceOf(RequesterError);
  });

  it('pack items become credentials with a stable UUID, the profile IRI, ONZ with version and the parameter shape', () => {
    const q = query('ps-1.2');
    expect(q.identifier).toBe(stableUuid('https://w3id.org/kikv-agent/profiles/zorginstituut-verpleeghuiszorg#ps-1.2'));
    expect(query('ps-1.2').identifier).toBe(q.identifier);
    expect(q.identifier).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(q.profile).toBe('https://w3id.org/kikv-agent/profiles/zorginstituut-verpleeghuiszorg');
    expect(q.ontology).toEqual(['http://purl.org/ozo/onz-g#3.0.0']);
    expect(q.paramsSHACL).toMatch(/sh:name "start_periode"/);
    expect(q.params.start_periode).toEqual({ value: '2023-01-01', datatype: 'http://www.w3.org/2001/XMLSchema#date' });
    // ps-1.1's manifest names its identifier (the test's copy of the pack): that one is used.
    expect(query('ps-1.1').identifier).toBe('0b1f4c2e-8a53-4d6e-9f7a-3c2d1e0f9a11');
  });

  it('a request with two credentials is accepted (202) in both proof formats, to as string and list, and in the legacy body', async () => {
    for (const format of ['ldp', 'jwt'] as const) {
      const sent = await requester.request({ queries: [query('ps-1.2'), query('ps-1.4')], format, paramValues: query('ps-1.2').params, toForm: format === 'jwt' ? 'list' : 'string' });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      expect(sent.body.requestId).toBe(sent.request.message.id);
      expect(sent.body.queries.map((q: { item: string }) => q.item)).toEqual(['ps-1.2', 'ps-1.4']);
      expect(sent.request.message).toMatchObject({ type: 'https://www.kik-v.nl/validated-query-request/1.0/request', from: CONSUMER, thid: sent.request.message.id });
      expect(sent.request.message.to).toEqual(format === 'jwt' ? [base.cfg.agent.did] : base.cfg.agent.did);
      const vp = (sent.request.message.body as { vp: string }).vp;
      if (format === 'ldp') expect(JSON.parse(Buffer.from(vp, 'base64').toString('utf8')).proof.type).toBe('JsonWebSignature2020');
      else expect(decodeJwt(vp).iss).toBe(CONSUMER);
      const created = sent.request.message.created_time as number;
      expect(Number.isInteger(created) && created < 1e10).toBe(true);
    }
    const legacy = await requester.request({ queries: [query('ps-1.3')], format: 'ldp', body: 'credentialSubject', paramValues: query('ps-1.3').params });
    expect(legacy.status, JSON.stringify(legacy.body)).toBe(202);
  }, 120_000);

  const refusals = (Object.keys(MISBEHAVIOURS) as Misbehaviour[]).filter((k) => k !== 'tampered-response');
  for (const kind of refusals) {
    it(`misbehaviour ${kind}: refused with ${MISBEHAVIOURS[kind].code}, nothing more stored`, async () => {
      const before = counts();
      const sent = await requester.request({ queries: [query('ps-1.5')], format: kind === 'tampered-credential' ? 'jwt' : 'ldp', paramValues: query('ps-1.5').params, misbehave: kind });
      expect(sent.status, JSON.stringify(sent.body)).toBe(MISBEHAVIOURS[kind].status);
      expect(sent.body.type).toBe('https://didcomm.org/report-problem/2.0/problem-report');
      expect(sent.body.body.code).toBe(MISBEHAVIOURS[kind].code);
      expect(sent.body.pthid).toBe(sent.request.message.id);
      // A replay's first sending is a normal request; every other misbehaviour stores nothing.
      expect(counts()).toBe(before + (kind === 'replayed-message' ? 1 : 0));
    }, 60_000);
  }

  it('the tampered credential is refused in the JSON-LD format too; a revoked id is in the agent\'s list', async () => {
    const ld = await requester.request({ queries: [query('ps-1.5')], format: 'ldp', misbehave: 'tampered-credential' });
    expect(ld.body.body.code).toBe('e.p.req.credential-signature');
    const r = await requester.build({ queries: [query('ps-1.6')], format: 'jwt', misbehave: 'revoked-credential' });
    expect(readFileSync(revoked, 'utf8').split('\n')).toContain(r.credentials[0]!.id);
  });

  it('an approved answer: pulled and verified, pushed to the KIK-starter and matched to its request; a tampered JWS is detected either way', async () => {
    const sent = await requester.request({ queries: [query('ps-1.2'), query('ps-1.4')], format: 'jwt', paramValues: query('ps-1.2').params });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const id = sent.request.message.id;
    await agent.didcomm.idle();
    const waiting = await requester.pull(id);
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(202);
    for (const { answer_id } of agent.db.prepare('SELECT answer_id FROM request_answers WHERE request_id = ?').all(id) as Array<{ answer_id: string }>) approveAnswer(agent.db, answer_id, 'bestuurder');
    const pulled = await requester.pull(id);
    expect(pulled.status).toBe(200);
    expect(pulled.check, JSON.stringify(pulled.check)).toMatchObject({ verified: true, problem: null });
    expect(pulled.check!.resultset!.map((r) => r.id).sort()).toEqual([`${id}#${query('ps-1.2').identifier}`, `${id}#${query('ps-1.4').identifier}`].sort());

    const tampered = await requester.pull(id, { tamper: true });
    expect(tampered.check!.verified).toBe(false);
    expect(tampered.check!.problem).toMatch(/signature does not verify against the datastation's JWKS/);

    // The KIK-starter with its own token endpoint; the agent delivers through its trust adapter (token, endpoint from trust.peers).
    const starter = await startKikStarterSim({ did: CONSUMER, agentDid: base.cfg.agent.did, agentJwks: `${agent.url}/.well-known/jwks.json`, acceptProblemReports: true, tokenKey: consumer });
    try {
      const delivery = deliveryTrust([{ did: CONSUMER, name: 'KIK-starter', roles: ['consumer'], jwks: peersDir('consumer'), endpoint: starter.endpoint, tokenEndpoint: starter.tokenEndpoint! }]);
      const response = pulled.body as DidcommMessage;
      const post = (msg: unknown, token?: string) => fetch(starter.endpoint, { method: 'POST', headers: { 'content-type': 'application/didcomm-plain+json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(msg) });
      const noToken = await post(response);
      expect(noToken.status).toBe(401);
      const token = await delivery.accessTokenFor(CONSUMER, 'didcomm-service-kikv');
      expect(decodeJwt(token)).toMatchObject({ iss: CONSUMER, sub: base.cfg.agent.did });
      const bad = await post({ ...tamperedResponse(response), id: 'forwarded-copy' }, token);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { body: { code: string; comment: string } }).body).toMatchObject({ code: 'e.p.msg.invalid-response', comment: expect.stringMatching(/signature does not verify/) });
      // The agent's outbox pushes the real response; the KIK-starter verifies it and matches it to the request.
      queueResponse(agent.db, { message: response, answerIds: [] });
      const outcomes = await deliverDue(agent.db, settings, new Date(), 'agent', { trust: delivery });
      expect(outcomes.map((o) => o.status)).toEqual(['delivered']);
      const got = await starter.waitFor(id, 5000);
      expect(got).toMatchObject({ verified: true, thid: id, messageId: response.id });
      expect(got.resultset!.length).toBe(2);
      await expect(starter.waitFor('no-such-request', 50)).rejects.toThrow(/no verified response or problem report about request no-such-request/);
      // A problem report the agent sends later about another request is matched to that request.
      const other = await requester.request({ queries: [query('ps-1.6')], format: 'ldp', paramValues: query('ps-1.6').params });
      expect(other.status, JSON.stringify(other.body)).toBe(202);
      queueProblemReport(agent.db, { about: { id: other.request.message.id }, from: base.cfg.agent.did, to: CONSUMER, code: 'e.p.req.not-released', comment: 'the provider did not release the answer' });
      expect((await deliverDue(agent.db, settings, new Date(), 'agent', { trust: delivery })).map((o) => o.status)).toEqual(['delivered']);
      const report = await starter.waitFor(other.request.message.id, 5000);
      expect(report.report).toEqual({ pthid: other.request.message.id, code: 'e.p.req.not-released', comment: 'the provider did not release the answer' });
      expect(starter.accepted().map((r) => r.thid ?? r.report?.pthid)).toEqual([id, other.request.message.id]);
    } finally {
      await starter.close();
    }
  }, 120_000);

  it('kikv sim request --listen: the agent pushes the approved answer to the simulator, which verifies and prints it', async () => {
    const port = await freePort();
    const cfg = loadConfig(cliConfig);
    const dir = join(cfg.storage.dataDir, 'sim');
    const delivery = deliveryTrust(simPeers(dir, `http://127.0.0.1:${port}`).map((p) => ({ ...p, roles: p.roles as Array<'consumer' | 'issuer'> })));
    const lines: string[] = [];
    const run = simRequest(cfg, { indicators: ['ps-1.5'], year: 2023, agent: agent.url, agentDid: base.cfg.agent.did, format: 'ldp', pull: false, timeoutSeconds: 30, listen: port }, (l) => lines.push(l));
    // The agent's side: the board approves, the response is queued and delivered through the trust adapter.
    let delivered = false;
    let inFlight: Promise<void> = Promise.resolve();
    // Ticks run one after another (chained), so the test can wait for the last one before the database closes.
    const agentSide = setInterval(() => {
      inFlight = inFlight.then(async () => {
        const req = agent.db.prepare("SELECT id FROM requests WHERE consumer = 'did:web:kik-starter.sim' AND response IS NULL AND status NOT IN ('accepted', 'computing') ORDER BY created_at DESC LIMIT 1").get() as { id: string } | undefined;
        if (!req || delivered) return;
        for (const { answer_id } of agent.db.prepare("SELECT l.answer_id FROM request_answers l JOIN answers a ON a.id = l.answer_id WHERE l.request_id = ? AND a.status = 'awaiting_approval'").all(req.id) as Array<{ answer_id: string }>) approveAnswer(agent.db, answer_id, 'bestuurder');
        const msg = await responseFor(agent.db, agent.trust, req.id);
        if (!msg) return;
        delivered = true;
        queueResponse(agent.db, { message: msg, answerIds: [] });
        await deliverDue(agent.db, settings, new Date(), 'agent', { trust: delivery });
      });
    }, 300);
    const code = await run.finally(() => clearInterval(agentSide));
    await inFlight;
    const out = lines.join('\n');
    expect(code, out).toBe(0);
    expect(out).toMatch(/Waiting up to 30 s for the agent to push the answer to http:\/\/127\.0\.0\.1:\d+\/didcomm/);
    expect(out).toMatch(/Received message \S+ \(thread \S+\) at http:\/\/127\.0\.0\.1:\d+\/didcomm: verified/);
    expect(out).toMatch(/Pushed response \S+ verified \(thid \S+, signed with kid \S+\):\n {2}\S+#[0-9a-f-]{36}\n {4}\S+=/);
  }, 90_000);

  it('kikv sim request --help says how to set it up; a run against the agent sends, polls, and prints the verified rows', async () => {
    const help = await runCli(['sim', 'request', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/kikv sim peers/);
    expect(help.stdout).toMatch(/trust\.peers/);
    expect(help.stdout).toMatch(/--misbehave <kind>/);
    expect(help.stdout).toMatch(/expired-credential .* -> HTTP 403 e\.p\.req\.credential-expired/);

    const run = spawnCli(['sim', 'request', '--indicator', 'ps-1.2', 'ps-1.3', 'ps-1.4', '--year', '2023', '--agent', agent.url, '--format', 'jwt', '--pull', '--timeout', '60', '--config', cliConfig]);
    // The board approves while the simulator polls.
    let approved = 0;
    const approver = setInterval(() => {
      const rows = agent.db.prepare("SELECT a.id FROM answers a JOIN request_answers l ON l.answer_id = a.id JOIN requests r ON r.id = l.request_id WHERE r.consumer = 'did:web:kik-starter.sim' AND a.status = 'awaiting_approval'").all() as Array<{ id: string }>;
      for (const r of rows) {
        approveAnswer(agent.db, r.id, 'bestuurder');
        approved++;
      }
    }, 300);
    const out = await run.done.finally(() => clearInterval(approver));
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(approved).toBeGreaterThan(0);
    expect(out.stdout).toMatch(/Sent request \S+ to http:\/\/127\.0\.0\.1:\d+\/didcomm/);
    // ps-1.2 and ps-1.4 share their parameters, ps-1.3 has its own: two requests.
    expect(out.stdout).toMatch(/take different parameters; a message carries one param_values, so they go in 2 requests/);
    expect(out.stdout).toMatch(/Agent answered HTTP 202: accepted \(ps-1\.2 by sha256, ps-1\.4 by sha256\)/);
    expect(out.stdout).toMatch(/Agent answered HTTP 202: accepted \(ps-1\.3 by sha256\)/);
    expect(out.stdout.match(/Response \S+ verified \(thid \S+, signed with kid \S+\)/g)?.length).toBe(2);
    expect(out.stdout).toMatch(/#[0-9a-f-]{36}\n {4}\S+=/);

  }, 120_000);

  it('the command\'s function: a misbehaviour is reported as refused as expected; an unreachable agent and an unknown peer name their fix', async () => {
    const cfg = loadConfig(cliConfig);
    const opts = { indicators: ['ps-1.2'], year: 2023, agent: agent.url, agentDid: base.cfg.agent.did, format: 'jwt' as const, pull: false, timeoutSeconds: 5 };
    const lines: string[] = [];
    expect(await simRequest(cfg, { ...opts, misbehave: 'expired-message' }, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/Agent answered HTTP 400 with problem report e\.p\.msg\.expired: .*\nAs expected: refused with HTTP 400 e\.p\.msg\.expired/);
    await expect(simRequest(cfg, { ...opts, agent: 'http://127.0.0.1:9' }, () => {})).rejects.toThrow(/did not answer .*is the agent running \(kikv serve\)/);
    // Another data directory: new simulator keys under the same DID, which the agent does not know.
    const stranger = loadConfig(writeConfig({ extra: { indicators: { packs: base.packs, profiles: [{ profile: PROFILE, version: VERSION }], reportingYear: 2023 } } }).file);
    const told: string[] = [];
    expect(await simRequest(stranger, opts, (l) => told.push(l))).toBe(1);
    const snippet = /trust:\n {2}peers:\n {4}- did: did:web:kik-starter\.sim\n {6}name: .*\n {6}roles:\n {8}- consumer\n {6}jwks: \S+kik-starter\.jwks\.json\n {4}- did: did:web:beheerorganisatie\.sim\n[\s\S]*- issuer\n {6}jwks: \S+beheerorganisatie\.jwks\.json/;
    expect(told.join('\n')).toMatch(/invalid_grant: kid "did:web:kik-starter\.sim#\S+" names no key of did:web:kik-starter\.sim/);
    expect(told.join('\n')).toMatch(snippet);
    expect(told.join('\n')).toContain(simDirOf(stranger));
  }, 60_000);
});
