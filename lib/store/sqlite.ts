/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode with a busy timeout, so several
 * processes can share one file. Claims are a single UPDATE … RETURNING inside an IMMEDIATE
 * transaction, and due work is found through partial indexes on the due time, so a claim reads
 * only due rows however many rows there are.
 *
 * How a file is opened is in sqlite/connection.ts, the schema in sqlite/migrations.ts, each record's columns in sqlite/codecs.ts, the SQL
 * shared by several operations in sqlite/queries.ts, and the newest-first lists in sqlite/lists.ts.
 */
import type Database from "better-sqlite3";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  newDeliveryValues,
  type Row,
  toDelivery,
  toEvent,
  toTask,
  toWebhook,
  toWorkspace,
  values,
  WEBHOOK,
  WORKSPACE,
} from "./sqlite/codecs.js";
import { openDatabase } from "./sqlite/connection.js";
import { eraseTask, purgeBefore } from "./sqlite/erase.js";
import { GroupCommit } from "./sqlite/group-commit.js";
import * as lists from "./sqlite/lists.js";
import { migrate, SCHEMA_VERSION } from "./sqlite/migrations.js";
import { DUE_WORK_SQL, SQL, WRITE_SQL } from "./sqlite/queries.js";
import { SqliteSettings } from "./sqlite/settings.js";
import type {
  Claim,
  DeliveryFilter,
  DeliveryRow,
  DeliveryUpdate,
  DuePosition,
  EventRow,
  NewDelivery,
  Page,
  RegisterTaskInput,
  Store,
  TaskDue,
  TaskRow,
  TaskState,
  TaskUpdate,
  WebhookRow,
  WorkspaceRow,
} from "./store.js";

export { DUE_WORK_SQL, SCHEMA_VERSION };

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.db = openDatabase(path, options);
    migrate(this.db);
    this.group = new GroupCommit(this.db);
  }

  /** Every write goes through the group: see sqlite/group-commit.ts. */
  private readonly group: GroupCommit;

  /** One write statement, in the group; resolves to the rows it changed once they are committed. */
  private changes(sql: string, ...params: unknown[]): Promise<number> {
    return this.group.writeOne(() => this.stmt(sql).run(...params).changes);
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

  // ── tasks ────────────────────────────────────────────────────────────────

  async registerTask(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    return this.group.write(() => {
      const existing = this.stmt(SQL.taskByKey).get(input.workspaceId, input.taskId) as Row | undefined;
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
      this.stmt(WRITE_SQL.insertTask).run(
        input.workspaceId,
        input.taskId,
        input.submittedAtMs ?? nowMs,
        nowMs,
        input.firstPollAtMs ?? nowMs,
        JSON.stringify([...new Set(input.webhookUrls ?? [])]),
        JSON.stringify(input.metadata ?? {}),
        input.profile ?? null,
        input.videoDurationMs ?? null,
        input.runningSinceMs ?? null,
      );
      const task = toTask(this.stmt(SQL.taskByKey).get(input.workspaceId, input.taskId) as Row);
      return { task, created: true };
    });
  }

  async getTask(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    const r = this.stmt(SQL.taskByKey).get(workspaceId, taskId);
    return r ? toTask(r as Row) : undefined;
  }

  async listTasks(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    return lists.listTasks((sql) => this.stmt(sql), filter);
  }

  async claimDueTasks(claim: Claim): Promise<TaskRow[]> {
    const rows = await this.group.writeOne(
      () =>
        this.stmt(
          `UPDATE tasks SET lease_owner = ?, lease_until_ms = ?
         WHERE (workspace_id, task_id) IN (${DUE_WORK_SQL.dueTasks})
         RETURNING *`,
        ).all(claim.owner, claim.nowMs + claim.leaseMs, claim.nowMs, claim.nowMs, claim.limit) as Row[],
    );
    return rows.map(toTask).sort((a, b) => a.nextPollAtMs - b.nextPollAtMs);
  }

  async oldestActiveTasks(workspaceId: string, limit: number): Promise<TaskRow[]> {
    return (this.stmt(DUE_WORK_SQL.queueHead).all(workspaceId, limit) as Row[]).map(toTask);
  }

  async countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    // At most `limit` (a workspace's concurrency) rows: counted here rather than in a subquery.
    return this.stmt(DUE_WORK_SQL.queuedAhead).all(workspaceId, submittedAtMs, limit).length;
  }

  async pollSooner(task: TaskDue, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    if (task.nextPollAtMs <= nextPollAtMs) return false;
    const changed = await this.changes(
      WRITE_SQL.pollSooner,
      nextPollAtMs,
      task.workspaceId,
      task.taskId,
      task.nextPollAtMs,
      nowMs,
    );
    return changed === 1;
  }

  async updateTask(claimed: TaskRow, owner: string, u: TaskUpdate): Promise<boolean> {
    const { workspaceId, taskId } = claimed;
    const changed = await this.changes(
      WRITE_SQL.finishPoll,
      u.status ?? null,
      u.state ?? null,
      u.nextPollAtMs,
      u.pollCount,
      u.pollsInStatus,
      u.lastPolledAtMs ?? null,
      u.lastError ?? null,
      u.terminalAtMs ?? null,
      u.runningSinceMs ?? null,
      u.progressParts === undefined ? null : JSON.stringify(u.progressParts),
      workspaceId,
      taskId,
      owner,
    );
    return changed === 1;
  }

  async releaseTask(claimed: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    const { workspaceId, taskId } = claimed;
    const changed = await this.changes(WRITE_SQL.releaseTask, nextPollAtMs, workspaceId, taskId, owner);
    return changed === 1;
  }

  // ── workspaces ───────────────────────────────────────────────────────────

  async getWorkspace(workspaceId: string): Promise<WorkspaceRow | undefined> {
    const r = this.stmt(SQL.workspaceById).get(workspaceId);
    return r ? toWorkspace(r as Row) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRow[]> {
    return (this.stmt(SQL.allWorkspaces).all() as Row[]).map(toWorkspace);
  }

  async putWorkspace(w: WorkspaceRow): Promise<void> {
    await this.changes(SQL.upsertWorkspace, ...values(WORKSPACE, w));
  }

  // ── webhooks ─────────────────────────────────────────────────────────────

  async createWebhook(w: WebhookRow): Promise<void> {
    await this.changes(SQL.insertWebhook, ...values(WEBHOOK, w));
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const r = this.stmt(SQL.webhookById).get(id);
    return r ? toWebhook(r as Row) : undefined;
  }

  async listWebhooks(): Promise<WebhookRow[]> {
    return (this.stmt(SQL.allWebhooks).all() as Row[]).map(toWebhook);
  }

  async updateWebhook(w: WebhookRow): Promise<boolean> {
    return (await this.changes(SQL.updateWebhook, ...values(WEBHOOK, w), w.id)) === 1;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return (await this.changes("DELETE FROM webhooks WHERE id = ?", id)) === 1;
  }

  // ── settings (sqlite/settings.ts) ───────────────────────────────────────

  private readonly settings = new SqliteSettings(
    (sql) => this.stmt(sql),
    (sql, ...params) => this.changes(sql, ...params),
  );
  getSetting(key: string): Promise<string | undefined> {
    return this.settings.get(key);
  }
  compareAndSetSetting(key: string, expected: string | undefined, value: string): Promise<boolean> {
    return this.settings.compareAndSet(key, expected, value);
  }
  listSettings(fromKey: string, toKey: string, limit: number): Promise<Array<{ key: string; value: string }>> {
    return this.settings.list(fromKey, toKey, limit);
  }
  deleteSetting(key: string, expected: string): Promise<boolean> {
    return this.settings.delete(key, expected);
  }

  // ── events and deliveries ────────────────────────────────────────────────

  async createEvent(e: EventRow): Promise<{ event: EventRow; created: boolean }> {
    return this.group.writeOne(() => this.insertEvent(e));
  }

  /** One insert; the read after it only runs when the insert changed nothing. */
  private insertEvent(e: EventRow): { event: EventRow; created: boolean } {
    const created =
      this.stmt(WRITE_SQL.insertEvent).run(e.id, e.type, e.workspaceId, e.taskId, e.body, e.createdAtMs).changes === 1;
    return { event: created ? e : toEvent(this.stmt(SQL.eventById).get(e.id) as Row), created };
  }

  /** The deliveries of `rows` that were absent, inserted; their ids. */
  private insertDeliveries(rows: readonly NewDelivery[]): string[] {
    const insert = this.stmt(WRITE_SQL.insertDelivery);
    const created: string[] = [];
    for (const d of rows) if (insert.run(...newDeliveryValues(d)).changes === 1) created.push(d.id);
    return created;
  }

  async createEventWithDeliveries(
    e: EventRow,
    rows: readonly NewDelivery[],
  ): Promise<{ event: EventRow; created: boolean; deliveryIds: string[] }> {
    // One write: the task's end costs one place in a commit, not two, and a failure undoes both.
    return this.group.write(() => {
      const { event, created } = this.insertEvent(e);
      return { event, created, deliveryIds: this.insertDeliveries(rows) };
    });
  }

  async getEvent(id: string): Promise<EventRow | undefined> {
    const r = this.stmt(SQL.eventById).get(id);
    return r ? toEvent(r as Row) : undefined;
  }

  async listEventsForTask(workspaceId: string, taskId: string): Promise<EventRow[]> {
    return (this.stmt(SQL.eventsOfTask).all(workspaceId, taskId) as Row[]).map(toEvent);
  }

  async listEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>> {
    const [atMs, id] = decodeCursor(filter.cursor, 2) ?? ["-1", ""];
    const rows = this.stmt(SQL.eventsInOrder).all(filter.sinceMs ?? 0, Number(atMs), id, filter.limit + 1) as Row[];
    const items = rows.slice(0, filter.limit).map(toEvent);
    const last = items[items.length - 1];
    return {
      items,
      cursor: rows.length > filter.limit && last ? encodeCursor([String(last.createdAtMs), last.id]) : undefined,
    };
  }

  async listRecentEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>> {
    return lists.listRecentEvents((sql) => this.stmt(sql), filter);
  }

  async createDeliveries(rows: readonly NewDelivery[]): Promise<string[]> {
    return this.group.write(() => this.insertDeliveries(rows));
  }

  async getDelivery(id: string): Promise<DeliveryRow | undefined> {
    const r = this.stmt(SQL.deliveryById).get(id);
    return r ? toDelivery(r as Row) : undefined;
  }

  async listDeliveries(filter: DeliveryFilter): Promise<Page<DeliveryRow>> {
    return lists.listDeliveries((sql) => this.stmt(sql), filter);
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

  async pendingDeliveries(nowMs: number, limit: number): Promise<{ count: number; oldestDueMs: number | undefined }> {
    const { n } = this.stmt(SQL.pendingCount).get(limit) as { n: number };
    const { at } = this.stmt(SQL.oldestPending).get(nowMs) as { at: number | null };
    return { count: Number(n), oldestDueMs: at ?? undefined };
  }

  async purgeBefore(beforeMs: number, limit: number): Promise<{ events: number; deliveries: number }> {
    return this.group.write(() => purgeBefore(this.db, (sql) => this.stmt(sql), beforeMs, limit));
  }

  async eraseTask(workspaceId: string, taskId: string): Promise<boolean> {
    return this.group.write(() => eraseTask(this.db, (sql) => this.stmt(sql), workspaceId, taskId));
  }

  async claimDueDeliveries(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    const only = claim.ids ? `AND id IN (SELECT value FROM json_each(?))` : "";
    const rows = await this.group.writeOne(
      () =>
        this.stmt(
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
        ) as Row[],
    );
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
  }

  async updateDelivery(claimed: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    const { id } = claimed;
    const changed = await this.changes(
      WRITE_SQL.finishAttempt,
      u.status,
      u.attempts,
      u.nextAttemptAtMs,
      u.lastAttemptAtMs,
      u.lastStatusCode ?? null,
      u.lastError ?? null,
      u.lastResponse ?? null,
      u.deliveredAtMs ?? null,
      u.attemptLog === undefined ? null : JSON.stringify(u.attemptLog),
      id,
      owner,
    );
    return changed === 1;
  }

  async releaseDelivery(claimed: DeliveryRow, owner: string, nextAttemptAtMs: number): Promise<boolean> {
    return (await this.changes(WRITE_SQL.releaseDelivery, nextAttemptAtMs, claimed.id, owner)) === 1;
  }

  async replayDelivery(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    const r = await this.group.writeOne(() => this.stmt(WRITE_SQL.replayDelivery).get(nowMs, id));
    return r ? toDelivery(r as Row) : undefined;
  }

  async close(): Promise<void> {
    this.group.flush();
    this.db.close();
  }
}
