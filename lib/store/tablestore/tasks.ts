/**
 * Tasks on Tablestore: the task row, its due-time index (what `claimDueTasks` reads) and its queue
 * index (submission order per workspace, what `oldestActiveTasks` reads). Index entries are moved
 * new-first, so a crash leaves an extra entry that the next reader repairs, never a lost task.
 */

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
} from "./client.js";
import { type Attrs, keys, long, numOf, read, SHARD, TASK } from "./codecs.js";
import { LeasesSeen } from "./leases-seen.js";
import { newestPage, rowsAtTime } from "./newest.js";
import { CREATE_GRACE_MS, TABLES } from "./schema.js";
import type { DueShards } from "./shards.js";
import { type AttributeValue, INF_MAX, INF_MIN, type Pk } from "./wire/values.js";

const toTask = (a: Attrs) => read(TASK, a);
/** A due entry: a task due at a time (a moved task is a new entry). */
const entryKey = (ws: string, task: string, due: number) => `${ws}\u0000${task}\u0000${due}`;

interface DueEntry {
  readonly shard: string;
  readonly due: number;
  readonly ws: string;
  readonly task: string;
}

export class TaskTable {
  private readonly leases = new LeasesSeen();
  /** Claimed entries found outside the shard their key hashes to now (the count changed since). */
  private readonly strays = new Map<string, string>();

  constructor(
    private readonly db: TablestoreClient,
    private readonly shards: DueShards,
  ) {}

  /**
   * Written optimistically, since most registrations are of new tasks: the index entries, then the
   * row if there is none — no read first. When the task exists, the entries stay where they are:
   * one may share its key with the row's own live entry, and only a reader, which checks the row,
   * can tell a stale entry from a live one (it repairs the stale ones it meets).
   */
  async register(input: RegisterTaskInput, nowMs: number): Promise<{ task: TaskRow; created: boolean }> {
    const submittedAtMs = input.submittedAtMs ?? nowMs;
    const nextPollAtMs = input.firstPollAtMs ?? nowMs;
    // Index rows first: a crash after them leaves entries the readers repair, never a lost task.
    await this.db.putIndexes([
      { table: TABLES.taskDue, pk: this.shards.taskDue(nextPollAtMs, input.workspaceId, input.taskId) },
      { table: TABLES.taskQueue, pk: keys.taskQueue(input.workspaceId, submittedAtMs, input.taskId) },
      { table: TABLES.taskTime, pk: keys.taskTime(nowMs, input.workspaceId, input.taskId) },
    ]);
    const columns = {
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
      running_since: input.runningSinceMs === undefined ? undefined : long(input.runningSinceMs),
      video_duration: input.videoDurationMs === undefined ? undefined : long(input.videoDurationMs),
    };
    for (;;) {
      const created = await this.db.write((c) =>
        c.putRow({
          tableName: TABLES.tasks.name,
          condition: condition(EXPECT_NOT_EXIST),
          primaryKey: keys.task(input.workspaceId, input.taskId),
          attributeColumns: putColumns(Object.entries(columns)),
        }),
      );
      // The row is what was just written: no read to return it.
      if (created) return { task: toTask({ ...columns, ws: input.workspaceId, task: input.taskId } as Attrs), created };
      const existing = await this.get(input.workspaceId, input.taskId);
      if (!existing) continue; // erased in between: create it after all
      // The row keeps its first registration time: this call's time entry names nothing.
      if (existing.registeredAtMs !== nowMs)
        await this.db.deleteIndex(TABLES.taskTime, keys.taskTime(nowMs, input.workspaceId, input.taskId));
      const added = (input.webhookUrls ?? []).filter((u) => !existing.webhookUrls.includes(u));
      if (added.length === 0) return { task: existing, created: false };
      const webhookUrls = [...existing.webhookUrls, ...added];
      const ok = await this.db.update({
        tableName: TABLES.tasks.name,
        condition: condition(EXPECT_EXIST, eq("webhook_urls", JSON.stringify(existing.webhookUrls))),
        primaryKey: keys.task(input.workspaceId, input.taskId),
        updateOfAttributeColumns: [{ PUT: [{ webhook_urls: JSON.stringify(webhookUrls) }] }],
      });
      if (ok) return { task: { ...existing, webhookUrls }, created: false };
      // Someone else changed it, or erased it: try again from the create.
    }
  }

  async get(workspaceId: string, taskId: string): Promise<TaskRow | undefined> {
    const a = await this.db.get(TABLES.tasks, keys.task(workspaceId, taskId));
    return a ? toTask(a) : undefined;
  }

  /** Newest registration first, through the time index; the filters are applied to the rows. */
  list(filter: {
    state?: TaskState;
    status?: string;
    workspaceId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<TaskRow>> {
    return newestPage(
      this.db,
      {
        table: TABLES.taskTime,
        prefix: [{ shard: SHARD }],
        time: "registered_at",
        rest: ["ws", "task"],
        rows: (entries) =>
          rowsAtTime(
            this.db,
            TABLES.tasks,
            entries,
            (e) => keys.task(String(e.ws), String(e.task)),
            "registered_at",
            toTask,
          ),
        matches: (t) =>
          (!filter.state || t.state === filter.state) &&
          (!filter.status || t.status === filter.status) &&
          (!filter.workspaceId || t.workspaceId === filter.workspaceId),
      },
      filter,
    );
  }

  /**
   * Shard by shard (this process's round), the due entries up to now; each taken by a conditional
   * update of its task, in parallel but never more at once than the claims still wanted.
   */
  async claimDue(claim: Claim): Promise<TaskRow[]> {
    const claimed: Array<[string, string]> = [];
    const shards = await this.shards.round();
    for (const shard of shards) {
      if (claimed.length >= claim.limit) break;
      const window = (
        await this.db.range(
          TABLES.taskDue,
          [{ shard }, { due_at: INF_MIN }, { ws: INF_MIN }, { task: INF_MIN }],
          [{ shard }, { due_at: long(claim.nowMs + 1) }, { ws: INF_MIN }, { task: INF_MIN }],
          this.leases.window(claim.limit - claimed.length, claim.nowMs),
        )
      )
        .map((c): DueEntry => ({ shard, due: numOf(c.due_at) ?? 0, ws: String(c.ws), task: String(c.task) }))
        .filter((e) => !this.leases.held(entryKey(e.ws, e.task, e.due), claim.nowMs));
      const entries = this.shards.rotate(window, shards.length);
      for (let next = 0; claimed.length < claim.limit && next < entries.length; ) {
        const group = entries.slice(next, next + claim.limit - claimed.length);
        next += group.length;
        const failed: DueEntry[] = [];
        await Promise.all(
          group.map(async (e) => {
            if (await this.claimOne(e, claim)) claimed.push([e.ws, e.task]);
            else failed.push(e);
          }),
        );
        await this.repairDue(failed, claim.nowMs);
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

  private async claimOne(e: DueEntry, claim: Claim): Promise<boolean> {
    const ok = await this.db.update({
      tableName: TABLES.tasks.name,
      condition: condition(
        EXPECT_EXIST,
        all(eq("state", "active"), eq("next_poll_at", long(e.due)), atMost("lease_until", long(claim.nowMs))),
      ),
      primaryKey: keys.task(e.ws, e.task),
      updateOfAttributeColumns: [
        { PUT: [{ lease_owner: claim.owner }, { lease_until: long(claim.nowMs + claim.leaseMs) }] },
      ],
    });
    const key = entryKey(e.ws, e.task, e.due);
    if (ok) {
      this.leases.hold(key, claim.nowMs + claim.leaseMs);
      if (e.shard !== this.shards.taskShard(e.ws, e.task) && this.strays.size < 10_000) this.strays.set(key, e.shard);
    }
    return ok;
  }

  /**
   * After claims that failed: their tasks read in one request, and each entry that disagrees with
   * its task re-indexed or dropped; one that is right is leased by another claimer, and passed over
   * until that lease ends.
   */
  private async repairDue(failed: readonly DueEntry[], nowMs: number): Promise<void> {
    if (failed.length === 0) return;
    const rows = await this.db.batchGet(
      TABLES.tasks,
      failed.map((e) => keys.task(e.ws, e.task)),
    );
    await Promise.all(
      failed.map(async (e, i) => {
        const a = rows[i];
        const t = a ? toTask(a) : undefined;
        if (!t && e.due > nowMs - CREATE_GRACE_MS) return; // its task may still be being created
        if (t?.state === "active" && t.nextPollAtMs === e.due) {
          if (t.leaseUntilMs > nowMs) this.leases.hold(entryKey(e.ws, e.task, e.due), t.leaseUntilMs);
          return;
        }
        if (t?.state === "active")
          await this.db.putIndex(TABLES.taskDue, this.shards.taskDue(t.nextPollAtMs, e.ws, e.task));
        // Where it was found: written under another shard count, it is not where this count puts it.
        await this.db.deleteIndex(TABLES.taskDue, keys.taskDue(e.shard, e.due, e.ws, e.task));
      }),
    );
  }

  // The queue index alone: one GetRange, no rows read (an entry a crash left behind counts too).
  async countQueuedAhead(workspaceId: string, submittedAtMs: number, limit: number): Promise<number> {
    const from: Pk = [{ ws: workspaceId }, { submitted_at: INF_MIN }, { task: INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: long(submittedAtMs) }, { task: INF_MAX }];
    return (await this.db.range(TABLES.taskQueue, from, end, limit)).length;
  }

  async oldestActive(workspaceId: string, limit: number): Promise<TaskRow[]> {
    const out: TaskRow[] = [];
    let from: Pk = [{ ws: workspaceId }, { submitted_at: INF_MIN }, { task: INF_MIN }];
    const end: Pk = [{ ws: workspaceId }, { submitted_at: INF_MAX }, { task: INF_MAX }];
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
        else await this.db.deleteIndex(TABLES.taskQueue, keys.taskQueue(workspaceId, at, String(e.task))); // stale
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

  /** The due entry a task is leaving: where its claim found it, else where its key hashes to. */
  private heldEntry(due: number, ws: string, task: string): Pk {
    const key = entryKey(ws, task, due);
    const shard = this.strays.get(key) ?? this.shards.taskShard(ws, task);
    this.strays.delete(key);
    return keys.taskDue(shard, due, ws, task);
  }

  /** Moves a task's due entry from `from` to `to` (new entry first: a crash leaves a repairable extra). */
  private async moveDue(ws: string, task: string, from: number, to: number | undefined): Promise<void> {
    if (to !== undefined && to !== from) await this.db.putIndex(TABLES.taskDue, this.shards.taskDue(to, ws, task));
    if (to !== from) await this.db.deleteIndex(TABLES.taskDue, this.heldEntry(from, ws, task));
  }

  // A write, not a read and a write: the condition holds the task to what the planner read.
  async pollSooner(t: TaskDue, nextPollAtMs: number, nowMs: number): Promise<boolean> {
    const { workspaceId, taskId } = t;
    if (t.nextPollAtMs <= nextPollAtMs) return false;
    const ok = await this.db.update({
      tableName: TABLES.tasks.name,
      condition: condition(
        EXPECT_EXIST,
        all(eq("state", "active"), eq("next_poll_at", long(t.nextPollAtMs)), atMost("lease_until", long(nowMs))),
      ),
      primaryKey: keys.task(workspaceId, taskId),
      updateOfAttributeColumns: [{ PUT: [{ next_poll_at: long(nextPollAtMs) }] }],
    });
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
    if (u.progressParts !== undefined) values.progress_parts = JSON.stringify(u.progressParts);
    if (!(await this.leasedUpdate(t, owner, values))) return false;
    if ((u.state ?? t.state) !== "done") await this.moveDue(workspaceId, taskId, t.nextPollAtMs, u.nextPollAtMs);
    else
      await Promise.all([
        this.db.deleteIndex(TABLES.taskDue, this.heldEntry(t.nextPollAtMs, workspaceId, taskId)),
        this.db.deleteIndex(TABLES.taskQueue, keys.taskQueue(workspaceId, t.submittedAtMs, taskId)),
      ]);
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
    this.leases.release(entryKey(t.workspaceId, t.taskId, t.nextPollAtMs));
    return this.db.update({
      tableName: TABLES.tasks.name,
      condition: condition(EXPECT_EXIST, eq("lease_owner", owner)),
      primaryKey: keys.task(t.workspaceId, t.taskId),
      updateOfAttributeColumns: changes(values),
    });
  }
}
