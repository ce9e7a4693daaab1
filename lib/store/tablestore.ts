/**
 * The production store on Tablestore (FC instances have no durable disk).
 *
 * Tables (primary key → columns):
 *   relay_tasks            (ws, task)                    → the task row (TaskRow's fields)
 *   relay_task_due         (shard, due_at, ws, task)     → index of active tasks by next_poll_at
 *   relay_task_queue       (ws, submitted_at, task)      → index of active tasks in submission order
 *   relay_task_events      (ws, task, event_id)          → which events a task has
 *   relay_workspaces       (ws)                          → WorkspaceRow
 *   relay_webhooks         (id)                          → WebhookRow
 *   relay_settings         (key)                         → value
 *   relay_events           (id)                          → the event, its body in ≤ 1.5 MB chunks
 *   relay_deliveries       (id)                          → DeliveryRow
 *   relay_delivery_due     (shard, due_at, id)           → index of pending deliveries by next_attempt_at
 *   relay_delivery_by_event   (event_id, id)   and   relay_delivery_by_webhook (webhook_id, id)
 *
 * Due work in O(due): a claim reads the due index from the start up to now (GetRange), then takes
 * each candidate with a conditional UpdateRow on the row itself: active/pending, due at exactly the
 * indexed time, and `lease_until <= now`. Only one claimer's update can pass, so claims are exclusive.
 * Creates are PutRow with EXPECT_NOT_EXIST. Index rows are written before or after their row without
 * a transaction; a crash in between leaves an index entry that disagrees with its row, which the
 * next reader that meets it repairs (re-index at the row's real time, or delete it).
 *
 * Integers are Long; the SDK retries reads only, so every request is retried here (503, 409, 5xx,
 * network) a bounded number of times. Every request has an HTTP timeout.
 *
 * This module is the Store; each record's operations live in tablestore/: client.ts (the SDK and
 * the retries), schema.ts (tables, creating them), codecs.ts (columns and keys), tasks.ts,
 * deliveries.ts, events.ts, webhooks.ts (webhooks, workspaces, settings).
 */
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
import { TablestoreClient, type TablestoreStoreOptions } from "./tablestore/client.js";
import { DeliveryTable } from "./tablestore/deliveries.js";
import { EventTable } from "./tablestore/events.js";
import { createMissingTables } from "./tablestore/schema.js";
import { TaskTable } from "./tablestore/tasks.js";
import { SettingTable, WebhookTable, WorkspaceTable } from "./tablestore/webhooks.js";

export type { TablestoreStoreOptions } from "./tablestore/client.js";
export { TABLES } from "./tablestore/schema.js";

export class TablestoreStore implements Store {
  private readonly db: TablestoreClient;
  private readonly tasks: TaskTable;
  private readonly deliveries: DeliveryTable;
  private readonly events: EventTable;
  private readonly webhooks: WebhookTable;
  private readonly workspaces: WorkspaceTable;
  private readonly settings: SettingTable;

  constructor(options: TablestoreStoreOptions) {
    this.db = new TablestoreClient(options);
    this.tasks = new TaskTable(this.db);
    this.deliveries = new DeliveryTable(this.db);
    this.events = new EventTable(this.db);
    this.webhooks = new WebhookTable(this.db);
    this.workspaces = new WorkspaceTable(this.db);
    this.settings = new SettingTable(this.db);
  }

  registerTask(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    return this.tasks.register(input, nowMs);
  }
  getTask(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    return this.tasks.get(workspaceId, taskId);
  }
  listTasks(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    return this.tasks.list(filter);
  }
  claimDueTasks(claim: Claim): Promise<TaskRow[]> {
    return this.tasks.claimDue(claim);
  }
  countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    return this.tasks.countQueuedAhead(workspaceId, submittedAtMs, limit);
  }
  oldestActiveTasks(workspaceId: string, limit: number): Promise<TaskRow[]> {
    return this.tasks.oldestActive(workspaceId, limit);
  }
  pollSooner(workspaceId: string, taskId: string, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    return this.tasks.pollSooner(workspaceId, taskId, nextPollAtMs, nowMs);
  }
  updateTask(t: TaskRow, owner: string, u: TaskUpdate): Promise<boolean> {
    return this.tasks.update(t, owner, u);
  }
  releaseTask(t: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    return this.tasks.release(t, owner, nextPollAtMs);
  }

  getWorkspace(workspaceId: string): Promise<WorkspaceRow | undefined> {
    return this.workspaces.get(workspaceId);
  }
  listWorkspaces(): Promise<WorkspaceRow[]> {
    return this.workspaces.list();
  }
  putWorkspace(w: WorkspaceRow): Promise<void> {
    return this.workspaces.put(w);
  }

  createWebhook(w: WebhookRow): Promise<void> {
    return this.webhooks.create(w);
  }
  getWebhook(id: string): Promise<WebhookRow | undefined> {
    return this.webhooks.get(id);
  }
  listWebhooks(): Promise<WebhookRow[]> {
    return this.webhooks.list();
  }
  updateWebhook(w: WebhookRow): Promise<boolean> {
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

  createEvent(e: EventRow): Promise<{ event: EventRow; created: boolean }> {
    return this.events.create(e);
  }
  getEvent(id: string): Promise<EventRow | undefined> {
    return this.events.get(id);
  }
  listEventsForTask(workspaceId: string, taskId: string): Promise<EventRow[]> {
    return this.events.listForTask(workspaceId, taskId);
  }

  createDeliveries(rows: readonly NewDelivery[]): Promise<string[]> {
    return this.deliveries.create(rows);
  }
  getDelivery(id: string): Promise<DeliveryRow | undefined> {
    return this.deliveries.get(id);
  }
  listDeliveries(filter: {
    status?: DeliveryStatus;
    webhookId?: string;
    eventId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<DeliveryRow>> {
    return this.deliveries.list(filter);
  }
  dueDeliveries(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]> {
    return this.deliveries.due(nowMs, limit, after);
  }
  claimDueDeliveries(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    return this.deliveries.claimDue(claim);
  }
  updateDelivery(d: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    return this.deliveries.update(d, owner, u);
  }
  replayDelivery(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    return this.deliveries.replay(id, nowMs);
  }

  /** Creates every table that is missing; safe to run again. */
  init(): Promise<string[]> {
    return createMissingTables(this.db);
  }

  async close(): Promise<void> {
    this.db.forget();
  }
}
