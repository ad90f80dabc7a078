import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { contentHashOf, type Answer } from '../../answers/answers.js';
import type { Round } from '../../answers/rounds.js';
import type { AgentConfig } from '../../config/schema.js';
import { canonicalJson } from '../../db/json.js';
import type { Db } from '../../db/open.js';
import type { OutboxMessage, QueuedMessageRow } from '../../exchange/outbox.js';
import type { DidcommMessage } from '../../exchange/messages.js';
import type { Trust } from '../../exchange/types.js';

/**
 * The signed answers of a round for an auditor: every DIDComm message that carried them, as queued
 * and sent (the JWS inside is what the consumer received), the agent's JWKS including retired keys,
 * and the answers' recorded content. `verifyBundle` checks it offline: each JWS against the bundle's
 * key named by its kid, each answer's content against its recorded hash (and the hash the board
 * approved), and each signed result against the answer it claims to carry.
 */

export const BUNDLE_FORMAT = 'kikv-answer-bundle/1';

export interface BundleAnswer {
  id: string;
  indicator: string;
  status: string;
  contentHash: string;
  approvedHash: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  deliveredAt: string | null;
  /** Exactly the fields the content hash covers (src/answers/answers.ts contentHashOf). */
  content: Pick<Answer, 'profile' | 'profile_version' | 'indicator_id' | 'reporting_year' | 'parameters' | 'query_hash' | 'snapshot_hash' | 'result'>;
}

export interface BundleMessage {
  answerIds: string[];
  messageId: string;
  jws: string;
  status: string;
  recipient: string;
  deliveredAt: string | null;
  /** The DIDComm message as queued (its body.response is `jws`). */
  message: DidcommMessage;
}

export interface AnswerBundle {
  format: typeof BUNDLE_FORMAT;
  round: { id: string; profile: string; version: string; year: number; name: string };
  createdAt: string;
  agent: string;
  jwks: { keys: JWK[] };
  answers: BundleAnswer[];
  messages: BundleMessage[];
}

export async function answerBundle(cfg: AgentConfig, db: Db, trust: Pick<Trust, 'jwks'>, round: Round): Promise<AnswerBundle> {
  // Every answer of the round, superseded ones included: an earlier delivery stays auditable.
  const answers = db.prepare('SELECT * FROM answers WHERE profile = ? AND profile_version = ? AND reporting_year = ? ORDER BY created_at, rowid').all(round.profile, round.version, round.year) as Answer[];
  const byId = new Map(answers.map((a) => [a.id, a]));
  const messages: BundleMessage[] = [];
  for (const m of db.prepare('SELECT * FROM outbox ORDER BY created_at').all() as OutboxMessage[]) {
    if (!byId.has(m.answer_id)) continue;
    messages.push(messageOf(m.message, [m.answer_id], m));
  }
  for (const m of db.prepare(`SELECT * FROM message_outbox WHERE kind = 'response' ORDER BY created_at`).all() as QueuedMessageRow[]) {
    const ids = (JSON.parse(m.answer_ids) as string[]).filter((id) => byId.has(id));
    if (ids.length === 0) continue;
    messages.push(messageOf(m.message, JSON.parse(m.answer_ids) as string[], m));
  }
  const carried = new Set(messages.flatMap((m) => m.answerIds));
  // Answers carried by a message in the bundle; a response's other answers (another round) come along so it can be checked whole.
  const extra = [...carried].filter((id) => !byId.has(id));
  for (const id of extra) {
    const a = db.prepare('SELECT * FROM answers WHERE id = ?').get(id) as Answer | undefined;
    if (a) byId.set(a.id, a);
  }
  return {
    format: BUNDLE_FORMAT,
    round: { id: round.id, profile: round.profile, version: round.version, year: round.year, name: round.name },
    createdAt: new Date().toISOString(),
    agent: cfg.agent.did,
    jwks: await trust.jwks(),
    answers: [...byId.values()].filter((a) => carried.has(a.id)).map(bundleAnswer),
    messages,
  };
}

function messageOf(text: string, answerIds: string[], row: { id: string; status: string; recipient: string; delivered_at: string | null }): BundleMessage {
  const message = JSON.parse(text) as DidcommMessage;
  return { answerIds, messageId: row.id, jws: String(message.body.response ?? ''), status: row.status, recipient: row.recipient, deliveredAt: row.delivered_at, message };
}

function bundleAnswer(a: Answer): BundleAnswer {
  return {
    id: a.id,
    indicator: a.indicator_id,
    status: a.status,
    contentHash: a.content_hash,
    approvedHash: a.approved_hash,
    decidedBy: a.decided_by,
    decidedAt: a.decided_at,
    deliveredAt: a.delivered_at,
    content: { profile: a.profile, profile_version: a.profile_version, indicator_id: a.indicator_id, reporting_year: a.reporting_year, parameters: a.parameters, query_hash: a.query_hash, snapshot_hash: a.snapshot_hash, result: a.result },
  };
}

export interface BundleCheck {
  messageId: string;
  ok: boolean;
  kid?: string;
  problems: string[];
}

export interface BundleVerification {
  ok: boolean;
  checked: number;
  problems: string[];
  /** Per message, what was found (for `kikv verify`'s OK/FAILED lines). */
  messages: BundleCheck[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a bundle offline (no database, no network). Every problem names the message (or answer) and what failed. */
export async function verifyBundle(bundle: unknown): Promise<BundleVerification> {
  const fail = (problem: string): BundleVerification => ({ ok: false, checked: 0, problems: [problem], messages: [] });
  if (!isObject(bundle)) return fail('the file is not a JSON object; expected a kikv answer bundle (kikv export bundle)');
  if (bundle.format !== BUNDLE_FORMAT) return fail(`format is ${JSON.stringify(bundle.format)}; expected "${BUNDLE_FORMAT}"`);
  if (!isObject(bundle.jwks) || !Array.isArray(bundle.jwks.keys)) return fail('jwks.keys is missing: the bundle must carry the agent\'s public keys');
  if (!Array.isArray(bundle.messages)) return fail('messages is missing or not a list');
  if (!Array.isArray(bundle.answers)) return fail('answers is missing or not a list');
  const keys = new Map<string, JWK>();
  for (const k of bundle.jwks.keys as JWK[]) if (isObject(k) && typeof k.kid === 'string') keys.set(k.kid, k);
  const answers = new Map<string, BundleAnswer>();
  const answerProblems = new Map<string, string[]>();
  for (const a of bundle.answers as BundleAnswer[]) {
    if (!isObject(a) || typeof a.id !== 'string' || !isObject(a.content)) continue;
    answers.set(a.id, a);
    const p: string[] = [];
    let hash: string | undefined;
    try {
      hash = contentHashOf(a.content);
    } catch (e) {
      p.push(`answer ${a.id}: its content cannot be read (${(e as Error).message})`);
    }
    if (hash !== undefined && hash !== a.contentHash) p.push(`answer ${a.id} (${a.indicator}): its content hashes to ${hash}, not the recorded content hash ${a.contentHash}`);
    if (hash !== undefined && a.approvedHash !== null && a.approvedHash !== undefined && hash !== a.approvedHash) p.push(`answer ${a.id} (${a.indicator}): its content hashes to ${hash}, not the hash the board approved (${a.approvedHash})`);
    answerProblems.set(a.id, p);
  }

  const checks: BundleCheck[] = [];
  for (const [i, m] of (bundle.messages as BundleMessage[]).entries()) {
    const id = isObject(m) && typeof m.messageId === 'string' ? m.messageId : `#${i + 1}`;
    const check: BundleCheck = { messageId: id, ok: false, problems: [] };
    checks.push(check);
    const problem = (text: string) => check.problems.push(`message ${id}: ${text}`);
    if (!isObject(m) || typeof m.jws !== 'string' || !Array.isArray(m.answerIds)) {
      problem('not a message entry (needs messageId, jws and answerIds)');
      continue;
    }
    if (isObject(m.message) && isObject(m.message.body) && m.message.body.response !== m.jws) problem('the JWS differs from the one in the DIDComm message (body.response)');
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(m.jws);
      kid = header.kid;
      if (!kid) problem('the JWS protected header names no key (kid)');
    } catch (e) {
      problem(`the JWS is not a compact JWS (${(e as Error).message})`);
    }
    let payload: unknown;
    if (kid) {
      check.kid = kid;
      const jwk = keys.get(kid);
      if (!jwk) problem(`signed with key ${kid}, which is not in the bundle's JWKS (it has ${[...keys.keys()].join(', ') || 'no keys'})`);
      else {
        try {
          const key = await importJWK(jwk, typeof jwk.alg === 'string' ? jwk.alg : 'ES256');
          const r = await compactVerify(m.jws, key);
          payload = JSON.parse(new TextDecoder().decode(r.payload)) as unknown;
        } catch (e) {
          problem(`the signature does not verify with key ${kid} (${(e as Error).message})`);
        }
      }
    }
    if (payload !== undefined) checkPayload(payload, m.answerIds as string[], answers, problem);
    for (const aid of m.answerIds as string[]) for (const p of answerProblems.get(aid) ?? []) check.problems.push(`message ${id}: ${p}`);
    check.ok = check.problems.length === 0;
  }
  const problems = checks.flatMap((c) => c.problems);
  return { ok: problems.length === 0, checked: checks.length, problems, messages: checks };
}

/** Every signed result must be the recorded result of one of the message's answers, and every answer must be signed. */
function checkPayload(payload: unknown, answerIds: string[], answers: Map<string, BundleAnswer>, problem: (t: string) => void): void {
  if (!isObject(payload) || !Array.isArray(payload.resultset)) {
    problem('the signed payload has no resultset');
    return;
  }
  const signed = (payload.resultset as Array<{ id?: unknown; result?: unknown }>).map((e) => ({ id: String(e?.id), text: canonicalJson(e?.result ?? null) }));
  const matched = new Set<number>();
  for (const aid of answerIds) {
    const a = answers.get(aid);
    if (!a) {
      problem(`carries answer ${aid}, which is not in the bundle's answers`);
      continue;
    }
    let recorded: string;
    try {
      recorded = canonicalJson(JSON.parse(a.content.result));
    } catch {
      problem(`answer ${aid}: its recorded result is not JSON`);
      continue;
    }
    const at = signed.findIndex((s, i) => !matched.has(i) && s.text === recorded);
    if (at < 0) problem(`the signed result does not match the recorded content of answer ${aid} (${a.indicator})`);
    else matched.add(at);
  }
  signed.forEach((s, i) => {
    if (!matched.has(i)) problem(`signed result ${s.id} is not the recorded content of any answer this message carries`);
  });
}
