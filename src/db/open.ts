import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Schema migrations, applied in order and recorded in user_version. Never edit a released
 * migration: add a new one.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE snapshots (
    hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    quads INTEGER NOT NULL,
    source TEXT NOT NULL,
    ontology_version TEXT NOT NULL,
    report_file TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_mapped INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL
  );

  CREATE TABLE answers (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    profile TEXT NOT NULL,
    profile_version TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    indicator_name TEXT NOT NULL,
    reporting_year INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    query_hash TEXT NOT NULL,
    snapshot_hash TEXT NOT NULL REFERENCES snapshots(hash),
    result TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('awaiting_approval', 'approved', 'rejected', 'delivered')),
    created_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    approved_hash TEXT,
    delivered_at TEXT
  );
  CREATE INDEX answers_status ON answers(status);

  -- The lifecycle is enforced by the database too, so no code path can skip the board.
  CREATE TRIGGER answers_lifecycle BEFORE UPDATE OF status ON answers
  WHEN NOT (
    (OLD.status = 'awaiting_approval' AND NEW.status IN ('approved', 'rejected')) OR
    (OLD.status = 'approved' AND NEW.status = 'delivered') OR
    OLD.status = NEW.status
  )
  BEGIN
    SELECT RAISE(ABORT, 'answer status change not allowed');
  END;
  CREATE TRIGGER answers_content_frozen BEFORE UPDATE OF result, content_hash, parameters, snapshot_hash, query_hash ON answers
  BEGIN
    SELECT RAISE(ABORT, 'an answer''s content cannot change; compute a new answer');
  END;

  CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL UNIQUE REFERENCES answers(id),
    recipient TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
  );
  CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
  -- Only approved answers may be signed and queued.
  CREATE TRIGGER outbox_only_approved BEFORE INSERT ON outbox
  WHEN (SELECT status FROM answers WHERE id = NEW.answer_id) IS NOT 'approved'
  BEGIN
    SELECT RAISE(ABORT, 'only an approved answer can be queued for delivery');
  END;

  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    thread_id TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
  );
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
  // Import runs (scheduled, catch-up, manual). The 'running' row is also the cross-process lock:
  // at most one can exist, and its holder (pid, host, heartbeat) tells whether it is still alive.
  `
  CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'catch-up', 'manual')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    snapshot_hash TEXT,
    report_file TEXT,
    error TEXT,
    rows_read INTEGER,
    rows_mapped INTEGER,
    rows_rejected INTEGER,
    holder_pid INTEGER NOT NULL,
    holder_host TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  );
  CREATE UNIQUE INDEX import_runs_one_running ON import_runs(status) WHERE status = 'running';
  CREATE INDEX import_runs_started ON import_runs(started_at);
  -- A run is settled once: after it leaves 'running' it never changes, and no run is deleted.
  CREATE TRIGGER import_runs_settled BEFORE UPDATE ON import_runs
  WHEN OLD.status <> 'running'
  BEGIN
    SELECT RAISE(ABORT, 'a finished import run cannot change');
  END;
  CREATE TRIGGER import_runs_no_delete BEFORE DELETE ON import_runs BEGIN SELECT RAISE(ABORT, 'import runs are kept'); END;
  `,
  // Profile runs (issue 4): what produced an answer, and the board's manual items.
  `
  ALTER TABLE answers ADD COLUMN engine TEXT;
  ALTER TABLE answers ADD COLUMN ontology_version TEXT;
  -- JSON: the item (INID, number, unit, level), normaliser rewrites, ward detail rows. Not sent.
  ALTER TABLE answers ADD COLUMN metadata TEXT;
  CREATE TRIGGER answers_provenance_frozen BEFORE UPDATE OF engine, ontology_version, metadata ON answers
  BEGIN SELECT RAISE(ABORT, 'how an answer was computed is recorded once and never changed'); END;

  -- Manual items (yes/no, text, URL, number) entered per location or for the organisation. Every entry
  -- is kept; the latest one per item and indeling counts.
  CREATE TABLE manual_values (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    profile_version TEXT NOT NULL,
    reporting_year INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    indeling TEXT NOT NULL,
    value TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    entered_at TEXT NOT NULL
  );
  CREATE INDEX manual_values_item ON manual_values(profile, profile_version, reporting_year, item_id, indeling, id);
  CREATE TRIGGER manual_values_no_update BEFORE UPDATE ON manual_values BEGIN SELECT RAISE(ABORT, 'manual entries are kept; enter a new value instead'); END;
  CREATE TRIGGER manual_values_no_delete BEFORE DELETE ON manual_values BEGIN SELECT RAISE(ABORT, 'manual entries are kept; enter a new value instead'); END;
  `,
  // The inbox (issue 5): message ids seen (replay), validated-query requests and the answers they link to.
  `
  CREATE TABLE inbox_seen (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    received_at TEXT NOT NULL,
    expires_time INTEGER
  );
  CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    consumer TEXT NOT NULL,
    body_form TEXT NOT NULL CHECK (body_form IN ('vp', 'credentialSubject')),
    status TEXT NOT NULL CHECK (status IN ('accepted', 'computing', 'linked', 'refused')),
    snapshot_hash TEXT,
    -- JSON: every query of the request (identifier, uuid, profile, matched item or not-shipped) with its parameters.
    queries TEXT NOT NULL,
    parameters TEXT NOT NULL,
    problem TEXT,
    problem_status INTEGER,
    response TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX requests_consumer ON requests(consumer, created_at);
  CREATE TABLE request_answers (
    request_id TEXT NOT NULL REFERENCES requests(id),
    query_uuid TEXT NOT NULL,
    query_identifier TEXT NOT NULL,
    answer_id TEXT NOT NULL REFERENCES answers(id),
    PRIMARY KEY (request_id, query_uuid)
  );
  CREATE INDEX request_answers_answer ON request_answers(answer_id);
  CREATE TRIGGER request_answers_no_update BEFORE UPDATE ON request_answers BEGIN SELECT RAISE(ABORT, 'a request keeps the answers it was linked to'); END;
  CREATE TRIGGER request_answers_no_delete BEFORE DELETE ON request_answers BEGIN SELECT RAISE(ABORT, 'a request keeps the answers it was linked to'); END;
  `,
  // The queue of prebuilt messages (request responses, problem reports): src/exchange/outbox.ts.
  `
  CREATE TABLE IF NOT EXISTS message_outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'problem-report')),
    about_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    code TEXT NOT NULL,
    answer_ids TEXT NOT NULL DEFAULT '[]',
    message TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (about_id, recipient, kind, code)
  );
  CREATE INDEX IF NOT EXISTS message_outbox_due ON message_outbox(status, next_attempt_at);
`,
  // The board (issue 6): accounts and sessions (src/auth), review steps per round and location,
  // corrected answers that supersede earlier ones (src/answers/review.ts, corrections.ts).
  `
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('board', 'quality', 'operator', 'viewer')),
    -- scrypt, self-describing: scrypt$N$r$p$salt$hash (base64url)
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    disabled_at TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
  );
  CREATE TABLE sessions (
    -- sha-256 of the cookie's token: a copy of the database does not hand out live sessions
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX sessions_user ON sessions(user_name);

  -- Every preparation (quality), approval and rejection (board) of a location (or the organisation)
  -- in a round, with the hash of exactly the rows it covered. Kept forever.
  CREATE TABLE review_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    profile_version TEXT NOT NULL,
    reporting_year INTEGER NOT NULL,
    indeling TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('prepared', 'approved', 'rejected')),
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    content_hash TEXT NOT NULL,
    -- JSON: the answer ids (and their content hashes) the step covered
    answers TEXT NOT NULL
  );
  CREATE INDEX review_steps_round ON review_steps(profile, profile_version, reporting_year, indeling, id);
  CREATE TRIGGER review_steps_no_update BEFORE UPDATE ON review_steps BEGIN SELECT RAISE(ABORT, 'review steps are kept; record a new step instead'); END;
  CREATE TRIGGER review_steps_no_delete BEFORE DELETE ON review_steps BEGIN SELECT RAISE(ABORT, 'review steps are kept; record a new step instead'); END;

  -- An answer replaced by a newer one: a correction, a recomputation, or a re-approved delivery.
  CREATE TABLE answer_supersessions (
    answer_id TEXT PRIMARY KEY REFERENCES answers(id),
    superseded_by TEXT NOT NULL REFERENCES answers(id),
    kind TEXT NOT NULL CHECK (kind IN ('correction', 'recomputed', 'redelivered')),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX answer_supersessions_by ON answer_supersessions(superseded_by);
  CREATE TRIGGER answer_supersessions_no_update BEFORE UPDATE ON answer_supersessions BEGIN SELECT RAISE(ABORT, 'a supersession is kept'); END;
  CREATE TRIGGER answer_supersessions_no_delete BEFORE DELETE ON answer_supersessions BEGIN SELECT RAISE(ABORT, 'a supersession is kept'); END;
  -- A superseded answer is never approved, and never queued for delivery.
  CREATE TRIGGER answers_superseded_not_approved BEFORE UPDATE OF status ON answers
  WHEN NEW.status = 'approved' AND EXISTS (SELECT 1 FROM answer_supersessions WHERE answer_id = NEW.id)
  BEGIN
    SELECT RAISE(ABORT, 'a superseded answer cannot be approved; approve the answer that replaced it');
  END;
  CREATE TRIGGER outbox_not_superseded BEFORE INSERT ON outbox
  WHEN EXISTS (SELECT 1 FROM answer_supersessions WHERE answer_id = NEW.answer_id)
  BEGIN
    SELECT RAISE(ABORT, 'a superseded answer cannot be queued for delivery');
  END;
  `,
];

/** Opens (creating if needed) the agent's SQLite database in WAL mode and brings its schema up to date. */
export function openDb(dataDir: string): Db {
  const file = join(dataDir, 'kikv.sqlite');
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a committed approval survives power loss, not only a process kill.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`${file} has schema version ${version}, newer than this agent knows (${MIGRATIONS.length}); upgrade kikv-agent`);
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
  return db;
}
