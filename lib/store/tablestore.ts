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
 * Integers are Long; the SDK retries reads only, so writes are retried here (503, 409, 5xx,
 * network) a bounded number of times. Every request has an HTTP timeout.
 */
import TableStoreSdk, { type AttributeValue, type Client, type Int64, type Pk, type RowResult } from "tablestore";
import type { Credentials, CredentialsProvider } from "../quanmiao/credentials.js";
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

// A static import, so that the FC bundles carry the SDK (CommonJS: the default import is its exports).
const TS = TableStoreSdk;

export const TABLES = {
  tasks: {
    name: "relay_tasks",
    pk: [
      ["ws", "STRING"],
      ["task", "STRING"],
    ],
  },
  taskDue: {
    name: "relay_task_due",
    pk: [
      ["shard", "STRING"],
      ["due_at", "INTEGER"],
      ["ws", "STRING"],
      ["task", "STRING"],
    ],
  },
  taskQueue: {
    name: "relay_task_queue",
    pk: [
      ["ws", "STRING"],
      ["submitted_at", "INTEGER"],
      ["task", "STRING"],
    ],
  },
  taskEvents: {
    name: "relay_task_events",
    pk: [
      ["ws", "STRING"],
      ["task", "STRING"],
      ["event_id", "STRING"],
    ],
  },
  workspaces: { name: "relay_workspaces", pk: [["ws", "STRING"]] },
  webhooks: { name: "relay_webhooks", pk: [["id", "STRING"]] },
  settings: { name: "relay_settings", pk: [["key", "STRING"]] },
  events: { name: "relay_events", pk: [["id", "STRING"]] },
  deliveries: { name: "relay_deliveries", pk: [["id", "STRING"]] },
  deliveryDue: {
    name: "relay_delivery_due",
    pk: [
      ["shard", "STRING"],
      ["due_at", "INTEGER"],
      ["id", "STRING"],
    ],
  },
  deliveryByEvent: {
    name: "relay_delivery_by_event",
    pk: [
      ["event_id", "STRING"],
      ["id", "STRING"],
    ],
  },
  deliveryByWebhook: {
    name: "relay_delivery_by_webhook",
    pk: [
      ["webhook_id", "STRING"],
      ["id", "STRING"],
    ],
  },
} as const;

const SHARD = "0";
/**
 * Index entries are written before their row, so a reader can meet an entry whose row is still
 * being created. Only an entry this much older than now, with no row, is a crashed creator's leftover.
 */
const CREATE_GRACE_MS = 60_000;
const CHUNK = 1_500_000;
const MAX_WRITE_TRIES = 6;
const { IGNORE, EXPECT_EXIST, EXPECT_NOT_EXIST } = TS.RowExistenceExpectation;
const CT = TS.ComparatorType;

type Attrs = Record<string, AttributeValue>;

const long = (n: number) => TS.Long.fromNumber(n);
const isInt64 = (v: unknown): v is Int64 =>
  typeof v === "object" && v !== null && typeof (v as Int64).toBuffer === "function";
const numOf = (v: unknown): number | undefined => (isInt64(v) ? v.toNumber() : typeof v === "number" ? v : undefined);
const strOf = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function attrsOf(row: RowResult | undefined): Attrs | undefined {
  if (!row?.primaryKey) return undefined;
  const out: Attrs = {};
  for (const a of row.attributes ?? []) out[a.columnName] = a.columnValue;
  for (const p of row.primaryKey) out[`pk:${p.name}`] = p.value as AttributeValue;
  return out;
}

/** Columns to PUT: undefined means "clear it" (DELETE_ALL). */
function changes(values: Record<string, AttributeValue | undefined>): Array<Record<string, unknown>> {
  const put: Array<Record<string, AttributeValue>> = [];
  const clear: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) clear.push(k);
    else put.push({ [k]: v });
  }
  return [...(put.length ? [{ PUT: put }] : []), ...(clear.length ? [{ DELETE_ALL: clear }] : [])];
}

function putColumns(values: Record<string, AttributeValue | undefined>): Array<Record<string, AttributeValue>> {
  return Object.entries(values)
    .filter((e): e is [string, AttributeValue] => e[1] !== undefined)
    .map(([k, v]) => ({ [k]: v }));
}

const eq = (column: string, value: AttributeValue) =>
  new TS.SingleColumnCondition(column, value, CT.EQUAL, false, true);
function all(...conditions: unknown[]) {
  const c = new TS.CompositeCondition(TS.LogicalOperator.AND);
  for (const x of conditions) c.addSubCondition(x);
  return c;
}
const condition = (existence: number, column: unknown = null) => new TS.Condition(existence, column);

function isConditionFail(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 403 && String(e.message).includes("OTSConditionCheckFail");
}

function isRetryableWrite(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === "number") return e.code === 409 || e.code >= 500;
  return true; // network errors carry string codes (ECONNRESET, …) or none
}

export interface TablestoreStoreOptions {
  readonly endpoint: string;
  readonly instance: string;
  readonly credentials: CredentialsProvider;
  readonly timeoutMs?: number;
  /** Waits between write retries; injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class TablestoreStore implements Store {
  private client: Client | undefined;
  private clientFor: string | undefined;

  constructor(private readonly options: TablestoreStoreOptions) {}

  /** One SDK client per credential set: on FC the STS credentials rotate between invocations. */
  private async sdk(): Promise<Client> {
    const c: Credentials = await this.options.credentials();
    const key = `${c.accessKeyId}\u0000${c.securityToken ?? ""}`;
    if (!this.client || this.clientFor !== key) {
      this.client = new TS.Client({
        endpoint: this.options.endpoint,
        instancename: this.options.instance,
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.accessKeySecret,
        ...(c.securityToken ? { stsToken: c.securityToken } : {}),
        maxRetries: 3,
        httpOptions: { timeout: this.options.timeoutMs ?? 10_000, maxSockets: 32 },
      });
      this.clientFor = key;
    }
    return this.client;
  }

  /**
   * The store's own bounded retry (503, 409, 5xx, network), with back-off. Writes need it (the SDK
   * retries reads only); reads get it too, since the SDK gives up after three tries and one read
   * that fails ends a run — which long-lived runs, reading far more often, made a real risk.
   */
  private async retrying<T>(op: (client: Client) => Promise<T>): Promise<T> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(await this.sdk());
      } catch (error) {
        if (isConditionFail(error) || attempt >= MAX_WRITE_TRIES || !isRetryableWrite(error)) throw error;
        await sleep(Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** A write with the store's own bounded retry; returns false when its condition failed. */
  private async write(op: (client: Client) => Promise<unknown>): Promise<boolean> {
    try {
      await this.retrying(op);
      return true;
    } catch (error) {
      if (isConditionFail(error)) return false;
      throw error;
    }
  }

  private async get(table: { name: string }, pk: Pk, columnsToGet?: string[]): Promise<Attrs | undefined> {
    const { row } = await this.retrying((client) =>
      client.getRow({
        tableName: table.name,
        primaryKey: pk,
        maxVersions: 1,
        ...(columnsToGet ? { columnsToGet } : {}),
      }),
    );
    return attrsOf(row);
  }

  private async batchGet(table: { name: string }, pks: Pk[]): Promise<Array<Attrs | undefined>> {
    const out: Array<Attrs | undefined> = [];
    for (let i = 0; i < pks.length; i += 100) {
      const slice = pks.slice(i, i + 100);
      const result = await this.retrying((client) =>
        client.batchGetRow({ tables: [{ tableName: table.name, primaryKey: slice, maxVersions: 1 }] }),
      );
      for (const r of result.tables[0] ?? []) {
        if (!r.isOk) throw new Error(`BatchGetRow failed: ${r.errorCode} ${r.errorMessage}`);
        out.push(attrsOf(r));
      }
    }
    return out;
  }

  /** Rows of a key range in order, `limit` at most, following nextStartPrimaryKey. */
  private async range(table: { name: string }, start: Pk, end: Pk, limit: number): Promise<Attrs[]> {
    const rows: Attrs[] = [];
    let next: Pk | null = start;
    while (next && rows.length < limit) {
      const from: Pk = next;
      const r = await this.retrying((client) =>
        client.getRange({
          tableName: table.name,
          direction: TS.Direction.FORWARD,
          inclusiveStartPrimaryKey: from,
          exclusiveEndPrimaryKey: end,
          limit: Math.min(5_000, limit - rows.length),
          maxVersions: 1,
        }),
      );
      for (const row of r.rows) {
        const a = attrsOf(row);
        if (a) rows.push(a);
      }
      next = r.nextStartPrimaryKey ? r.nextStartPrimaryKey.map((c) => ({ [c.name]: c.value })) : null;
    }
    return rows;
  }

  private async deleteRow(table: { name: string }, pk: Pk): Promise<void> {
    await this.write((c) => c.deleteRow({ tableName: table.name, condition: condition(IGNORE), primaryKey: pk }));
  }

  private async putIndex(table: { name: string }, pk: Pk): Promise<void> {
    await this.write((c) =>
      c.putRow({
        tableName: table.name,
        condition: condition(IGNORE),
        primaryKey: pk,
        attributeColumns: [{ _: true }],
      }),
    );
  }

  // ── tasks ────────────────────────────────────────────────────────────────

  private static taskPk = (ws: string, task: string): Pk => [{ ws }, { task }];
  private static dueTaskPk = (due: number, ws: string, task: string): Pk => [
    { shard: SHARD },
    { due_at: long(due) },
    { ws },
    { task },
  ];
  private static queuePk = (ws: string, at: number, task: string): Pk => [{ ws }, { submitted_at: long(at) }, { task }];

  private static toTask(a: Attrs): TaskRow {
    return {
      workspaceId: String(a["pk:ws"]),
      taskId: String(a["pk:task"]),
      state: a.state as TaskState,
      status: strOf(a.status),
      submittedAtMs: numOf(a.submitted_at) ?? 0,
      registeredAtMs: numOf(a.registered_at) ?? 0,
      nextPollAtMs: numOf(a.next_poll_at) ?? 0,
      pollCount: numOf(a.poll_count) ?? 0,
      pollsInStatus: numOf(a.polls_in_status) ?? 0,
      lastPolledAtMs: numOf(a.last_polled_at),
      lastError: strOf(a.last_error),
      leaseOwner: strOf(a.lease_owner),
      leaseUntilMs: numOf(a.lease_until) ?? 0,
      webhookUrls: JSON.parse(strOf(a.webhook_urls) ?? "[]") as string[],
      metadata: JSON.parse(strOf(a.metadata) ?? "{}") as JsonObject,
      terminalAtMs: numOf(a.terminal_at),
      runningSinceMs: numOf(a.running_since),
      profile: strOf(a.profile),
    };
  }

  async registerTask(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    for (;;) {
      const existing = await this.getTask(input.workspaceId, input.taskId);
      if (existing) {
        const added = (input.webhookUrls ?? []).filter((u) => !existing.webhookUrls.includes(u));
        if (added.length === 0) return { task: existing, created: false };
        const webhookUrls = [...existing.webhookUrls, ...added];
        const ok = await this.write((c) =>
          c.updateRow({
            tableName: TABLES.tasks.name,
            condition: condition(EXPECT_EXIST, eq("webhook_urls", JSON.stringify(existing.webhookUrls))),
            primaryKey: TablestoreStore.taskPk(input.workspaceId, input.taskId),
            updateOfAttributeColumns: [{ PUT: [{ webhook_urls: JSON.stringify(webhookUrls) }] }],
          }),
        );
        if (ok) return { task: { ...existing, webhookUrls }, created: false };
        continue; // someone else changed it: read again
      }
      const submittedAtMs = input.submittedAtMs ?? nowMs;
      const nextPollAtMs = input.firstPollAtMs ?? nowMs;
      // Index rows first: a crash after them leaves entries the readers repair, never a lost task.
      await this.putIndex(TABLES.taskDue, TablestoreStore.dueTaskPk(nextPollAtMs, input.workspaceId, input.taskId));
      await this.putIndex(TABLES.taskQueue, TablestoreStore.queuePk(input.workspaceId, submittedAtMs, input.taskId));
      const created = await this.write((c) =>
        c.putRow({
          tableName: TABLES.tasks.name,
          condition: condition(EXPECT_NOT_EXIST),
          primaryKey: TablestoreStore.taskPk(input.workspaceId, input.taskId),
          attributeColumns: putColumns({
            state: "active",
            submitted_at: long(submittedAtMs),
            registered_at: long(nowMs),
            next_poll_at: long(nextPollAtMs),
            poll_count: long(0),
            polls_in_status: long(0),
            lease_until: long(0),
            webhook_urls: JSON.stringify([...new Set(input.webhookUrls ?? [])]),
            metadata: JSON.stringify(input.metadata ?? {}),
            profile: input.profile,
          }),
        }),
      );
      if (created) {
        const task = await this.getTask(input.workspaceId, input.taskId);
        if (task) return { task, created: true };
      }
    }
  }

  async getTask(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    const a = await this.get(TABLES.tasks, TablestoreStore.taskPk(workspaceId, taskId));
    return a ? TablestoreStore.toTask(a) : undefined;
  }

  async listTasks(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    const after = decodeCursor(filter.cursor, 2);
    const wsStart = filter.workspaceId ?? TS.INF_MIN;
    const start: Pk = after
      ? [{ ws: after[0] as string }, { task: `${after[1]}\u0000` }]
      : [{ ws: wsStart }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: filter.workspaceId ?? TS.INF_MAX }, { task: TS.INF_MAX }];
    const items: TaskRow[] = [];
    let from = start;
    for (;;) {
      const rows = await this.range(TABLES.tasks, from, end, 500);
      for (const a of rows) {
        const t = TablestoreStore.toTask(a);
        if ((filter.state && t.state !== filter.state) || (filter.status && t.status !== filter.status)) continue;
        items.push(t);
        if (items.length > filter.limit) break;
      }
      const last = rows[rows.length - 1];
      if (items.length > filter.limit || rows.length < 500 || !last) break;
      from = [{ ws: String(last["pk:ws"]) }, { task: `${String(last["pk:task"])}\u0000` }];
    }
    const page = items.slice(0, filter.limit);
    const tail = page[page.length - 1];
    return {
      items: page,
      cursor: items.length > filter.limit && tail ? encodeCursor([tail.workspaceId, tail.taskId]) : undefined,
    };
  }

  /** Re-indexes or drops a due entry that disagrees with its task. */
  private async repairTaskDue(due: number, ws: string, task: string, nowMs: number): Promise<void> {
    const t = await this.getTask(ws, task);
    if (!t && due > nowMs - CREATE_GRACE_MS) return; // its task may still be being created
    if (t && t.state === "active" && t.nextPollAtMs !== due) {
      await this.putIndex(TABLES.taskDue, TablestoreStore.dueTaskPk(t.nextPollAtMs, ws, task));
    }
    if (t?.state !== "active" || t.nextPollAtMs !== due)
      await this.deleteRow(TABLES.taskDue, TablestoreStore.dueTaskPk(due, ws, task));
  }

  async claimDueTasks(claim: Claim): Promise<TaskRow[]> {
    const candidates = await this.range(
      TABLES.taskDue,
      [{ shard: SHARD }, { due_at: TS.INF_MIN }, { ws: TS.INF_MIN }, { task: TS.INF_MIN }],
      [{ shard: SHARD }, { due_at: long(claim.nowMs + 1) }, { ws: TS.INF_MIN }, { task: TS.INF_MIN }],
      claim.limit * 4,
    );
    const claimed: Array<[string, string]> = [];
    for (const c of candidates) {
      if (claimed.length >= claim.limit) break;
      const due = numOf(c["pk:due_at"]) ?? 0;
      const ws = String(c["pk:ws"]);
      const task = String(c["pk:task"]);
      const ok = await this.write((client) =>
        client.updateRow({
          tableName: TABLES.tasks.name,
          condition: condition(
            EXPECT_EXIST,
            all(
              eq("state", "active"),
              eq("next_poll_at", long(due)),
              new TS.SingleColumnCondition("lease_until", long(claim.nowMs), CT.LESS_EQUAL, false, true),
            ),
          ),
          primaryKey: TablestoreStore.taskPk(ws, task),
          updateOfAttributeColumns: [
            { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
          ],
        }),
      );
      if (ok) claimed.push([ws, task]);
      else {
        const t = await this.getTask(ws, task);
        if (t?.state !== "active" || t.nextPollAtMs !== due) await this.repairTaskDue(due, ws, task, claim.nowMs);
      }
    }
    const rows = await this.batchGet(
      TABLES.tasks,
      claimed.map(([ws, task]) => TablestoreStore.taskPk(ws, task)),
    );
    return rows
      .filter((a): a is Attrs => a !== undefined)
      .map(TablestoreStore.toTask)
      .sort((a, b) => a.nextPollAtMs - b.nextPollAtMs);
  }

  // The queue index alone: one GetRange, no rows read (an entry a crash left behind counts too).
  async countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    const from: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MIN }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: long(submittedAtMs) }, { task: TS.INF_MAX }];
    return (await this.range(TABLES.taskQueue, from, end, limit)).length;
  }

  async oldestActiveTasks(workspaceId: string, limit: number): Promise<TaskRow[]> {
    const out: TaskRow[] = [];
    let from: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MIN }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MAX }, { task: TS.INF_MAX }];
    while (out.length < limit) {
      const entries = await this.range(TABLES.taskQueue, from, end, limit - out.length);
      if (entries.length === 0) break;
      const tasks = await this.batchGet(
        TABLES.tasks,
        entries.map((e) => TablestoreStore.taskPk(workspaceId, String(e["pk:task"]))),
      );
      for (const [i, e] of entries.entries()) {
        const a = tasks[i];
        const t = a ? TablestoreStore.toTask(a) : undefined;
        const at = numOf(e["pk:submitted_at"]) ?? 0;
        if (t && t.state === "active" && t.submittedAtMs === at) out.push(t);
        else await this.deleteRow(TABLES.taskQueue, TablestoreStore.queuePk(workspaceId, at, String(e["pk:task"]))); // stale
      }
      const last = entries[entries.length - 1] as Attrs;
      from = [
        { ws: workspaceId },
        { submitted_at: long(numOf(last["pk:submitted_at"]) ?? 0) },
        { task: `${String(last["pk:task"])}\u0000` },
      ];
    }
    return out;
  }

  /** Moves a task's due entry from `from` to `to` (new entry first: a crash leaves a repairable extra). */
  private async moveTaskDue(ws: string, task: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.putIndex(TABLES.taskDue, TablestoreStore.dueTaskPk(to, ws, task));
    if (to !== from) await this.deleteRow(TABLES.taskDue, TablestoreStore.dueTaskPk(from, ws, task));
  }

  async pollSooner(workspaceId: string, taskId: string, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    const t = await this.getTask(workspaceId, taskId);
    if (t?.state !== "active" || t.nextPollAtMs <= nextPollAtMs || t.leaseUntilMs > nowMs) return false;
    const ok = await this.write((c) =>
      c.updateRow({
        tableName: TABLES.tasks.name,
        condition: condition(
          EXPECT_EXIST,
          all(
            eq("next_poll_at", long(t.nextPollAtMs)),
            new TS.SingleColumnCondition("lease_until", long(nowMs), CT.LESS_EQUAL, false, true),
          ),
        ),
        primaryKey: TablestoreStore.taskPk(workspaceId, taskId),
        updateOfAttributeColumns: [{ PUT: [{ next_poll_at: long(nextPollAtMs) }] }],
      }),
    );
    if (ok) await this.moveTaskDue(workspaceId, taskId, t.nextPollAtMs, nextPollAtMs);
    return ok;
  }

  // No read first: the condition on lease_owner decides, and the claimed row says where it is indexed.
  async updateTask(t: TaskRow, owner: string, u: TaskUpdate): Promise<boolean> {
    const { workspaceId, taskId } = t;
    const values: Record<string, AttributeValue | undefined> = {
      next_poll_at: long(u.nextPollAtMs),
      poll_count: long(u.pollCount),
      polls_in_status: long(u.pollsInStatus),
      last_error: u.lastError,
      lease_owner: undefined,
      lease_until: long(0),
    };
    if (u.status !== undefined) values.status = u.status;
    if (u.state !== undefined) values.state = u.state;
    if (u.lastPolledAtMs !== undefined) values.last_polled_at = long(u.lastPolledAtMs);
    if (u.terminalAtMs !== undefined) values.terminal_at = long(u.terminalAtMs);
    if (u.runningSinceMs !== undefined) values.running_since = long(u.runningSinceMs);
    const ok = await this.write((c) =>
      c.updateRow({
        tableName: TABLES.tasks.name,
        condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
        primaryKey: TablestoreStore.taskPk(workspaceId, taskId),
        updateOfAttributeColumns: changes(values),
      }),
    );
    if (!ok) return false;
    const done = (u.state ?? t.state) === "done";
    await this.moveTaskDue(workspaceId, taskId, t.nextPollAtMs, done ? undefined : u.nextPollAtMs);
    if (done) await this.deleteRow(TABLES.taskQueue, TablestoreStore.queuePk(workspaceId, t.submittedAtMs, taskId));
    return true;
  }

  async releaseTask(t: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    const { workspaceId, taskId } = t;
    const ok = await this.write((c) =>
      c.updateRow({
        tableName: TABLES.tasks.name,
        condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
        primaryKey: TablestoreStore.taskPk(workspaceId, taskId),
        updateOfAttributeColumns: changes({
          next_poll_at: long(nextPollAtMs),
          lease_owner: undefined,
          lease_until: long(0),
        }),
      }),
    );
    if (ok) await this.moveTaskDue(workspaceId, taskId, t.nextPollAtMs, nextPollAtMs);
    return ok;
  }

  // ── workspaces, webhooks, settings ──────────────────────────────────────

  private static toWorkspace(a: Attrs): WorkspaceRow {
    return {
      workspaceId: String(a["pk:ws"]),
      asyncConcurrency: numOf(a.async_concurrency),
      concurrencyFetchedAtMs: numOf(a.concurrency_fetched_at),
      backoffUntilMs: numOf(a.backoff_until) ?? 0,
      authFailures: numOf(a.auth_failures) ?? 0,
      lastError: strOf(a.last_error),
    };
  }

  async getWorkspace(workspaceId: string): Promise<WorkspaceRow | undefined> {
    const a = await this.get(TABLES.workspaces, [{ ws: workspaceId }]);
    return a ? TablestoreStore.toWorkspace(a) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRow[]> {
    return (await this.range(TABLES.workspaces, [{ ws: TS.INF_MIN }], [{ ws: TS.INF_MAX }], 100_000)).map(
      TablestoreStore.toWorkspace,
    );
  }

  async putWorkspace(w: WorkspaceRow): Promise<void> {
    await this.write((c) =>
      c.putRow({
        tableName: TABLES.workspaces.name,
        condition: condition(IGNORE),
        primaryKey: [{ ws: w.workspaceId }],
        attributeColumns: putColumns({
          async_concurrency: w.asyncConcurrency === undefined ? undefined : long(w.asyncConcurrency),
          concurrency_fetched_at: w.concurrencyFetchedAtMs === undefined ? undefined : long(w.concurrencyFetchedAtMs),
          backoff_until: long(w.backoffUntilMs),
          auth_failures: long(w.authFailures),
          last_error: w.lastError,
        }),
      }),
    );
  }

  private static webhookColumns(w: WebhookRow) {
    return putColumns({
      url: w.url,
      secrets: JSON.stringify(w.secrets),
      events: w.events === undefined ? undefined : JSON.stringify(w.events),
      workspace_id: w.workspaceId,
      headers: JSON.stringify(w.headers),
      enabled: w.enabled,
      disabled_reason: w.disabledReason,
      failing_since: w.failingSinceMs === undefined ? undefined : long(w.failingSinceMs),
      created_at: long(w.createdAtMs),
    });
  }

  private static toWebhook(a: Attrs): WebhookRow {
    return {
      id: String(a["pk:id"]),
      url: String(a.url),
      secrets: JSON.parse(String(a.secrets)),
      events: a.events === undefined ? undefined : (JSON.parse(String(a.events)) as string[]),
      workspaceId: strOf(a.workspace_id),
      headers: JSON.parse(String(a.headers ?? "{}")),
      enabled: a.enabled === true,
      disabledReason: strOf(a.disabled_reason),
      failingSinceMs: numOf(a.failing_since),
      createdAtMs: numOf(a.created_at) ?? 0,
    };
  }

  async createWebhook(w: WebhookRow): Promise<void> {
    const ok = await this.write((c) =>
      c.putRow({
        tableName: TABLES.webhooks.name,
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: w.id }],
        attributeColumns: TablestoreStore.webhookColumns(w),
      }),
    );
    if (!ok) throw new Error(`a webhook with id ${w.id} already exists`);
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const a = await this.get(TABLES.webhooks, [{ id }]);
    return a ? TablestoreStore.toWebhook(a) : undefined;
  }

  async listWebhooks(): Promise<WebhookRow[]> {
    const rows = await this.range(TABLES.webhooks, [{ id: TS.INF_MIN }], [{ id: TS.INF_MAX }], 100_000);
    return rows.map(TablestoreStore.toWebhook).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  async updateWebhook(w: WebhookRow): Promise<boolean> {
    // A put replaces every column, so cleared fields are cleared.
    return this.write((c) =>
      c.putRow({
        tableName: TABLES.webhooks.name,
        condition: condition(EXPECT_EXIST),
        primaryKey: [{ id: w.id }],
        attributeColumns: TablestoreStore.webhookColumns(w),
      }),
    );
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.write((c) =>
      c.deleteRow({ tableName: TABLES.webhooks.name, condition: condition(EXPECT_EXIST), primaryKey: [{ id }] }),
    );
  }

  async getSetting(key: string): Promise<string | undefined> {
    return strOf((await this.get(TABLES.settings, [{ key }]))?.value);
  }

  async compareAndSetSetting(key: string, expected: string | undefined, value: string): Promise<boolean> {
    return this.write((c) =>
      expected === undefined
        ? c.putRow({
            tableName: TABLES.settings.name,
            condition: condition(EXPECT_NOT_EXIST),
            primaryKey: [{ key }],
            attributeColumns: [{ value }],
          })
        : c.updateRow({
            tableName: TABLES.settings.name,
            condition: condition(EXPECT_EXIST, eq("value", expected)),
            primaryKey: [{ key }],
            updateOfAttributeColumns: [{ PUT: [{ value }] }],
          }),
    );
  }

  // ── events ───────────────────────────────────────────────────────────────

  async createEvent(e: EventRow): Promise<{ event: EventRow; created: boolean }> {
    await this.putIndex(TABLES.taskEvents, [{ ws: e.workspaceId }, { task: e.taskId }, { event_id: e.id }]);
    const chunks: Record<string, string> = {};
    for (let i = 0, n = 0; i < e.body.length || n === 0; i += CHUNK, n++)
      chunks[`body_${n}`] = e.body.slice(i, i + CHUNK);
    const created = await this.write((c) =>
      c.putRow({
        tableName: TABLES.events.name,
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: e.id }],
        attributeColumns: putColumns({
          type: e.type,
          ws: e.workspaceId,
          task: e.taskId,
          created_at: long(e.createdAtMs),
          chunks: long(Object.keys(chunks).length),
          ...chunks,
        }),
      }),
    );
    if (created) return { event: e, created: true };
    const stored = await this.getEvent(e.id);
    if (!stored) throw new Error(`event ${e.id} was neither created nor found`);
    return { event: stored, created: false };
  }

  private static toEvent(a: Attrs): EventRow {
    const n = numOf(a.chunks) ?? 1;
    let body = "";
    for (let i = 0; i < n; i++) body += strOf(a[`body_${i}`]) ?? "";
    return {
      id: String(a["pk:id"]),
      type: String(a.type),
      workspaceId: String(a.ws),
      taskId: String(a.task),
      body,
      createdAtMs: numOf(a.created_at) ?? 0,
    };
  }

  async getEvent(id: string): Promise<EventRow | undefined> {
    const a = await this.get(TABLES.events, [{ id }]);
    return a ? TablestoreStore.toEvent(a) : undefined;
  }

  async listEventsForTask(workspaceId: string, taskId: string): Promise<EventRow[]> {
    const index = await this.range(
      TABLES.taskEvents,
      [{ ws: workspaceId }, { task: taskId }, { event_id: TS.INF_MIN }],
      [{ ws: workspaceId }, { task: taskId }, { event_id: TS.INF_MAX }],
      1_000,
    );
    const rows = await this.batchGet(
      TABLES.events,
      index.map((r) => [{ id: String(r["pk:event_id"]) }]),
    );
    return rows
      .filter((a): a is Attrs => a !== undefined)
      .map(TablestoreStore.toEvent)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  // ── deliveries ───────────────────────────────────────────────────────────

  private static dueDeliveryPk = (due: number, id: string): Pk => [{ shard: SHARD }, { due_at: long(due) }, { id }];

  private static toDelivery(a: Attrs): DeliveryRow {
    return {
      id: String(a["pk:id"]),
      eventId: String(a.event_id),
      webhookId: String(a.webhook_id),
      url: String(a.url),
      status: a.status as DeliveryStatus,
      attempts: numOf(a.attempts) ?? 0,
      nextAttemptAtMs: numOf(a.next_attempt_at) ?? 0,
      lastAttemptAtMs: numOf(a.last_attempt_at),
      lastStatusCode: numOf(a.last_status_code),
      lastError: strOf(a.last_error),
      lastResponse: strOf(a.last_response),
      leaseOwner: strOf(a.lease_owner),
      leaseUntilMs: numOf(a.lease_until) ?? 0,
      createdAtMs: numOf(a.created_at) ?? 0,
      deliveredAtMs: numOf(a.delivered_at),
    };
  }

  private async batchWrite(tableName: string, rows: Array<Record<string, unknown>>): Promise<boolean[]> {
    const results: boolean[] = [];
    for (let i = 0; i < rows.length; i += 200) {
      const slice = rows.slice(i, i + 200);
      let outcome: Array<{ isOk: boolean; errorCode?: string | null }> = [];
      await this.write(async (c) => {
        outcome = (await c.batchWriteRow({ tables: [{ tableName, rows: slice }] })).tables;
        // Rows that failed for a retryable reason are written again one by one below.
      });
      for (const [j, r] of outcome.entries()) {
        if (r.isOk || r.errorCode === "OTSConditionCheckFail") results.push(r.isOk);
        else {
          const row = slice[j] as { type: string; primaryKey: Pk; attributeColumns: unknown; condition: unknown };
          results.push(
            await this.write((c) =>
              row.type === "PUT"
                ? c.putRow({
                    tableName,
                    condition: row.condition,
                    primaryKey: row.primaryKey,
                    attributeColumns: row.attributeColumns,
                  })
                : c.deleteRow({ tableName, condition: row.condition, primaryKey: row.primaryKey }),
            ),
          );
        }
      }
    }
    return results;
  }

  async createDeliveries(rows: readonly NewDelivery[]): Promise<string[]> {
    const index = (table: { name: string }, pk: Pk) => ({
      table: table.name,
      row: { type: "PUT", condition: condition(IGNORE), primaryKey: pk, attributeColumns: [{ _: true }] },
    });
    const indexRows = rows.flatMap((d) => [
      index(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(d.nextAttemptAtMs, d.id)),
      index(TABLES.deliveryByEvent, [{ event_id: d.eventId }, { id: d.id }]),
      index(TABLES.deliveryByWebhook, [{ webhook_id: d.webhookId }, { id: d.id }]),
    ]);
    for (const table of new Set(indexRows.map((r) => r.table))) {
      await this.batchWrite(
        table,
        indexRows.filter((r) => r.table === table).map((r) => r.row),
      );
    }
    const created = await this.batchWrite(
      TABLES.deliveries.name,
      rows.map((d) => ({
        type: "PUT",
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: d.id }],
        attributeColumns: putColumns({
          event_id: d.eventId,
          webhook_id: d.webhookId,
          url: d.url,
          status: "pending",
          attempts: long(0),
          next_attempt_at: long(d.nextAttemptAtMs),
          lease_until: long(0),
          created_at: long(d.createdAtMs),
        }),
      })),
    );
    return rows.filter((_, i) => created[i]).map((d) => d.id);
  }

  async getDelivery(id: string): Promise<DeliveryRow | undefined> {
    const a = await this.get(TABLES.deliveries, [{ id }]);
    return a ? TablestoreStore.toDelivery(a) : undefined;
  }

  async listDeliveries(filter: {
    status?: DeliveryStatus;
    webhookId?: string;
    eventId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<DeliveryRow>> {
    const after = decodeCursor(filter.cursor, 1)?.[0];
    const from = after === undefined ? TS.INF_MIN : `${after}\u0000`;
    let ids: string[] | undefined;
    if (filter.eventId !== undefined) {
      ids = (
        await this.range(
          TABLES.deliveryByEvent,
          [{ event_id: filter.eventId }, { id: from }],
          [{ event_id: filter.eventId }, { id: TS.INF_MAX }],
          10_000,
        )
      ).map((r) => String(r["pk:id"]));
    } else if (filter.webhookId !== undefined) {
      ids = (
        await this.range(
          TABLES.deliveryByWebhook,
          [{ webhook_id: filter.webhookId }, { id: from }],
          [{ webhook_id: filter.webhookId }, { id: TS.INF_MAX }],
          10_000,
        )
      ).map((r) => String(r["pk:id"]));
    }
    let rows: DeliveryRow[];
    if (ids) {
      rows = (
        await this.batchGet(
          TABLES.deliveries,
          ids.map((id) => [{ id }]),
        )
      )
        .filter((a): a is Attrs => a !== undefined)
        .map(TablestoreStore.toDelivery);
    } else {
      rows = (await this.range(TABLES.deliveries, [{ id: from }], [{ id: TS.INF_MAX }], 100_000)).map(
        TablestoreStore.toDelivery,
      );
    }
    const matching = rows.filter(
      (d) =>
        (!filter.status || d.status === filter.status) &&
        (!filter.webhookId || d.webhookId === filter.webhookId) &&
        (!filter.eventId || d.eventId === filter.eventId),
    );
    const items = matching.slice(0, filter.limit);
    const last = items[items.length - 1];
    return { items, cursor: matching.length > filter.limit && last ? encodeCursor([last.id]) : undefined };
  }

  async dueDeliveries(nowMs: number, limit: number, after?: DuePosition): Promise<DuePosition[]> {
    // The index also holds leased (in-flight) and stale entries; reading the rows (100 per request)
    // filters them, which is cheaper than handing a deliver function ids it cannot claim. Reading
    // goes on past them, up to a bound, so a large in-flight set does not hide what is due behind it.
    const end: Pk = [{ shard: SHARD }, { due_at: long(nowMs + 1) }, { id: TS.INF_MIN }];
    const due: DuePosition[] = [];
    let from = after;
    for (let scanned = 0; due.length < limit && scanned < limit * 10; ) {
      const start: Pk = from
        ? TablestoreStore.dueDeliveryPk(from.dueMs, from.id)
        : [{ shard: SHARD }, { due_at: TS.INF_MIN }, { id: TS.INF_MIN }];
      const entries = (await this.range(TABLES.deliveryDue, start, end, Math.min(limit * 2, 1_000) + 1))
        .map((r) => ({ id: String(r["pk:id"]), dueMs: numOf(r["pk:due_at"]) ?? 0 }))
        .filter((e) => !from || e.dueMs !== from.dueMs || e.id !== from.id);
      if (entries.length === 0) break;
      scanned += entries.length;
      from = entries[entries.length - 1];
      const rows = await this.batchGet(
        TABLES.deliveries,
        entries.map(({ id }) => [{ id }]),
      );
      rows.forEach((attrs, i) => {
        const entry = entries[i];
        if (!attrs || !entry || due.length >= limit) return;
        const d = TablestoreStore.toDelivery(attrs);
        // A stale entry (the row moved on) is skipped here; claims repair the index.
        if (d.status === "pending" && d.nextAttemptAtMs === entry.dueMs && d.leaseUntilMs <= nowMs) due.push(entry);
      });
    }
    return due;
  }

  async claimDueDeliveries(claim: Claim & { ids?: readonly string[] }): Promise<DeliveryRow[]> {
    let candidates: Array<{ id: string; due: number | undefined }>;
    if (claim.ids) {
      candidates = claim.ids.map((id) => ({ id, due: undefined }));
    } else {
      candidates = (
        await this.range(
          TABLES.deliveryDue,
          [{ shard: SHARD }, { due_at: TS.INF_MIN }, { id: TS.INF_MIN }],
          [{ shard: SHARD }, { due_at: long(claim.nowMs + 1) }, { id: TS.INF_MIN }],
          claim.limit * 4,
        )
      ).map((r) => ({ id: String(r["pk:id"]), due: numOf(r["pk:due_at"]) }));
    }
    const claimed: string[] = [];
    const tryClaim = async ({ id, due }: { id: string; due: number | undefined }): Promise<void> => {
      const dueCondition =
        due === undefined
          ? new TS.SingleColumnCondition("next_attempt_at", long(claim.nowMs), CT.LESS_EQUAL, false, true)
          : eq("next_attempt_at", long(due));
      const ok = await this.write((c) =>
        c.updateRow({
          tableName: TABLES.deliveries.name,
          condition: condition(
            EXPECT_EXIST,
            all(
              eq("status", "pending"),
              dueCondition,
              new TS.SingleColumnCondition("lease_until", long(claim.nowMs), CT.LESS_EQUAL, false, true),
            ),
          ),
          primaryKey: [{ id }],
          updateOfAttributeColumns: [
            { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
          ],
        }),
      );
      if (ok) claimed.push(id);
      else if (due !== undefined) {
        const d = await this.getDelivery(id);
        if (!d && due > claim.nowMs - CREATE_GRACE_MS) return; // its delivery may still be being created
        if (d?.status !== "pending" || d.nextAttemptAtMs !== due) {
          if (d?.status === "pending")
            await this.putIndex(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(d.nextAttemptAtMs, id));
          await this.deleteRow(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(due, id));
        }
      }
    };
    // Conditional updates in parallel, never more at once than the claims still wanted, so a claim
    // is one round trip's latency per group rather than per row, and never takes more than `limit`.
    for (let next = 0; claimed.length < claim.limit && next < candidates.length; ) {
      const group = candidates.slice(next, next + claim.limit - claimed.length);
      next += group.length;
      await Promise.all(group.map(tryClaim));
    }
    const rows = await this.batchGet(
      TABLES.deliveries,
      claimed.map((id) => [{ id }]),
    );
    return rows
      .filter((a): a is Attrs => a !== undefined)
      .map(TablestoreStore.toDelivery)
      .sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs);
  }

  private async moveDeliveryDue(id: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.putIndex(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(to, id));
    if (to !== from) await this.deleteRow(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(from, id));
  }

  async updateDelivery(d: DeliveryRow, owner: string, u: DeliveryUpdate): Promise<boolean> {
    const { id } = d;
    const ok = await this.write((c) =>
      c.updateRow({
        tableName: TABLES.deliveries.name,
        condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
        primaryKey: [{ id }],
        updateOfAttributeColumns: changes({
          status: u.status,
          attempts: long(u.attempts),
          next_attempt_at: long(u.nextAttemptAtMs),
          last_attempt_at: long(u.lastAttemptAtMs),
          last_status_code: u.lastStatusCode === undefined ? undefined : long(u.lastStatusCode),
          last_error: u.lastError,
          last_response: u.lastResponse,
          ...(u.deliveredAtMs !== undefined ? { delivered_at: long(u.deliveredAtMs) } : {}),
          lease_owner: undefined,
          lease_until: long(0),
        }),
      }),
    );
    if (ok) await this.moveDeliveryDue(id, d.nextAttemptAtMs, u.status === "pending" ? u.nextAttemptAtMs : undefined);
    return ok;
  }

  async replayDelivery(id: string, nowMs: number): Promise<DeliveryRow | undefined> {
    const d = await this.getDelivery(id);
    if (!d) return undefined;
    const ok = await this.write((c) =>
      c.updateRow({
        tableName: TABLES.deliveries.name,
        condition: condition(EXPECT_EXIST),
        primaryKey: [{ id }],
        updateOfAttributeColumns: changes({
          status: "pending",
          next_attempt_at: long(nowMs),
          lease_owner: undefined,
          lease_until: long(0),
        }),
      }),
    );
    if (!ok) return undefined;
    await this.putIndex(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(nowMs, id));
    if (d.status === "pending" && d.nextAttemptAtMs !== nowMs)
      await this.deleteRow(TABLES.deliveryDue, TablestoreStore.dueDeliveryPk(d.nextAttemptAtMs, id));
    return this.getDelivery(id);
  }

  /** Creates every table that is missing; safe to run again. */
  async init(): Promise<string[]> {
    const client = await this.sdk();
    const existing = new Set((await client.listTable({})).tableNames);
    const created: string[] = [];
    for (const table of Object.values(TABLES)) {
      if (existing.has(table.name)) continue;
      try {
        await client.createTable({
          tableMeta: { tableName: table.name, primaryKey: table.pk.map(([name, type]) => ({ name, type })) },
          reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
          tableOptions: { timeToLive: -1, maxVersions: 1 },
        });
        created.push(table.name);
      } catch (error) {
        if (!String((error as Error).message).includes("OTSObjectAlreadyExist")) throw error;
      }
    }
    return created;
  }

  async close(): Promise<void> {
    this.client = undefined;
  }
}
