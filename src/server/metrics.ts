import type { FastifyPluginAsync } from 'fastify';
import { roundSummary } from '../answers/review.js';
import { listRounds } from '../answers/rounds.js';
import type { AgentConfig } from '../config/schema.js';
import type { Db } from '../db/open.js';

/** Prometheus text exposition format, version 0.0.4. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels?: Record<string, string>; value: number }>;
}

const OUTBOX_STATUSES = ['pending', 'delivered', 'failed'] as const;
const ANSWER_STATUSES = ['awaiting_approval', 'approved', 'rejected', 'delivered'] as const;

/** Audit actions the metrics count, and where each keeps its problem code. */
const COUNTED_ACTIONS: Record<string, string | null> = {
  'delivery.failed': null,
  'response.failed': null,
  'problem-report.failed': null,
  'inbox.received': null,
  'request.accepted': null,
  'inbox.refused': '$.message.body.code',
  'request.refused': '$.code',
};

interface AuditTally {
  seq: number;
  entries: number;
  /** `action code` → count. */
  counts: Map<string, number>;
}
const tallies = new WeakMap<Db, AuditTally>();

/**
 * Counts of the audit actions the metrics need, read incrementally: the log is append-only (its
 * triggers refuse updates and deletes), so only entries after the last one seen are scanned, and a
 * scrape costs the same with a million entries as with ten.
 */
function auditTally(db: Db): AuditTally {
  const t = tallies.get(db) ?? { seq: 0, entries: 0, counts: new Map<string, number>() };
  const codeOf = Object.entries(COUNTED_ACTIONS)
    .filter(([, path]) => path)
    .map(([action, path]) => `WHEN '${action}' THEN json_extract(details, '${path}')`)
    .join(' ');
  const groups = db
    .prepare(`SELECT action, CASE action ${codeOf} ELSE NULL END AS code, COUNT(*) AS n, MAX(seq) AS last FROM audit WHERE seq > ? GROUP BY action, code`)
    .all(t.seq) as Array<{ action: string; code: string | null; n: number; last: number }>;
  for (const g of groups) {
    t.seq = Math.max(t.seq, g.last);
    t.entries += g.n;
    if (!(g.action in COUNTED_ACTIONS)) continue;
    const key = `${g.action} ${g.code ?? ''}`;
    t.counts.set(key, (t.counts.get(key) ?? 0) + g.n);
  }
  tallies.set(db, t);
  return t;
}

/** Sum over an action's codes, or the codes with their counts. */
function tallied(t: AuditTally, action: string): number {
  let n = 0;
  for (const [k, v] of t.counts) if (k.startsWith(`${action} `)) n += v;
  return n;
}
function talliedByCode(t: AuditTally, action: string): Array<{ code: string; n: number }> {
  return [...t.counts]
    .filter(([k]) => k.startsWith(`${action} `))
    .map(([k, n]) => ({ code: k.slice(action.length + 1), n }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

/**
 * What an operator alerts on, read from the database on each scrape so every process (serve, CLI
 * deliveries) is counted: the outbox by kind and status, the oldest pending message's age,
 * deliveries given up, answers by status, the audit log's size, and the inbox's outcomes (from the
 * audit log, which records every receipt and refusal with its problem code).
 */
export function agentMetrics(db: Db, now = new Date(), cfg?: AgentConfig): MetricFamily[] {
  const grouped = (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as Array<{ k: string | null; k2?: string | null; n: number }>;
  const count = (sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number | null }).n ?? 0;

  const outbox = new Map<string, number>();
  for (const r of grouped(`SELECT status AS k, COUNT(*) AS n FROM outbox GROUP BY status`)) outbox.set(`response/${r.k}`, r.n);
  for (const r of grouped(`SELECT kind || '/' || status AS k, COUNT(*) AS n FROM message_outbox GROUP BY kind, status`)) outbox.set(r.k!, (outbox.get(r.k!) ?? 0) + r.n);
  const oldestPending = db
    .prepare(`SELECT MIN(created_at) AS t FROM (SELECT created_at FROM outbox WHERE status = 'pending' UNION ALL SELECT created_at FROM message_outbox WHERE status = 'pending')`)
    .get() as { t: string | null };
  const audit = auditTally(db);
  const answers = new Map(grouped(`SELECT status AS k, COUNT(*) AS n FROM answers GROUP BY status`).map((r) => [r.k, r.n]));

  const latestSnapshot = db.prepare('SELECT MAX(created_at) AS t FROM snapshots').get() as { t: string | null };
  // The requests table arrives with the inbox (a later migration): read it only when it exists.
  const hasRequests = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'`).get() !== undefined;

  const families: MetricFamily[] = [
    {
      name: 'kikv_outbox_messages',
      help: 'Messages in the outbox by kind (response, problem-report) and status.',
      type: 'gauge',
      samples: (['response', 'problem-report'] as const).flatMap((kind) => OUTBOX_STATUSES.map((status) => ({ labels: { kind, status }, value: outbox.get(`${kind}/${status}`) ?? 0 }))),
    },
    {
      name: 'kikv_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest message still waiting for delivery; 0 when none waits.',
      type: 'gauge',
      samples: [{ value: oldestPending.t ? Math.max(0, (now.getTime() - Date.parse(oldestPending.t)) / 1000) : 0 }],
    },
    {
      name: 'kikv_deliveries_failed_total',
      help: 'Deliveries given up after the last try (kikv outbox list shows them).',
      type: 'counter',
      samples: [{ value: tallied(audit, 'delivery.failed') + tallied(audit, 'response.failed') + tallied(audit, 'problem-report.failed') }],
    },
    {
      name: 'kikv_answers',
      help: 'Answers by status.',
      type: 'gauge',
      samples: ANSWER_STATUSES.map((status) => ({ labels: { status }, value: answers.get(status) ?? 0 })),
    },
    {
      name: 'kikv_audit_entries_total',
      help: 'Entries in the hash-chained audit log.',
      type: 'counter',
      samples: [{ value: audit.entries }],
    },
    {
      name: 'kikv_inbox_messages_total',
      help: 'Messages received at /didcomm by outcome; refusals by their DIDComm problem code.',
      type: 'counter',
      samples: [
        { labels: { outcome: 'received', code: '' }, value: tallied(audit, 'inbox.received') },
        { labels: { outcome: 'accepted', code: '' }, value: tallied(audit, 'request.accepted') },
        ...talliedByCode(audit, 'inbox.refused').map((r) => ({ labels: { outcome: 'refused', code: r.code }, value: r.n })),
      ],
    },
    ...(hasRequests
      ? [
          {
            name: 'kikv_requests',
            help: 'Validated-query requests by status.',
            type: 'gauge' as const,
            samples: grouped(`SELECT status AS k, COUNT(*) AS n FROM requests GROUP BY status ORDER BY status`).map((r) => ({ labels: { status: r.k ?? '' }, value: r.n })),
          },
        ]
      : []),
    {
      name: 'kikv_snapshot_age_seconds',
      help: 'Age of the latest dataset snapshot (KIK-V expects data refreshed at least weekly); absent before the first import.',
      type: 'gauge',
      samples: latestSnapshot.t ? [{ value: Math.max(0, (now.getTime() - Date.parse(latestSnapshot.t)) / 1000) }] : [],
    },
    {
      name: 'kikv_requests_refused_after_acceptance_total',
      help: 'Accepted requests refused later (e.g. the query could not run), by problem code.',
      type: 'counter',
      samples: talliedByCode(audit, 'request.refused').map((r) => ({ labels: { code: r.code }, value: r.n })),
    },
    ...(cfg ? roundFamilies(cfg, db, now) : []),
  ];
  return families;
}

/**
 * Per delivery round (profile, reporting year): days to its deadline (negative after) and the
 * locations not yet approved, so an operator can alert when a deadline nears with work left.
 */
function roundFamilies(cfg: AgentConfig, db: Db, now: Date): MetricFamily[] {
  let summaries;
  try {
    summaries = listRounds(cfg, db).map((r) => roundSummary(cfg, db, r, now));
  } catch {
    // A pack that cannot be read: the rest of the metrics still answer (kikv status names the problem).
    return [];
  }
  const labels = (s: (typeof summaries)[number]) => ({ profile: s.round.profile, year: String(s.round.year) });
  return [
    {
      name: 'kikv_round_days_to_deadline',
      help: 'Calendar days (in the round\'s time zone) to the delivery deadline of a round; 0 on the last day, negative after.',
      type: 'gauge',
      samples: summaries.map((s) => ({ labels: labels(s), value: s.daysToDeadline })),
    },
    {
      name: 'kikv_round_indelingen_unapproved',
      help: 'Locations (and the organisation) of a round whose answers the board has not approved yet.',
      type: 'gauge',
      samples: summaries.map((s) => ({ labels: labels(s), value: s.indelingen.filter((i) => i.state !== 'approved' && i.state !== 'delivered').length })),
    },
  ];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Renders metric families in the Prometheus text format (0.0.4): HELP, TYPE, then one line per sample. */
export function prometheusText(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labels && Object.keys(s.labels).length ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      lines.push(`${f.name}${labels} ${Number.isFinite(s.value) ? String(s.value) : 'NaN'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** GET /metrics: the agent's metrics for Prometheus. */
export function metricsRoutes(deps: { db: Db; now?: () => Date; cfg?: AgentConfig }): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/metrics',
      {
        schema: {
          description: 'Prometheus text exposition format 0.0.4',
          produces: [PROMETHEUS_TEXT],
          response: { 200: { type: 'string' } },
        },
      },
      async (_req, reply) => {
        reply.header('cache-control', 'no-store').type(PROMETHEUS_TEXT);
        return prometheusText(agentMetrics(deps.db, deps.now?.() ?? new Date(), deps.cfg));
      },
    );
  };
}
