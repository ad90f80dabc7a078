import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { configFileFrom, loadConfig } from '../../config/load.js';
import type { AgentConfig } from '../../config/schema.js';
import { Beheerorganisatie, jwksFileOf, loadOrCreateSimParty, packItemIds, packItemQuery, type PackQuery } from '../../sim/beheerorganisatie.js';
import { groupsByParameters, isMisbehaviour, MISBEHAVIOURS, Requester, RequesterError, resultRows, type Misbehaviour } from '../../sim/requester.js';
import { startKikStarterSim, type KikStarterSim } from '../../sim/kik-starter.js';
import { UsageError, wholeNumber } from '../context.js';

/** The simulator's parties: what the agent's trust.peers must name. */
export const SIM_CONSUMER_DID = 'did:web:kik-starter.sim';
export const SIM_ISSUER_DID = 'did:web:beheerorganisatie.sim';

const SETUP = `
Set-up (once): the simulator keeps its keys in <storage.dataDir>/sim (created on first use). The
agent must know both simulated parties: run \`kikv sim peers\` and add the printed entries to
trust.peers of the agent's configuration (the KIK-starter as consumer, the beheerorganisatie as
issuer), then restart the agent (kikv serve). For --misbehave revoked-credential the agent needs
trust.revokedCredentials: the simulator writes the revoked id into that file. To receive answers
pushed by the agent, pick a port: \`kikv sim peers --listen 8091\` adds the KIK-starter's endpoint and
token endpoint to the entries, and \`kikv sim request --listen 8091\` receives there.
`;

/**
 * The trust.peers entries the agent needs for the simulator, with the JWKS files in `dir`; with
 * `listen` (the simulator's receiving base URL) also where the agent pushes answers and gets its token.
 */
export function simPeers(dir: string, listen?: string): Array<{ did: string; name: string; roles: string[]; jwks: string; endpoint?: string; tokenEndpoint?: string }> {
  return [
    { did: SIM_CONSUMER_DID, name: 'KIK-starter (kikv sim)', roles: ['consumer'], jwks: jwksFileOf(dir, 'kik-starter'), ...(listen ? { endpoint: `${listen}/didcomm`, tokenEndpoint: `${listen}/oauth2/token` } : {}) },
    { did: SIM_ISSUER_DID, name: 'beheerorganisatie (kikv sim)', roles: ['issuer'], jwks: jwksFileOf(dir, 'beheerorganisatie') },
  ];
}

/** The configuration snippet an operator pastes into the agent's config. */
export function peersSnippet(dir: string, listen?: string): string {
  return stringify({ trust: { peers: simPeers(dir, listen) } }).trimEnd();
}

const listenUrl = (port: number | undefined) => (port === undefined ? undefined : `http://127.0.0.1:${port}`);

export function simDirOf(cfg: AgentConfig): string {
  return join(cfg.storage.dataDir, 'sim');
}

/** Both parties, created in the sim directory on first use. */
export async function simParties(cfg: AgentConfig): Promise<{ dir: string; requesterParty: Awaited<ReturnType<typeof loadOrCreateSimParty>>; issuer: Beheerorganisatie }> {
  const dir = simDirOf(cfg);
  const requesterParty = await loadOrCreateSimParty(dir, 'kik-starter', SIM_CONSUMER_DID);
  const issuer = new Beheerorganisatie(await loadOrCreateSimParty(dir, 'beheerorganisatie', SIM_ISSUER_DID), cfg.trust.revokedCredentials);
  return { dir, requesterParty, issuer };
}

export interface SimRequestOptions {
  indicators: string[];
  year: number;
  agent: string;
  agentDid: string;
  format: 'ldp' | 'jwt';
  pull: boolean;
  timeoutSeconds: number;
  misbehave?: Misbehaviour;
  /** Receive pushed answers and problem reports on 127.0.0.1 at this port (with our own token endpoint). */
  listen?: number;
}

/**
 * One simulated exchange against a running agent: issue credentials for the indicators, send them in
 * one presentation (one per set of parameter values), print the agent's answer and, with pull, poll until the verified response arrives.
 * Returns the exit code: 0 when the agent behaved as a datastation must (accepted a good request,
 * refused a bad one with the expected code), 1 otherwise.
 */
export async function simRequest(cfg: AgentConfig, o: SimRequestOptions, print: (line: string) => void): Promise<number> {
  const { profile, version } = profileWithItems(cfg, o.indicators);
  const queries: PackQuery[] = o.indicators.map((id) => packItemQuery(cfg.indicators.packs, profile, version, id, o.year));
  const { dir, requesterParty, issuer } = await simParties(cfg);
  if (o.misbehave === 'revoked-credential' && !issuer.revocationFile) {
    throw new UsageError(`--misbehave revoked-credential writes the agent's revocation list, but this configuration has no trust.revokedCredentials; set it (e.g. trust.revokedCredentials: ${join(cfg.storage.dataDir, 'revoked-credentials.txt')}) in the agent's configuration too, and restart the agent`);
  }
  if (o.misbehave === 'revoked-credential' && !existsSync(issuer.revocationFile!)) writeFileSync(issuer.revocationFile!, '');
  const requester = new Requester({ party: requesterParty, issuer, agentUrl: o.agent, agentDid: o.agentDid });
  const peersHelp = `The agent must list the simulator's parties in trust.peers; add to its configuration and restart it:\n${peersSnippet(dir, listenUrl(o.listen))}`;
  const starter =
    o.listen === undefined
      ? undefined
      : await startKikStarterSim({
          did: requesterParty.did,
          agentDid: o.agentDid,
          agentJwks: `${o.agent.replace(/\/+$/, '')}/.well-known/jwks.json`,
          port: o.listen,
          acceptProblemReports: true,
          tokenKey: requesterParty,
          onReception: (r) => print(`Received ${r.report ? `problem report ${r.report.code} about ${r.report.pthid}` : `message ${r.messageId} (thread ${r.thid})`} at ${listenUrl(o.listen)}/didcomm: ${r.duplicate ? 'a repeat, acknowledged' : r.verified ? 'verified' : `REFUSED: ${r.problem}`}`),
        });
  try {
    const groups = groupsByParameters(queries);
    if (groups.length > 1) print(`${o.indicators.join(', ')} take different parameters; a message carries one param_values, so they go in ${groups.length} requests.`);
    let code = 0;
    for (const group of groups) code = Math.max(code, await exchange(requester, group, o, print, peersHelp, starter));
    return code;
  } finally {
    await starter?.close();
  }
}

/** One request for queries that share their parameter values: send, report, and with --pull wait for the verified answer. */
async function exchange(requester: Requester, queries: PackQuery[], o: SimRequestOptions, print: (line: string) => void, peersHelp: string, starter?: KikStarterSim): Promise<number> {
  let sent;
  try {
    sent = await requester.request({ queries, format: o.format, paramValues: queries[0]!.params, ...(o.misbehave ? { misbehave: o.misbehave } : {}) });
  } catch (e) {
    // Not registered (invalid_client) or registered with other keys (invalid_grant: kid names no key): the peers entry is the fix.
    if (e instanceof RequesterError && e.refusedBy === 'token-endpoint' && /invalid_client|names no key/.test(e.message)) {
      print(e.message);
      print(peersHelp);
      return 1;
    }
    throw e;
  }
  const m = sent.request.message;
  print(`Sent request ${m.id} to ${o.agent}/didcomm`);
  print(`  from ${m.from} to ${String(m.to)}, ${sent.request.credentials.length} credential(s) (${o.format}) from ${requester.o.issuer.did}${o.misbehave ? `, misbehaving: ${o.misbehave} (${MISBEHAVIOURS[o.misbehave].what})` : ''}`);
  for (const q of queries) print(`  query ${q.identifier}  ${q.item}  ${q.name ?? ''}`);
  print(`  param_values ${JSON.stringify(Object.fromEntries(Object.entries(queries[0]!.params).map(([k, v]) => [k, 'iri' in v ? v.iri : v.value])))}`);
  const code = sent.body?.body?.code as string | undefined;
  if (sent.status === 202) print(`Agent answered HTTP 202: ${sent.body.status ?? 'accepted'}${Array.isArray(sent.body.queries) ? ` (${sent.body.queries.map((q: { item?: string; matchedBy?: string }) => `${q.item ?? '?'} by ${q.matchedBy ?? '?'}`).join(', ')})` : ''}`);
  else print(`Agent answered HTTP ${sent.status} with problem report ${code ?? '(none)'}: ${sent.body?.body?.comment ?? JSON.stringify(sent.body)}`);

  if (o.misbehave && o.misbehave !== 'tampered-response') {
    const want = MISBEHAVIOURS[o.misbehave];
    const ok = sent.status === want.status && code === want.code;
    print(ok ? `As expected: refused with HTTP ${want.status} ${want.code}.` : `NOT as expected: a datastation must refuse this with HTTP ${want.status} ${want.code}.`);
    return ok ? 0 : 1;
  }
  if (sent.status !== 202) {
    if (code === 'e.p.req.unknown-key' || code === 'e.p.req.credential-untrusted-issuer') print(peersHelp);
    return 1;
  }
  if (!o.pull && starter) {
    print(`Waiting up to ${o.timeoutSeconds} s for the agent to push the answer to ${starter.endpoint} (after the provider's board approves) ...`);
    let got;
    try {
      got = await starter.waitFor(m.id, o.timeoutSeconds * 1000);
    } catch (e) {
      print(`${(e as Error).message}. Is the agent's trust.peers entry for ${m.from} given endpoint and tokenEndpoint (kikv sim peers --listen ${o.listen})?`);
      return 1;
    }
    if (got.report) {
      print(`The agent reported a problem with request ${m.id}: ${got.report.code}: ${got.report.comment}`);
      return 1;
    }
    printRows(`Pushed response ${String(got.messageId)} verified (thid ${m.id}, signed with kid ${got.kid}):`, got.resultset!, print);
    return 0;
  }
  if (!o.pull) {
    print(`Pull the answer later with GET ${o.agent}/answers/${m.id} (or run again with --pull, or --listen to receive it pushed).`);
    return 0;
  }
  print(`Polling ${o.agent}/answers/${m.id} until the provider's board approves (timeout ${o.timeoutSeconds} s) ...`);
  let last = '';
  const pulled = await requester.pollUntilAnswered(m.id, {
    timeoutMs: o.timeoutSeconds * 1000,
    intervalMs: 1000,
    tamper: o.misbehave === 'tampered-response',
    onWait: (p) => {
      const status = String(p.body.status ?? 'waiting');
      if (status !== last) print(`  ${status}${Array.isArray(p.body.answers) ? ` (${p.body.answers.map((a: { status: string }) => a.status).join(', ')})` : ''}`);
      last = status;
    },
  });
  if (pulled.status === 202) {
    print(`No answer within ${o.timeoutSeconds} s: still ${String(pulled.body.status)}. Approve with \`kikv answers approve\` on the agent, then pull again.`);
    return 1;
  }
  if (pulled.status !== 200) {
    print(`Pull answered HTTP ${pulled.status}: ${pulled.body?.body?.code ?? ''} ${pulled.body?.body?.comment ?? JSON.stringify(pulled.body)}`);
    return 1;
  }
  const check = pulled.check!;
  if (o.misbehave === 'tampered-response') {
    print(check.verified ? 'NOT as expected: the tampered response was accepted.' : `As expected: the tampered response was refused (${check.problem}).`);
    return check.verified ? 1 : 0;
  }
  if (!check.verified) {
    print(`Response ${String(pulled.body.id)} REFUSED: ${check.problem}`);
    return 1;
  }
  printRows(`Response ${String(pulled.body.id)} verified (thid ${m.id}, signed with kid ${check.kid}):`, check.resultset!, print);
  return 0;
}

function printRows(title: string, resultset: Parameters<typeof resultRows>[0], print: (line: string) => void): void {
  print(title);
  for (const r of resultRows(resultset)) {
    print(`  ${r.id}`);
    for (const row of r.rows) print(`    ${Object.entries(row).map(([k, v]) => `${k}=${v}`).join('  ')}`);
    if (r.rows.length === 0) print('    (no rows)');
  }
}

function profileWithItems(cfg: AgentConfig, items: string[]): { profile: string; version: string } {
  const all: string[] = [];
  for (const p of cfg.indicators.profiles) {
    const ids = packItemIds(cfg.indicators.packs, p.profile, p.version);
    if (items.every((i) => ids.includes(i))) return p;
    all.push(`${p.profile} ${p.version}: ${ids.join(', ')}`);
  }
  throw new UsageError(`--indicator ${items.join(' ')}: not all computed items of one configured profile; choose from\n  ${all.join('\n  ')}`);
}

function configOf(cmd: Command): AgentConfig {
  return loadConfig(configFileFrom(cmd.optsWithGlobals().config as string | undefined));
}

export function registerSimCommands(program: Command): void {
  // `kikv sim` on its own (src/cli/commands/run.ts) runs the receiving KIK-starter; the sending side and
  // the beheerorganisatie are its subcommands, so one `sim` command holds the whole simulator.
  const sim =
    (program.commands as Command[]).find((c) => c.name() === 'sim') ??
    program.command('sim').description('a simulated KIK-starter and beheerorganisatie that talk to a running agent (for testing a deployment)');
  sim.addHelpText('after', `
Subcommands: \`kikv sim peers\` (set-up), \`kikv sim request\` (send a validated-query request).${SETUP}`);
  sim
    .command('peers')
    .description('create the simulator\'s keys (first use) and print the trust.peers entries the agent needs')
    .option('--json', 'print the entries as JSON')
    .option('--listen <port>', 'the port `sim request --listen` receives pushed answers on: adds endpoint and tokenEndpoint', wholeNumber('--listen'))
    .action(async (o: { json?: boolean; listen?: number }, cmd: Command) => {
      const cfg = configOf(cmd);
      const { dir } = await simParties(cfg);
      if (o.json) console.log(JSON.stringify(simPeers(dir, listenUrl(o.listen)), null, 2));
      else {
        console.log(`# The simulator's keys are in ${dir}. Add to the agent's configuration and restart it:`);
        console.log(peersSnippet(dir, listenUrl(o.listen)));
      }
    });
  sim
    .command('request')
    .description('issue credentials for pack items, send them in one presentation to the agent\'s /didcomm and print its answer')
    .requiredOption('--indicator <ids...>', 'pack item ids, e.g. ps-1.2 (several: one credential each, in one presentation)')
    .option('--year <year>', 'reporting year of the parameters (default: indicators.reportingYear)', wholeNumber('--year'))
    .option('--agent <url>', 'the agent\'s base URL (default: server.publicUrl of the configuration)')
    .option('--agent-did <did>', 'the agent\'s DID (default: agent.did of the configuration)')
    .addOption(new Option('--format <format>', 'proof format of the credentials and presentation').choices(['ldp', 'jwt']).default('ldp'))
    .option('--pull', 'poll GET /answers/:id until the approved response arrives, verify it and print its rows')
    .option('--listen <port>', 'receive the pushed answer (and problem reports) on 127.0.0.1:<port>; without --pull, wait for it', wholeNumber('--listen'))
    .option('--timeout <seconds>', 'how long --pull or --listen waits', wholeNumber('--timeout'), 600)
    .option('--misbehave <kind>', `send a request the agent must refuse: ${Object.keys(MISBEHAVIOURS).join(', ')}`, (v: string) => {
      if (!isMisbehaviour(v)) throw new InvalidArgumentError(`--misbehave must be one of ${Object.keys(MISBEHAVIOURS).join(', ')}`);
      return v;
    })
    .addHelpText('after', `${SETUP}
Misbehaviours and the refusal a datastation must answer with:
${Object.entries(MISBEHAVIOURS).map(([k, v]) => `  ${k.padEnd(26)} ${v.what}${v.code !== 'none' ? ` -> HTTP ${v.status} ${v.code}` : ' (use with --pull)'}`).join('\n')}

Example: kikv sim request --indicator ps-1.2 ps-1.3 --year 2023 --pull`)
    .action(async (o: { indicator: string[]; year?: number; agent?: string; agentDid?: string; format: 'ldp' | 'jwt'; pull?: boolean; listen?: number; timeout: number; misbehave?: Misbehaviour }, cmd: Command) => {
      const cfg = configOf(cmd);
      if (o.misbehave === 'tampered-response' && !o.pull) throw new UsageError('--misbehave tampered-response tampers with the answer it pulls: add --pull');
      try {
        process.exitCode = await simRequest(
          cfg,
          { indicators: o.indicator, year: o.year ?? cfg.indicators.reportingYear, agent: o.agent ?? cfg.server.publicUrl, agentDid: o.agentDid ?? cfg.agent.did, format: o.format, pull: o.pull ?? false, timeoutSeconds: o.timeout, ...(o.misbehave ? { misbehave: o.misbehave } : {}), ...(o.listen !== undefined ? { listen: o.listen } : {}) },
          (l) => console.log(l),
        );
      } catch (e) {
        if (e instanceof RequesterError) {
          console.error(e.message);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
    });
}
