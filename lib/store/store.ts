/**
 * The relay's state, behind one interface with two implementations (SQLite here, Tablestore in
 * production). Every operation is one the Tablestore store can do with a conditional write or a
 * range read on a key, so nothing here assumes SQL.
 *
 * Glossary
 * - task: a Quanmiao task the relay polls until it ends; key (workspaceId, taskId).
 * - workspace: per-workspace polling state (asyncConcurrency, auth back-off).
 * - webhook: a subscription (url, secrets, filters).
 * - event: one per (task, type), ever; its id is derived from that key, so a re-run writes the same row.
 * - delivery: one per (event, target); its id is the `webhook-id` header, stable across retries.
 * - lease: a claim on a row until `leaseUntilMs`, so overlapping runs never work the same row;
 *   a crashed run's rows come back when the lease runs out.
 *
 * All times are epoch milliseconds in fields ending `Ms`.
 */
import type { JsonObject } from "../quanmiao/task.js";

export type TaskState = "active" | "done";

export interface TaskRow {
  readonly workspaceId: string;
  readonly taskId: string;
  readonly state: TaskState;
  /** taskStatus as last seen from the API; undefined before the first poll. */
  readonly status: string | undefined;
  /** When the task was submitted (the caller's word) or registered: its place in the queue. */
  readonly submittedAtMs: number;
  readonly registeredAtMs: number;
  readonly nextPollAtMs: number;
  readonly pollCount: number;
  /** Polls since the status last changed: drives the adaptive interval. */
  readonly pollsInStatus: number;
  readonly lastPolledAtMs: number | undefined;
  readonly lastError: string | undefined;
  readonly leaseOwner: string | undefined;
  readonly leaseUntilMs: number;
  /** Per-task webhook URLs given at registration, signed with the installation's default secret. */
  readonly webhookUrls: readonly string[];
  readonly metadata: JsonObject;
  readonly terminalAtMs: number | undefined;
  /**
   * When the task started running, as best the relay can tell: presumed at registration when it had
   * room to start at once (its submission), else the middle of the span in which it must have
   * started, when it is first seen RUNNING. Elapsed run
   * time is measured from here.
   */
  readonly runningSinceMs: number | undefined;
  /**
   * What kind of work the task is (e.g. its generateOptions and models), where known: run times are
   * learned per workspace and per profile.
   */
  readonly profile: string | undefined;
  /**
   * How long the video is, in ms, where known (the caller's hint, or read from the file's header
   * when the relay submitted it): run times are learned as a function of it.
   */
  readonly videoDurationMs: number | undefined;
  /**
   * The parts of the task's output (progress-parts.ts) already seen finished while it ran, so a poll
   * writes progress events only for parts newly finished; undefined until the first one.
   */
  readonly progressParts: readonly string[] | undefined;
}

export interface RegisterTaskInput {
  readonly workspaceId: string;
  readonly taskId: string;
  readonly webhookUrls?: readonly string[];
  readonly metadata?: JsonObject;
  readonly submittedAtMs?: number;
  /** When the first poll is due; default: at once. */
  readonly firstPollAtMs?: number;
  readonly profile?: string | undefined;
  /** For a task that starts at once (its workspace had room): when it is presumed to have started. */
  readonly runningSinceMs?: number;
  /** Kept from the first registration, as metadata and profile are. */
  readonly videoDurationMs?: number | undefined;
}

export interface WorkspaceRow {
  readonly workspaceId: string;
  readonly asyncConcurrency: number | undefined;
  readonly concurrencyFetchedAtMs: number | undefined;
  /** Set after an AuthError: no task of this workspace is polled before then. */
  readonly backoffUntilMs: number;
  readonly authFailures: number;
  readonly lastError: string | undefined;
}

export interface WebhookSecret {
  readonly secret: string;
  /** After rotation the old secret keeps signing until then; absent for the current one. */
  readonly expiresAtMs?: number | undefined;
}

export interface WebhookRow {
  readonly id: string;
  readonly url: string;
  readonly secrets: readonly WebhookSecret[];
  /** Event types it receives; undefined means the four terminal types. */
  readonly events: readonly string[] | undefined;
  /** Only events of this workspace; undefined means every workspace. */
  readonly workspaceId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  readonly disabledReason: string | undefined;
  /** First failure since the last success: the 5-day disable clock. */
  readonly failingSinceMs: number | undefined;
  /**
   * Requests per second this endpoint accepts, as its owner set it at registration; a fraction is
   * slower than one a second (0.5: one every 2 s). Undefined: no limit beyond the per-endpoint
   * concurrency.
   */
  readonly rateLimitPerSecond: number | undefined;
  /** How events are framed for this endpoint; undefined means `standard` (Standard Webhooks JSON). */
  readonly format: WebhookFormat | undefined;
  /**
   * Set when the subscription publishes to an Alibaba Cloud EventBridge bus instead of POSTing to
   * `url` (which then names the bus, `acs:eventbridge:<region>:<account>:eventbus/<bus>`, for lists).
   */
  readonly eventBridge: EventBridgeTarget | undefined;
  readonly createdAtMs: number;
}

export const WEBHOOK_FORMATS = ["standard", "cloudevents-structured", "cloudevents-binary"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** An EventBridge bus; region and account absent: the relay's own (its config, or the FC context). */
export interface EventBridgeTarget {
  readonly busName: string;
  readonly region?: string | undefined;
  readonly accountId?: string | undefined;
}

export interface EventRow {
  readonly id: string;
  readonly type: string;
  readonly workspaceId: string;
  readonly taskId: string;
  /** The exact JSON body subscribers receive. */
  readonly body: string;
  readonly createdAtMs: number;
}

export type DeliveryStatus = "pending" | "delivered" | "dead";

/** One attempt of a delivery, as the console shows it; a delivery keeps its last ATTEMPT_LOG_SIZE. */
export interface AttemptRecord {
  readonly atMs: number;
  readonly durationMs: number;
  readonly statusCode?: number | undefined;
  /** No HTTP answer: timeout, connection, tls, dns, refused_target, other; entry_failed: EventBridge refused this entry alone. */
  readonly failure?: string | undefined;
  readonly error?: string | undefined;
  /** The answer's first bytes. */
  readonly response?: string | undefined;
}

export const ATTEMPT_LOG_SIZE = 10;

export interface DeliveryRow {
  readonly id: string;
  readonly eventId: string;
  /** A registered webhook's id, or `task:<hash>` for a per-task URL. */
  readonly webhookId: string;
  /** Where per-task deliveries go; registered webhooks use the webhook's current URL. */
  readonly url: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAtMs: number;
  readonly lastAttemptAtMs: number | undefined;
  readonly lastStatusCode: number | undefined;
  readonly lastError: string | undefined;
  readonly lastResponse: string | undefined;
  readonly leaseOwner: string | undefined;
  readonly leaseUntilMs: number;
  readonly createdAtMs: number;
  readonly deliveredAtMs: number | undefined;
  /** Undefined for deliveries created before the relay kept it. */
  readonly eventType: string | undefined;
  /** The last ATTEMPT_LOG_SIZE attempts, oldest first (undefined before the first). */
  readonly attemptLog: readonly AttemptRecord[] | undefined;
}

/** A task as a planner read it: which one, and when it was due then. */
export type TaskDue = Pick<TaskRow, "workspaceId" | "taskId" | "nextPollAtMs">;

export interface Claim {
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
  readonly limit: number;
}

/**
 * A page of a list. Lists are newest first unless said otherwise, by a key that only grows with
 * creation time (creation time, then id): the cursor is the last item's key, so paging on while
 * rows are added neither skips nor repeats one (new rows sort before the first page).
 */
export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back to get the next page; undefined on the last page. */
  readonly cursor: string | undefined;
}

/** What a poll decided for a task; applied only while the caller still holds the lease. */
export interface TaskUpdate {
  readonly status?: string | undefined;
  readonly state?: TaskState;
  readonly nextPollAtMs: number;
  readonly pollCount: number;
  readonly pollsInStatus: number;
  readonly lastPolledAtMs?: number | undefined;
  readonly lastError?: string | undefined;
  readonly terminalAtMs?: number | undefined;
  /** Set once, when the task is first seen RUNNING; undefined leaves it as it is. */
  readonly runningSinceMs?: number | undefined;
  /** Every part seen finished so far, when that set grew; undefined leaves it as it is. */
  readonly progressParts?: readonly string[] | undefined;
}

export interface DeliveryUpdate {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAtMs: number;
  readonly lastAttemptAtMs: number;
  readonly lastStatusCode: number | undefined;
  readonly lastError: string | undefined;
  readonly lastResponse: string | undefined;
  readonly deliveredAtMs?: number | undefined;
  /** The attempt log with this attempt appended (kept when absent). */
  readonly attemptLog?: readonly AttemptRecord[] | undefined;
}

/** A delivery's place in the due order. */
export interface DuePosition {
  readonly dueMs: number;
  readonly id: string;
}

export interface NewDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly webhookId: string;
  readonly url: string;
  readonly nextAttemptAtMs: number;
  readonly createdAtMs: number;
  /** The event's type, kept on the delivery so deliveries can be listed by it. */
  readonly eventType?: string | undefined;
  /**
   * Created already leased (to the run that will attempt it at once, without a claim): then
   * `nextAttemptAtMs` is the lease's end, when anyone else may take it if that run did not.
   */
  readonly leaseOwner?: string | undefined;
  readonly leaseUntilMs?: number | undefined;
}

/**
 * What a user means by failures: deliveries given up on (dead), and those retrying after a failed
 * attempt (pending, attempted, and the last attempt not answered 2xx: a replay of a delivered one
 * is not a failure). Both stores keep an index of exactly these.
 */
export const FAILED = "failed";

export function isFailing(d: Pick<DeliveryRow, "status" | "attempts" | "lastStatusCode">): boolean {
  const answered2xx = d.lastStatusCode !== undefined && d.lastStatusCode >= 200 && d.lastStatusCode <= 299;
  return d.status === "dead" || (d.status === "pending" && d.attempts > 0 && !answered2xx);
}

/** What deliveries can be listed by, newest first; `sinceMs` bounds their creation time. */
export interface DeliveryFilter {
  readonly status?: DeliveryStatus | typeof FAILED | undefined;
  readonly webhookId?: string | undefined;
  readonly eventId?: string | undefined;
  readonly eventType?: string | undefined;
  readonly sinceMs?: number | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface Store {
  // Tasks
  /** Creates the task if absent; a repeat adds only new per-task URLs. */
  registerTask(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }>;
  getTask(workspaceId: string, taskId: string): Promise<TaskRow | undefined>;
  /** Newest registration first, by (registeredAtMs, workspaceId, taskId). */
  listTasks(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>>;
  /** Active tasks with nextPollAtMs ≤ now and no live lease, soonest first, now leased to `owner`. */
  claimDueTasks(claim: Claim): Promise<TaskRow[]>;
  /** The oldest active tasks of a workspace in submission order (the API's queue order). */
  oldestActiveTasks(workspaceId: string, limit: number): Promise<TaskRow[]>;
  /**
   * How many active tasks of a workspace were submitted at or before `submittedAtMs`, counting at
   * most `limit`: whether a new task lands inside the window. A hint (an index read, no rows), so
   * it may count a task that has just ended.
   */
  countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number>;
  /**
   * Moves an unleased active task's next poll earlier. `task` is the row as the caller read it: the
   * move happens only while the task is still due then (one conditional write, no read first);
   * false if it moved on, is leased, or the time is not earlier.
   */
  pollSooner(task: TaskDue, nextPollAtMs: number, nowMs: number): Promise<boolean>;
  /**
   * Applies a poll's outcome to a task this caller claimed, and releases the lease; false if `owner`
   * no longer holds it. The claimed row is passed whole: while the lease holds, its due time cannot
   * change, so a store that indexes by due time need not read the row again.
   */
  updateTask(claimed: TaskRow, owner: string, update: TaskUpdate): Promise<boolean>;
  /** Gives the lease back without polling (e.g. the workspace is backed off). */
  releaseTask(claimed: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean>;

  // Workspaces
  getWorkspace(workspaceId: string): Promise<WorkspaceRow | undefined>;
  listWorkspaces(): Promise<WorkspaceRow[]>;
  putWorkspace(row: WorkspaceRow): Promise<void>;

  // Webhooks
  createWebhook(row: WebhookRow): Promise<void>;
  getWebhook(id: string): Promise<WebhookRow | undefined>;
  listWebhooks(): Promise<WebhookRow[]>;
  /** Replaces the row; false if it does not exist. */
  updateWebhook(row: WebhookRow): Promise<boolean>;
  deleteWebhook(id: string): Promise<boolean>;

  // Settings (the default signing secret)
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value only if it is currently `expected` (undefined: absent). */
  compareAndSetSetting(key: string, expected: string | undefined, value: string): Promise<boolean>;
  /** Settings whose keys lie in [fromKey, toKey), in key order, `limit` at most. */
  listSettings(fromKey: string, toKey: string, limit: number): Promise<Array<{ key: string; value: string }>>;
  /** Deletes the setting only if it is currently `expected`; false otherwise (or if it is absent). */
  deleteSetting(key: string, expected: string): Promise<boolean>;

  // Events and deliveries
  /** Creates the event if absent; returns the stored row (the first writer's) and whether this call created it. */
  createEvent(row: EventRow): Promise<{ event: EventRow; created: boolean }>;
  getEvent(id: string): Promise<EventRow | undefined>;
  listEventsForTask(workspaceId: string, taskId: string): Promise<EventRow[]>;
  /**
   * Every event in creation order (createdAtMs, id), from `sinceMs` on and strictly after the page
   * the cursor ends: what `quanmiao-relay listen` follows.
   */
  listEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>>;
  /** Every event newest first by (createdAtMs, id), down to `sinceMs`: what a person browses. */
  listRecentEvents(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>>;
  /** Creates each delivery that is absent; returns the ids actually created. */
  createDeliveries(rows: readonly NewDelivery[]): Promise<string[]>;
  /**
   * `createEvent`, then `createDeliveries` for that event's `deliveries`: what a finished task
   * writes. The deliveries are written only once the event is, so none names an absent event; on
   * SQLite both are one write (one savepoint of the open group), not two that commit apart.
   */
  createEventWithDeliveries(
    row: EventRow,
    deliveries: readonly NewDelivery[],
  ): Promise<{ event: EventRow; created: boolean; deliveryIds: string[] }>;
  getDelivery(id: string): Promise<DeliveryRow | undefined>;
  /** Newest first by (createdAtMs, id). */
  listDeliveries(filter: DeliveryFilter): Promise<Page<DeliveryRow>>;
  /**
   * Pending deliveries due at `nowMs` and not leased, in (due, id) order, strictly after `after`:
   * what fan-out hands to the deliver function, read page by page within one run. A read, not a
   * claim: whoever receives the ids still claims them.
   */
  dueDeliveries(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]>;
  /**
   * How many deliveries are pending (counted up to `limit`), and when the longest-waiting one that
   * is due at `nowMs` came due (undefined when none is due): the metrics' backlog gauges.
   */
  pendingDeliveries(nowMs: number, limit: number): Promise<{ count: number; oldestDueMs: number | undefined }>;
  /** Pending deliveries due now and not leased, now leased to `owner`. `ids` restricts the claim. */
  claimDueDeliveries(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]>;
  /**
   * Gives back a delivery this caller holds without an attempt (its attempt count and log
   * unchanged), due at `nextAttemptAtMs`; false if `owner` no longer holds it.
   */
  releaseDelivery(claimed: DeliveryRow, owner: string, nextAttemptAtMs: number): Promise<boolean>;
  /** Records an attempt on a delivery this caller claimed, and releases the lease; false if `owner` no longer holds it. */
  updateDelivery(claimed: DeliveryRow, owner: string, update: DeliveryUpdate): Promise<boolean>;
  /**
   * Retention: deletes up to `limit` events created before `beforeMs`, each with its deliveries,
   * but never an event that still has a pending delivery. Returns how many of each went.
   */
  purgeBefore(beforeMs: number, limit: number): Promise<{ events: number; deliveries: number }>;
  /** Forgets a task: its row, its events and all their deliveries (pending ones too). False if unknown. */
  eraseTask(workspaceId: string, taskId: string): Promise<boolean>;
  /** Makes a delivery pending and due at `nowMs` again, keeping its id and attempt history. */
  replayDelivery(id: string, nowMs: number): Promise<DeliveryRow | undefined>;

  close(): Promise<void>;
}
