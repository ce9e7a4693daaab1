/** The SQLite schema, as versioned migrations kept in the database's user_version. */
import type Database from "better-sqlite3";

/** Versioned migrations: entry i brings the schema from version i to i + 1. Never edit one; append. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tasks (
    workspace_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    submitted_at_ms INTEGER NOT NULL,
    registered_at_ms INTEGER NOT NULL,
    next_poll_at_ms INTEGER NOT NULL,
    poll_count INTEGER NOT NULL DEFAULT 0,
    polls_in_status INTEGER NOT NULL DEFAULT 0,
    last_polled_at_ms INTEGER,
    last_error TEXT,
    lease_owner TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    webhook_urls TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    terminal_at_ms INTEGER,
    PRIMARY KEY (workspace_id, task_id)
  ) WITHOUT ROWID;
  CREATE INDEX tasks_due ON tasks (next_poll_at_ms) WHERE state = 'active';
  CREATE INDEX tasks_queue ON tasks (workspace_id, submitted_at_ms, task_id) WHERE state = 'active';
  CREATE INDEX tasks_by_state ON tasks (state, workspace_id, task_id);

  CREATE TABLE workspaces (
    workspace_id TEXT PRIMARY KEY,
    async_concurrency INTEGER,
    concurrency_fetched_at_ms INTEGER,
    backoff_until_ms INTEGER NOT NULL DEFAULT 0,
    auth_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  ) WITHOUT ROWID;

  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secrets TEXT NOT NULL,
    events TEXT,
    workspace_id TEXT,
    headers TEXT NOT NULL DEFAULT '{}',
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    failing_since_ms INTEGER,
    created_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX events_by_task ON events (workspace_id, task_id);

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_attempt_at_ms INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    last_response TEXT,
    lease_owner TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    delivered_at_ms INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE status = 'pending';
  CREATE INDEX deliveries_by_status ON deliveries (status, id);
  CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
  CREATE INDEX deliveries_by_event ON deliveries (event_id);
  `,
  `
  ALTER TABLE tasks ADD COLUMN running_since_ms INTEGER;
  ALTER TABLE tasks ADD COLUMN profile TEXT;
  `,
  `
  CREATE INDEX events_by_time ON events (created_at_ms, id);
  `,
  `
  ALTER TABLE deliveries ADD COLUMN attempt_log TEXT;
  ALTER TABLE deliveries ADD COLUMN event_type TEXT;
  `,
  // Delivered rows, most of the table, leave the status index: each one cost three B-tree pages
  // written at random places (in as pending, out, in as delivered), the largest share of a finished
  // task's writes. Listing the delivered walks the table in key order instead, where they abound.
  `
  DROP INDEX deliveries_by_status;
  CREATE INDEX deliveries_unfinished ON deliveries (status, id) WHERE status <> 'delivered';
  `,
  // Events and deliveries become rowid tables: a row lands at the table's end instead of a random
  // leaf picked by its hash id, so the rows a commit writes share pages; only the id index is
  // written at random. An event's body (kilobytes) no longer splits random leaves. Reads in id order
  // (the delivered list of version 5 among them) now walk the id index rather than the table.
  `
  CREATE TABLE events_v6 (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  );
  INSERT INTO events_v6 (id, type, workspace_id, task_id, body, created_at_ms)
    SELECT id, type, workspace_id, task_id, body, created_at_ms FROM events ORDER BY created_at_ms, id;
  DROP TABLE events;
  ALTER TABLE events_v6 RENAME TO events;
  CREATE INDEX events_by_task ON events (workspace_id, task_id);
  CREATE INDEX events_by_time ON events (created_at_ms, id);

  CREATE TABLE deliveries_v6 (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_attempt_at_ms INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    last_response TEXT,
    lease_owner TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    delivered_at_ms INTEGER,
    attempt_log TEXT,
    event_type TEXT
  );
  INSERT INTO deliveries_v6 SELECT id, event_id, webhook_id, url, status, attempts, next_attempt_at_ms,
    last_attempt_at_ms, last_status_code, last_error, last_response, lease_owner, lease_until_ms,
    created_at_ms, delivered_at_ms, attempt_log, event_type FROM deliveries ORDER BY created_at_ms, id;
  DROP TABLE deliveries;
  ALTER TABLE deliveries_v6 RENAME TO deliveries;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE status = 'pending';
  CREATE INDEX deliveries_unfinished ON deliveries (status, id) WHERE status <> 'delivered';
  CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
  CREATE INDEX deliveries_by_event ON deliveries (event_id);
  `,
  // A finished task moved inside tasks_by_state: out of 'active', into 'done', two B-tree pages
  // written at random places. Finished tasks are most of the table; only the active stay indexed,
  // and listing the done walks the table in key order, where they abound.
  `
  DROP INDEX tasks_by_state;
  CREATE INDEX tasks_active ON tasks (workspace_id, task_id) WHERE state = 'active';
  `,
  // REAL, not INTEGER: a rate may be a fraction (0.5 a second). NULL, as every existing row gets,
  // means no limit, so webhooks registered before keep delivering as they did.
  `
  ALTER TABLE webhooks ADD COLUMN rate_limit_per_second REAL;
  `,
  // Lists are newest first, and every listing index is keyed by creation time: a new row's entry
  // goes at the index's end, on a page recent commits already wrote, instead of a page its hash id
  // picks. The unfinished and the active lose their own index (an entry in, an entry out, per row):
  // the due indexes hold exactly them already, and their lists are read there (see lists.ts). The
  // failing (dead, or retrying after a failed attempt) get an index, written only when an attempt
  // fails: "the latest failures" is one ordered read.
  `
  DROP INDEX deliveries_unfinished;
  DROP INDEX deliveries_by_webhook;
  CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at_ms, id);
  CREATE INDEX deliveries_by_time ON deliveries (created_at_ms, id);
  CREATE INDEX deliveries_failing ON deliveries (created_at_ms, id)
    WHERE (status = 'dead' OR (status = 'pending' AND attempts > 0
    AND (last_status_code IS NULL OR last_status_code NOT BETWEEN 200 AND 299)));
  DROP INDEX tasks_active;
  CREATE INDEX tasks_by_time ON tasks (registered_at_ms, workspace_id, task_id);
  `,
  // NULL, as every existing row gets, means the video's length is unknown: nothing else changes.
  `
  ALTER TABLE tasks ADD COLUMN video_duration_ms INTEGER;
  `,
  // NULL, as every existing row gets: the standard format, to the webhook's URL, as before.
  `
  ALTER TABLE webhooks ADD COLUMN format TEXT;
  ALTER TABLE webhooks ADD COLUMN event_bridge TEXT;
  `,
  // NULL, as every existing row gets: no part reported yet (a running task's finished parts are
  // reported at its next poll).
  `
  ALTER TABLE tasks ADD COLUMN progress_parts TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION in one IMMEDIATE transaction; refuses a newer database. */
export function migrate(db: Database.Database): void {
  if (Number(db.pragma("user_version", { simple: true })) === MIGRATIONS.length) return;
  // A migration may copy and sort whole tables: its temporary data goes to files as SQLite's
  // default has it, not to memory where the connection keeps its sub-journals (connection.ts).
  const tempStore = db.pragma("temp_store", { simple: true });
  db.pragma("temp_store = DEFAULT");
  try {
    migrateNow(db);
  } finally {
    db.pragma(`temp_store = ${Number(tempStore)}`);
  }
}

function migrateNow(db: Database.Database): void {
  const run = db.transaction(() => {
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > MIGRATIONS.length) {
      throw new Error(`the database is at schema version ${version}, newer than this relay (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  run.immediate();
}
