/**
 * Tasks on Tablestore: the task row, its due-time index (what `claimDueTasks` reads) and its queue
 * index (submission order per workspace, what `oldestActiveTasks` reads). Index entries are moved
 * new-first, so a crash leaves an extra entry that the next reader repairs, never a lost task.
 */
import type { AttributeValue, Pk } from "tablestore";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { Claim, Page, RegisterTaskInput, TaskDue, TaskRow, TaskState, TaskUpdate } from "../store.js";
import {
  all,
  atMost,
  changes,
  condition,
  EXPECT_EXIST,
  EXPECT_NOT_EXIST,
  eq,
  putColumns,
  type TablestoreClient,
  TS,
} from "./client.js";
import { type Attrs, keys, long, numOf, read, SHARD, TASK } from "./codecs.js";
import { CREATE_GRACE_MS, TABLES } from "./schema.js";

const toTask = (a: Attrs) => read(TASK, a);

export class TaskTable {
  constructor(private readonly db: TablestoreClient) {}

  async register(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    for (;;) {
      const existing = await this.get(input.workspaceId, input.taskId);
      if (existing) {
        const added = (input.webhookUrls ?? []).filter((u) => !existing.webhookUrls.includes(u));
        if (added.length === 0) return { task: existing, created: false };
        const webhookUrls = [...existing.webhookUrls, ...added];
        const ok = await this.db.write((c) =>
          c.updateRow({
            tableName: TABLES.tasks.name,
            condition: condition(EXPECT_EXIST, eq("webhook_urls", JSON.stringify(existing.webhookUrls))),
            primaryKey: keys.task(input.workspaceId, input.taskId),
            updateOfAttributeColumns: [{ PUT: [{ webhook_urls: JSON.stringify(webhookUrls) }] }],
          }),
        );
        if (ok) return { task: { ...existing, webhookUrls }, created: false };
        continue; // someone else changed it: read again
      }
      const submittedAtMs = input.submittedAtMs ?? nowMs;
      const nextPollAtMs = input.firstPollAtMs ?? nowMs;
      // Index rows first: a crash after them leaves entries the readers repair, never a lost task.
      await this.db.putIndexes([
        { table: TABLES.taskDue, pk: keys.taskDue(nextPollAtMs, input.workspaceId, input.taskId) },
        { table: TABLES.taskQueue, pk: keys.taskQueue(input.workspaceId, submittedAtMs, input.taskId) },
      ]);
      const created = await this.db.write((c) =>
        c.putRow({
          tableName: TABLES.tasks.name,
          condition: condition(EXPECT_NOT_EXIST),
          primaryKey: keys.task(input.workspaceId, input.taskId),
          attributeColumns: putColumns(
            Object.entries({
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
          ),
        }),
      );
      if (created) {
        const task = await this.get(input.workspaceId, input.taskId);
        if (task) return { task, created: true };
      }
    }
  }

  async get(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    const a = await this.db.get(TABLES.tasks, keys.task(workspaceId, taskId));
    return a ? toTask(a) : undefined;
  }

  async list(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    const after = decodeCursor(filter.cursor, 2);
    const start: Pk = after
      ? [{ ws: after[0] as string }, { task: `${after[1]}\u0000` }]
      : [{ ws: filter.workspaceId ?? TS.INF_MIN }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: filter.workspaceId ?? TS.INF_MAX }, { task: TS.INF_MAX }];
    const items: TaskRow[] = [];
    let from = start;
    for (;;) {
      const rows = await this.db.range(TABLES.tasks, from, end, 500);
      for (const a of rows) {
        const t = toTask(a);
        if ((filter.state && t.state !== filter.state) || (filter.status && t.status !== filter.status)) continue;
        items.push(t);
        if (items.length > filter.limit) break;
      }
      const last = rows[rows.length - 1];
      if (items.length > filter.limit || rows.length < 500 || !last) break;
      from = [{ ws: String(last.ws) }, { task: `${String(last.task)}\u0000` }];
    }
    const page = items.slice(0, filter.limit);
    const tail = page[page.length - 1];
    return {
      items: page,
      cursor: items.length > filter.limit && tail ? encodeCursor([tail.workspaceId, tail.taskId]) : undefined,
    };
  }

  async claimDue(claim: Claim): Promise<TaskRow[]> {
    const candidates = await this.db.range(
      TABLES.taskDue,
      [{ shard: SHARD }, { due_at: TS.INF_MIN }, { ws: TS.INF_MIN }, { task: TS.INF_MIN }],
      [{ shard: SHARD }, { due_at: long(claim.nowMs + 1) }, { ws: TS.INF_MIN }, { task: TS.INF_MIN }],
      claim.limit * 4,
    );
    const claimed: Array<[string, string]> = [];
    for (const c of candidates) {
      if (claimed.length >= claim.limit) break;
      const due = numOf(c.due_at) ?? 0;
      const ws = String(c.ws);
      const task = String(c.task);
      const ok = await this.db.write((client) =>
        client.updateRow({
          tableName: TABLES.tasks.name,
          condition: condition(
            EXPECT_EXIST,
            all(eq("state", "active"), eq("next_poll_at", long(due)), atMost("lease_until", long(claim.nowMs))),
          ),
          primaryKey: keys.task(ws, task),
          updateOfAttributeColumns: [
            { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
          ],
        }),
      );
      if (ok) claimed.push([ws, task]);
      else {
        const t = await this.get(ws, task);
        if (t?.state !== "active" || t.nextPollAtMs !== due) await this.repairDue(due, ws, task, claim.nowMs);
      }
    }
    const rows = await this.db.batchGet(
      TABLES.tasks,
      claimed.map(([ws, task]) => keys.task(ws, task)),
    );
    return rows
      .filter((a): a is Attrs => a !== undefined)
      .map(toTask)
      .sort((a, b) => a.nextPollAtMs - b.nextPollAtMs);
  }

  /** Re-indexes or drops a due entry that disagrees with its task. */
  private async repairDue(due: number, ws: string, task: string, nowMs: number): Promise<void> {
    const t = await this.get(ws, task);
    if (!t && due > nowMs - CREATE_GRACE_MS) return; // its task may still be being created
    if (t && t.state === "active" && t.nextPollAtMs !== due) {
      await this.db.putIndex(TABLES.taskDue, keys.taskDue(t.nextPollAtMs, ws, task));
    }
    if (t?.state !== "active" || t.nextPollAtMs !== due)
      await this.db.deleteRow(TABLES.taskDue, keys.taskDue(due, ws, task));
  }

  // The queue index alone: one GetRange, no rows read (an entry a crash left behind counts too).
  async countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    const from: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MIN }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: long(submittedAtMs) }, { task: TS.INF_MAX }];
    return (await this.db.range(TABLES.taskQueue, from, end, limit)).length;
  }

  async oldestActive(workspaceId: string, limit: number): Promise<TaskRow[]> {
    const out: TaskRow[] = [];
    let from: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MIN }, { task: TS.INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: TS.INF_MAX }, { task: TS.INF_MAX }];
    while (out.length < limit) {
      const entries = await this.db.range(TABLES.taskQueue, from, end, limit - out.length);
      if (entries.length === 0) break;
      const tasks = await this.db.batchGet(
        TABLES.tasks,
        entries.map((e) => keys.task(workspaceId, String(e.task))),
      );
      for (const [i, e] of entries.entries()) {
        const a = tasks[i];
        const t = a ? toTask(a) : undefined;
        const at = numOf(e.submitted_at) ?? 0;
        if (t && t.state === "active" && t.submittedAtMs === at) out.push(t);
        else await this.db.deleteRow(TABLES.taskQueue, keys.taskQueue(workspaceId, at, String(e.task))); // stale
      }
      const last = entries[entries.length - 1] as Attrs;
      from = [
        { ws: workspaceId },
        { submitted_at: long(numOf(last.submitted_at) ?? 0) },
        { task: `${String(last.task)}\u0000` },
      ];
    }
    return out;
  }

  /** Moves a task's due entry from `from` to `to` (new entry first: a crash leaves a repairable extra). */
  private async moveDue(ws: string, task: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.db.putIndex(TABLES.taskDue, keys.taskDue(to, ws, task));
    if (to !== from) await this.db.deleteRow(TABLES.taskDue, keys.taskDue(from, ws, task));
  }

  // A write, not a read and a write: the condition holds the task to what the planner read.
  async pollSooner(t: TaskDue, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    const { workspaceId, taskId } = t;
    if (t.nextPollAtMs <= nextPollAtMs) return false;
    const ok = await this.db.write((c) =>
      c.updateRow({
        tableName: TABLES.tasks.name,
        condition: condition(
          EXPECT_EXIST,
          all(eq("state", "active"), eq("next_poll_at", long(t.nextPollAtMs)), atMost("lease_until", long(nowMs))),
        ),
        primaryKey: keys.task(workspaceId, taskId),
        updateOfAttributeColumns: [{ PUT: [{ next_poll_at: long(nextPollAtMs) }] }],
      }),
    );
    if (ok) await this.moveDue(workspaceId, taskId, t.nextPollAtMs, nextPollAtMs);
    return ok;
  }

  // No read first: the condition on lease_owner decides, and the claimed row says where it is indexed.
  async update(t: TaskRow, owner: string, u: TaskUpdate): Promise<boolean> {
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
    if (!(await this.leasedUpdate(t, owner, values))) return false;
    const done = (u.state ?? t.state) === "done";
    await this.moveDue(workspaceId, taskId, t.nextPollAtMs, done ? undefined : u.nextPollAtMs);
    if (done) await this.db.deleteRow(TABLES.taskQueue, keys.taskQueue(workspaceId, t.submittedAtMs, taskId));
    return true;
  }

  async release(t: TaskRow, owner: string, nextPollAtMs: number): Promise<boolean> {
    const values = { next_poll_at: long(nextPollAtMs), lease_owner: undefined, lease_until: long(0) };
    const ok = await this.leasedUpdate(t, owner, values);
    if (ok) await this.moveDue(t.workspaceId, t.taskId, t.nextPollAtMs, nextPollAtMs);
    return ok;
  }

  /** An update that only the lease's holder can make. */
  private leasedUpdate(t: TaskRow, owner: string, values: Record<string, AttributeValue | undefined>) {
    return this.db.write((c) =>
      c.updateRow({
        tableName: TABLES.tasks.name,
        condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
        primaryKey: keys.task(t.workspaceId, t.taskId),
        updateOfAttributeColumns: changes(values),
      }),
    );
  }
}
