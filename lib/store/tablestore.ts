/**
 * The production store on Tablestore (FC instances have no durable disk).
 *
 * Tables (primary key → columns):
 *   relay_tasks            (ws, task)                    → the task row (S.TaskRow's fields)
 *   relay_task_due         (shard, due_at, ws, task)     → index of active tasks by next_poll_at (sharded: shards.ts)
 *   relay_task_queue       (ws, submitted_at, task)      → index of active tasks in submission order
 *   relay_task_events      (ws, task, event_id)          → which events a task has
 *   relay_workspaces       (ws)                          → S.WorkspaceRow
 *   relay_webhooks         (id)                          → S.WebhookRow
 *   relay_settings         (key)                         → value
 *   relay_events           (id)                          → the event, its body in ≤ 1.5 MB chunks
 *   relay_deliveries       (id)                          → S.DeliveryRow
 *   relay_delivery_due     (shard, due_at, id)           → index of pending deliveries by next_attempt_at (sharded)
 *   relay_task_time        (shard, registered_at, ws, task) → every task by registration (the newest-first list)
 *   relay_event_time       (shard, created_at, id)       → every event by creation
 *   relay_delivery_time    (shard, created_at, id)       → every delivery by creation
 *   relay_delivery_failing (shard, created_at, id)       → the dead, and the retrying after a failed attempt
 *   relay_delivery_by_event   (event_id, id)   and   relay_delivery_by_webhook_time (webhook_id, created_at, id)
 *
 * Lists are newest first, read backward through the time indexes (tablestore/newest.ts); those
 * entries are written at the end of their index, never at a place a hash id picks.
 *
 * Due work in O(due): a claim reads the due index from the start up to now (GetRange), then takes
 * each candidate with a conditional UpdateRow on the row itself: active/pending, due at exactly the
 * indexed time, and `lease_until <= now`. Only one claimer's update can pass, so claims are exclusive.
 * Creates are PutRow with EXPECT_NOT_EXIST. Index rows are written before or after their row without
 * a transaction; a crash in between leaves an index entry that disagrees with its row, which the
 * next reader that meets it repairs (re-index at the row's real time, or delete it).
 *
 * Integers are Int64 (a JS number would be a DOUBLE column). Every request is retried (503, 409,
 * 5xx, network) a bounded number of times, and has a timeout.
 *
 * This module is the Store; each record's operations live in tablestore/: client.ts (the
 * operations and the retries), wire/ (the relay's own protocol client: protobuf, PlainBuffer,
 * signing — the official SDK is only the tests' oracle), schema.ts (tables, creating them), codecs.ts (columns and keys), tasks.ts,
 * deliveries.ts, events.ts, webhooks.ts (webhooks, workspaces, settings).
 */
import type * as S from "./store.js";
import { backfillTimeIndexes } from "./tablestore/backfill.js";
import { TablestoreClient, type TablestoreStoreOptions } from "./tablestore/client.js";
import { DeliveryTable } from "./tablestore/deliveries.js";
import { Eraser } from "./tablestore/erase.js";
import { EventTable } from "./tablestore/events.js";
import { createMissingTables } from "./tablestore/schema.js";
import { DEFAULT_DUE_SHARDS, DueShards } from "./tablestore/shards.js";
import { TaskTable } from "./tablestore/tasks.js";
import { SettingTable, WebhookTable, WorkspaceTable } from "./tablestore/webhooks.js";

export type { TablestoreStoreOptions } from "./tablestore/client.js";
export { TABLES } from "./tablestore/schema.js";

export class TablestoreStore implements S.Store {
  private readonly db: TablestoreClient;
  private readonly tasks: TaskTable;
  private readonly deliveries: DeliveryTable;
  private readonly events: EventTable;
  private readonly webhooks: WebhookTable;
  private readonly workspaces: WorkspaceTable;
  private readonly settings: SettingTable;
  private readonly eraser: Eraser;

  constructor(options: TablestoreStoreOptions) {
    this.db = new TablestoreClient(options);
    this.settings = new SettingTable(this.db);
    const shards = new DueShards(options.dueShards ?? DEFAULT_DUE_SHARDS, this.settings, options.random);
    this.tasks = new TaskTable(this.db, shards);
    this.deliveries = new DeliveryTable(this.db, shards);
    this.events = new EventTable(this.db);
    this.webhooks = new WebhookTable(this.db);
    this.workspaces = new WorkspaceTable(this.db);
    this.eraser = new Eraser(this.db, shards);
  }

  registerTask(input: S.RegisterTaskInput, nowMs: number): Promise<{ task: S.TaskRow; created: boolean }> {
    return this.tasks.register(input, nowMs);
  }
  getTask(workspaceId: string, taskId: string): Promise<S.TaskRow | undefined> {
    return this.tasks.get(workspaceId, taskId);
  }
  listTasks(filter: {
    state?: S.TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<S.Page<S.TaskRow>> {
    return this.tasks.list(filter);
  }
  claimDueTasks(claim: S.Claim): Promise<S.TaskRow[]> {
    return this.tasks.claimDue(claim);
  }
  countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    return this.tasks.countQueuedAhead(workspaceId, submittedAtMs, limit);
  }
  oldestActiveTasks(workspaceId: string, limit: number): Promise<S.TaskRow[]> {
    return this.tasks.oldestActive(workspaceId, limit);
  }
  pollSooner(task: S.TaskDue, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    return this.tasks.pollSooner(task, nextPollAtMs, nowMs);
  }
  updateTask(t: S.TaskRow, owner: string, u: S.TaskUpdate): Promise<boolean> {
    return this.tasks.update(t, owner, u);
  }
  releaseTask(t: S.TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    return this.tasks.release(t, owner, nextPollAtMs);
  }

  getWorkspace(workspaceId: string): Promise<S.WorkspaceRow | undefined> {
    return this.workspaces.get(workspaceId);
  }
  listWorkspaces(): Promise<S.WorkspaceRow[]> {
    return this.workspaces.list();
  }
  putWorkspace(w: S.WorkspaceRow): Promise<void> {
    return this.workspaces.put(w);
  }

  createWebhook(w: S.WebhookRow): Promise<void> {
    return this.webhooks.create(w);
  }
  getWebhook(id: string): Promise<S.WebhookRow | undefined> {
    return this.webhooks.get(id);
  }
  listWebhooks(): Promise<S.WebhookRow[]> {
    return this.webhooks.list();
  }
  updateWebhook(w: S.WebhookRow): Promise<boolean> {
    return this.webhooks.update(w);
  }
  deleteWebhook(id: string): Promise<boolean> {
    return this.webhooks.delete(id);
  }

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

  createEvent(e: S.EventRow): Promise<{ event: S.EventRow; created: boolean }> {
    return this.events.create(e);
  }
  getEvent(id: string): Promise<S.EventRow | undefined> {
    return this.events.get(id);
  }
  listEventsForTask(workspaceId: string, taskId: string): Promise<S.EventRow[]> {
    return this.events.listForTask(workspaceId, taskId);
  }

  listEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<S.Page<S.EventRow>> {
    return this.events.list(filter);
  }
  listRecentEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<S.Page<S.EventRow>> {
    return this.events.recent(filter);
  }

  createDeliveries(rows: readonly S.NewDelivery[]): Promise<string[]> {
    return this.deliveries.create(rows);
  }
  async createEventWithDeliveries(
    e: S.EventRow,
    rows: readonly S.NewDelivery[],
  ): Promise<{ event: S.EventRow; created: boolean; deliveryIds: string[] }> {
    // One after the other: a batch holding both could store a delivery whose event failed.
    const { event, created } = await this.events.create(e);
    return { event, created, deliveryIds: rows.length > 0 ? await this.deliveries.create(rows) : [] };
  }
  getDelivery(id: string): Promise<S.DeliveryRow | undefined> {
    return this.deliveries.get(id);
  }
  listDeliveries(filter: S.DeliveryFilter): Promise<S.Page<S.DeliveryRow>> {
    return this.deliveries.list(filter);
  }
  dueDeliveries(nowMs: number, limit: number, after?: S.DuePosition): Promise<S.DuePosition[]> {
    return this.deliveries.due(nowMs, limit, after);
  }
  pendingDeliveries(nowMs: number, limit: number): Promise<{ count: number; oldestDueMs: number | undefined }> {
    return this.deliveries.pending(nowMs, limit);
  }
  claimDueDeliveries(claim: S.Claim & { ids?: readonly string[] }): Promise<S.DeliveryRow[]> {
    return this.deliveries.claimDue(claim);
  }
  updateDelivery(d: S.DeliveryRow, owner: string, u: S.DeliveryUpdate): Promise<boolean> {
    return this.deliveries.update(d, owner, u);
  }
  releaseDelivery(d: S.DeliveryRow, owner: string, nextAttemptAtMs: number): Promise<boolean> {
    return this.deliveries.release(d, owner, nextAttemptAtMs);
  }
  replayDelivery(id: string, nowMs: number): Promise<S.DeliveryRow | undefined> {
    return this.deliveries.replay(id, nowMs);
  }

  purgeBefore(beforeMs: number, limit: number): Promise<{ events: number; deliveries: number }> {
    return this.eraser.purgeBefore(beforeMs, limit);
  }
  eraseTask(workspaceId: string, taskId: string): Promise<boolean> {
    return this.eraser.eraseTask(workspaceId, taskId);
  }

  /**
   * Creates every table that is missing; safe to run again. A time index created here on an
   * upgrade gets the rows written before it (a fresh install's tables are empty).
   */
  async init(): Promise<string[]> {
    const created = await createMissingTables(this.db);
    await backfillTimeIndexes(this.db, created);
    return created;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
