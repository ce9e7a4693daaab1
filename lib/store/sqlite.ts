/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode with a busy timeout, so several
 * processes can share one file. Claims are a single UPDATE … RETURNING inside an IMMEDIATE
 * transaction, and due work is found through partial indexes on the due time, so a claim reads
 * only due rows however many rows there are.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { JsonObject } from "../quanmiao/schema.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type {
  Claim,
  DeliveryRow,
  DeliveryStatus,
  DeliveryUpdate,
  DuePosition,
  EventRow,
  NewDelivery,
  Page,
  RegisterTaskInput,
  Store,
  TaskRow,
  TaskState,
  TaskUpdate,
  WebhookRow,
  WorkspaceRow,
} from "./store.js";

/** Versioned migrations: entry i brings the schema from version i to i + 1. Never edit one; append. */
const MIGRATIONS: readonly string[] = [
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The queries that find due work. INDEXED BY pins each to its partial index: without statistics
 * the planner may prefer another index and scan every active row; with it, SQLite refuses to run
 * rather than scan.
 */
export const DUE_WORK_SQL = {
  dueTasks: `SELECT workspace_id, task_id FROM tasks INDEXED BY tasks_due
    WHERE state = 'active' AND next_poll_at_ms <= ? AND lease_until_ms <= ?
    ORDER BY next_poll_at_ms LIMIT ?`,
  dueDeliveries: `SELECT id FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' AND next_attempt_at_ms <= ? AND lease_until_ms <= ?`,
  dueDeliveryPage: `SELECT id, next_attempt_at_ms FROM deliveries INDEXED BY deliveries_due
    WHERE status = 'pending' AND next_attempt_at_ms <= ? AND lease_until_ms <= ?
      AND (next_attempt_at_ms > ? OR (next_attempt_at_ms = ? AND id > ?))
    ORDER BY next_attempt_at_ms, id LIMIT ?`,
  queueHead: `SELECT * FROM tasks INDEXED BY tasks_queue WHERE state = 'active' AND workspace_id = ?
    ORDER BY submitted_at_ms, task_id LIMIT ?`,
  queuedAhead: `SELECT task_id FROM tasks INDEXED BY tasks_queue
    WHERE state = 'active' AND workspace_id = ? AND submitted_at_ms <= ? LIMIT ?`,
} as const;

type Row = Record<string, unknown>;

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function toTask(r: Row): TaskRow {
  return {
    workspaceId: String(r.workspace_id),
    taskId: String(r.task_id),
    state: r.state as TaskState,
    status: str(r.status),
    submittedAtMs: Number(r.submitted_at_ms),
    registeredAtMs: Number(r.registered_at_ms),
    nextPollAtMs: Number(r.next_poll_at_ms),
    pollCount: Number(r.poll_count),
    pollsInStatus: Number(r.polls_in_status),
    lastPolledAtMs: num(r.last_polled_at_ms),
    lastError: str(r.last_error),
    leaseOwner: str(r.lease_owner),
    leaseUntilMs: Number(r.lease_until_ms),
    webhookUrls: JSON.parse(String(r.webhook_urls)) as string[],
    metadata: JSON.parse(String(r.metadata)) as JsonObject,
    terminalAtMs: num(r.terminal_at_ms),
    runningSinceMs: num(r.running_since_ms),
    profile: str(r.profile),
  };
}

function toWorkspace(r: Row): WorkspaceRow {
  return {
    workspaceId: String(r.workspace_id),
    asyncConcurrency: num(r.async_concurrency),
    concurrencyFetchedAtMs: num(r.concurrency_fetched_at_ms),
    backoffUntilMs: Number(r.backoff_until_ms),
    authFailures: Number(r.auth_failures),
    lastError: str(r.last_error),
  };
}

function toWebhook(r: Row): WebhookRow {
  return {
    id: String(r.id),
    url: String(r.url),
    secrets: JSON.parse(String(r.secrets)),
    events: r.events === null ? undefined : (JSON.parse(String(r.events)) as string[]),
    workspaceId: str(r.workspace_id),
    headers: JSON.parse(String(r.headers)),
    enabled: Number(r.enabled) === 1,
    disabledReason: str(r.disabled_reason),
    failingSinceMs: num(r.failing_since_ms),
    createdAtMs: Number(r.created_at_ms),
  };
}

function toEvent(r: Row): EventRow {
  return {
    id: String(r.id),
    type: String(r.type),
    workspaceId: String(r.workspace_id),
    taskId: String(r.task_id),
    body: String(r.body),
    createdAtMs: Number(r.created_at_ms),
  };
}

function toDelivery(r: Row): DeliveryRow {
  return {
    id: String(r.id),
    eventId: String(r.event_id),
    webhookId: String(r.webhook_id),
    url: String(r.url),
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAtMs: Number(r.next_attempt_at_ms),
    lastAttemptAtMs: num(r.last_attempt_at_ms),
    lastStatusCode: num(r.last_status_code),
    lastError: str(r.last_error),
    lastResponse: str(r.last_response),
    leaseOwner: str(r.lease_owner),
    leaseUntilMs: Number(r.lease_until_ms),
    createdAtMs: Number(r.created_at_ms),
    deliveredAtMs: num(r.delivered_at_ms),
  };
}

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per distinct SQL text: compiling a statement costs more than running it. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private migrate(): void {
    const run = this.db.transaction(() => {
      const version = Number(this.db.pragma("user_version", { simple: true }));
      if (version > MIGRATIONS.length) {
        throw new Error(`the database is at schema version ${version}, newer than this relay (${MIGRATIONS.length})`);
      }
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v] as string);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    });
    run.immediate();
  }

  // ── tasks ────────────────────────────────────────────────────────────────

  async registerTask(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    const run = this.db.transaction(() => {
      const existing = this.stmt("SELECT * FROM tasks WHERE workspace_id = ? AND task_id = ?").get(
        input.workspaceId,
        input.taskId,
      ) as Row | undefined;
      if (existing) {
        const task = toTask(existing);
        const added = (input.webhookUrls ?? []).filter((u) => !task.webhookUrls.includes(u));
        if (added.length === 0) return { task, created: false };
        const webhookUrls = [...task.webhookUrls, ...added];
        this.stmt("UPDATE tasks SET webhook_urls = ? WHERE workspace_id = ? AND task_id = ?").run(
          JSON.stringify(webhookUrls),
          input.workspaceId,
          input.taskId,
        );
        return { task: { ...task, webhookUrls }, created: false };
      }
      this.stmt(
        `INSERT INTO tasks (workspace_id, task_id, state, submitted_at_ms, registered_at_ms, next_poll_at_ms,
             webhook_urls, metadata, profile)
           VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
      ).run(
        input.workspaceId,
        input.taskId,
        input.submittedAtMs ?? nowMs,
        nowMs,
        input.firstPollAtMs ?? nowMs,
        JSON.stringify([...new Set(input.webhookUrls ?? [])]),
        JSON.stringify(input.metadata ?? {}),
        input.profile ?? null,
      );
      const task = toTask(
        this.stmt("SELECT * FROM tasks WHERE workspace_id = ? AND task_id = ?").get(
          input.workspaceId,
          input.taskId,
        ) as Row,
      );
      return { task, created: true };
    });
    return run.immediate();
  }

  async getTask(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    const r = this.stmt("SELECT * FROM tasks WHERE workspace_id = ? AND task_id = ?").get(workspaceId, taskId);
    return r ? toTask(r as Row) : undefined;
  }

  async listTasks(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) where.push("state = ?") && args.push(filter.state);
    if (filter.status) where.push("status = ?") && args.push(filter.status);
    if (filter.workspaceId) where.push("workspace_id = ?") && args.push(filter.workspaceId);
    const after = decodeCursor(filter.cursor, 2);
    if (after) where.push("(workspace_id, task_id) > (?, ?)") && args.push(...after);
    const rows = this.stmt(
      `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY workspace_id, task_id LIMIT ?`,
    ).all(...args, filter.limit + 1) as Row[];
    const items = rows.slice(0, filter.limit).map(toTask);
    const last = items[items.length - 1];
    return {
      items,
      cursor: rows.length > filter.limit && last ? encodeCursor([last.workspaceId, last.taskId]) : undefined,
    };
  }

  async claimDueTasks(claim: Claim): Promise<TaskRow[]> {
    const rows = this.stmt(
      `UPDATE tasks SET lease_owner = ?, lease_until_ms = ?
         WHERE (workspace_id, task_id) IN (${DUE_WORK_SQL.dueTasks})
         RETURNING *`,
    ).all(claim.owner, claim.nowMs + claim.leaseMs, claim.nowMs, claim.nowMs, claim.limit) as Row[];
    return rows.map(toTask).sort((a, b) => a.nextPollAtMs - b.nextPollAtMs);
  }

  async oldestActiveTasks(workspaceId: string, limit: number): Promise<TaskRow[]> {
    return (this.stmt(DUE_WORK_SQL.queueHead).all(workspaceId, limit) as Row[]).map(toTask);
  }

  async countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    // At most `limit` (a workspace's concurrency) rows: counted here rather than in a subquery.
    return this.stmt(DUE_WORK_SQL.queuedAhead).all(workspaceId, submittedAtMs, limit).length;
  }

  async pollSooner(workspaceId: string, taskId: string, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    const result = this.stmt(
      `UPDATE tasks SET next_poll_at_ms = ?
         WHERE workspace_id = ? AND task_id = ? AND state = 'active' AND next_poll_at_ms > ? AND lease_until_ms <= ?`,
    ).run(nextPollAtMs, workspaceId, taskId, nextPollAtMs, nowMs);
    return result.changes === 1;
  }

  async updateTask(claimed: TaskRow, owner: string, u: TaskUpdate): Promise<boolean> {
    const { workspaceId, taskId } = claimed;
    const result = this.stmt(
      `UPDATE tasks SET status = COALESCE(?, status), state = COALESCE(?, state), next_poll_at_ms = ?,
           poll_count = ?, polls_in_status = ?, last_polled_at_ms = COALESCE(?, last_polled_at_ms),
           last_error = ?, terminal_at_ms = COALESCE(?, terminal_at_ms),
           running_since_ms = COALESCE(?, running_since_ms), lease_owner = NULL, lease_until_ms = 0
         WHERE workspace_id = ? AND task_id = ? AND lease_owner = ?`,
    ).run(
      u.status ?? null,
      u.state ?? null,
      u.nextPollAtMs,
      u.pollCount,
      u.pollsInStatus,
      u.lastPolledAtMs ?? null,
      u.lastError ?? null,
      u.terminalAtMs ?? null,
      u.runningSinceMs ?? null,
      workspaceId,
      taskId,
      owner,
    );
    return result.changes === 1;
  }

  async releaseTask(claimed: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    const { workspaceId, taskId } = claimed;
    const result = this.stmt(
      `UPDATE tasks SET next_poll_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
         WHERE workspace_id = ? AND task_id = ? AND lease_owner = ?`,
    ).run(nextPollAtMs, workspaceId, taskId, owner);
    return result.changes === 1;
  }

  // ── workspaces ───────────────────────────────────────────────────────────

  async getWorkspace(workspaceId: string): Promise<WorkspaceRow | undefined> {
    const r = this.stmt("SELECT * FROM workspaces WHERE workspace_id = ?").get(workspaceId);
    return r ? toWorkspace(r as Row) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRow[]> {
    return (this.stmt("SELECT * FROM workspaces ORDER BY workspace_id").all() as Row[]).map(toWorkspace);
  }

  async putWorkspace(w: WorkspaceRow): Promise<void> {
    this.stmt(
      `INSERT INTO workspaces (workspace_id, async_concurrency, concurrency_fetched_at_ms, backoff_until_ms,
           auth_failures, last_error) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace_id) DO UPDATE SET async_concurrency = excluded.async_concurrency,
           concurrency_fetched_at_ms = excluded.concurrency_fetched_at_ms, backoff_until_ms = excluded.backoff_until_ms,
           auth_failures = excluded.auth_failures, last_error = excluded.last_error`,
    ).run(
      w.workspaceId,
      w.asyncConcurrency ?? null,
      w.concurrencyFetchedAtMs ?? null,
      w.backoffUntilMs,
      w.authFailures,
      w.lastError ?? null,
    );
  }

  // ── webhooks ─────────────────────────────────────────────────────────────

  private webhookArgs(w: WebhookRow): unknown[] {
    return [
      w.url,
      JSON.stringify(w.secrets),
      w.events === undefined ? null : JSON.stringify(w.events),
      w.workspaceId ?? null,
      JSON.stringify(w.headers),
      w.enabled ? 1 : 0,
      w.disabledReason ?? null,
      w.failingSinceMs ?? null,
      w.createdAtMs,
    ];
  }

  async createWebhook(w: WebhookRow): Promise<void> {
    this.stmt(
      `INSERT INTO webhooks (url, secrets, events, workspace_id, headers, enabled, disabled_reason,
           failing_since_ms, created_at_ms, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...this.webhookArgs(w), w.id);
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const r = this.stmt("SELECT * FROM webhooks WHERE id = ?").get(id);
    return r ? toWebhook(r as Row) : undefined;
  }

  async listWebhooks(): Promise<WebhookRow[]> {
    return (this.stmt("SELECT * FROM webhooks ORDER BY created_at_ms, id").all() as Row[]).map(toWebhook);
  }

  async updateWebhook(w: WebhookRow): Promise<boolean> {
    const result = this.stmt(
      `UPDATE webhooks SET url = ?, secrets = ?, events = ?, workspace_id = ?, headers = ?, enabled = ?,
           disabled_reason = ?, failing_since_ms = ?, created_at_ms = ? WHERE id = ?`,
    ).run(...this.webhookArgs(w), w.id);
    return result.changes === 1;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.stmt("DELETE FROM webhooks WHERE id = ?").run(id).changes === 1;
  }

  // ── settings ─────────────────────────────────────────────────────────────

  async getSetting(key: string): Promise<string | undefined> {
    const r = this.stmt("SELECT value FROM settings WHERE key = ?").get(key) as Row | undefined;
    return r ? String(r.value) : undefined;
  }

  async compareAndSetSetting(key: string, expected: string | undefined, value: string): Promise<boolean> {
    const result =
      expected === undefined
        ? this.stmt("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING").run(key, value)
        : this.stmt("UPDATE settings SET value = ? WHERE key = ? AND value = ?").run(value, key, expected);
    return result.changes === 1;
  }

  // ── events and deliveries ────────────────────────────────────────────────

  async createEvent(e: EventRow): Promise<{ event: EventRow; created: boolean }> {
    const created =
      this.stmt(
        `INSERT INTO events (id, type, workspace_id, task_id, body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO NOTHING`,
      ).run(e.id, e.type, e.workspaceId, e.taskId, e.body, e.createdAtMs).changes === 1;
    return {
      event: created ? e : toEvent(this.stmt("SELECT * FROM events WHERE id = ?").get(e.id) as Row),
      created,
    };
  }

  async getEvent(id: string): Promise<EventRow | undefined> {
    const r = this.stmt("SELECT * FROM events WHERE id = ?").get(id);
    return r ? toEvent(r as Row) : undefined;
  }

  async listEventsForTask(workspaceId: string, taskId: string): Promise<EventRow[]> {
    return (
      this.stmt("SELECT * FROM events WHERE workspace_id = ? AND task_id = ? ORDER BY created_at_ms, id").all(
        workspaceId,
        taskId,
      ) as Row[]
    ).map(toEvent);
  }

  async createDeliveries(rows: readonly NewDelivery[]): Promise<string[]> {
    const insert = this.stmt(
      `INSERT INTO deliveries (id, event_id, webhook_id, url, status, next_attempt_at_ms, created_at_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    const run = this.db.transaction(() =>
      rows.filter(
        (d) => insert.run(d.id, d.eventId, d.webhookId, d.url, d.nextAttemptAtMs, d.createdAtMs).changes === 1,
      ),
    );
    return run.immediate().map((d) => d.id);
  }

  async getDelivery(id: string): Promise<DeliveryRow | undefined> {
    const r = this.stmt("SELECT * FROM deliveries WHERE id = ?").get(id);
    return r ? toDelivery(r as Row) : undefined;
  }

  async listDeliveries(filter: {
    status?: DeliveryStatus;
    webhookId?: string;
    eventId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<DeliveryRow>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) where.push("status = ?") && args.push(filter.status);
    if (filter.webhookId) where.push("webhook_id = ?") && args.push(filter.webhookId);
    if (filter.eventId) where.push("event_id = ?") && args.push(filter.eventId);
    const after = decodeCursor(filter.cursor, 1);
    if (after) where.push("id > ?") && args.push(after[0]);
    const rows = this.stmt(
      `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`,
    ).all(...args, filter.limit + 1) as Row[];
    const items = rows.slice(0, filter.limit).map(toDelivery);
    const last = items[items.length - 1];
    return { items, cursor: rows.length > filter.limit && last ? encodeCursor([last.id]) : undefined };
  }

  async dueDeliveries(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]> {
    const rows = this.stmt(DUE_WORK_SQL.dueDeliveryPage).all(
      nowMs,
      nowMs,
      after?.dueMs ?? -1,
      after?.dueMs ?? -1,
      after?.id ?? "",
      limit,
    ) as Row[];
    return rows.map((r) => ({ id: String(r.id), dueMs: Number(r.next_attempt_at_ms) }));
  }

  async claimDueDeliveries(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    const only = claim.ids ? `AND id IN (SELECT value FROM json_each(?))` : "";
    const rows = this.stmt(
      `UPDATE deliveries SET lease_owner = ?, lease_until_ms = ?
         WHERE id IN (${DUE_WORK_SQL.dueDeliveries} ${only} ORDER BY next_attempt_at_ms LIMIT ?)
         RETURNING *`,
    ).all(
      claim.owner,
      claim.nowMs + claim.leaseMs,
      claim.nowMs,
      claim.nowMs,
      ...(claim.ids ? [JSON.stringify(claim.ids)] : []),
      claim.limit,
    ) as Row[];
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
  }

  async updateDelivery(claimed: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    const { id } = claimed;
    const result = this.stmt(
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at_ms = ?, last_attempt_at_ms = ?,
           last_status_code = ?, last_error = ?, last_response = ?, delivered_at_ms = COALESCE(?, delivered_at_ms),
           lease_owner = NULL, lease_until_ms = 0
         WHERE id = ? AND lease_owner = ?`,
    ).run(
      u.status,
      u.attempts,
      u.nextAttemptAtMs,
      u.lastAttemptAtMs,
      u.lastStatusCode ?? null,
      u.lastError ?? null,
      u.lastResponse ?? null,
      u.deliveredAtMs ?? null,
      id,
      owner,
    );
    return result.changes === 1;
  }

  async replayDelivery(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    const r = this.stmt(
      `UPDATE deliveries SET status = 'pending', next_attempt_at_ms = ?, lease_owner = NULL, lease_until_ms = 0
         WHERE id = ? RETURNING *`,
    ).get(nowMs, id);
    return r ? toDelivery(r as Row) : undefined;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
