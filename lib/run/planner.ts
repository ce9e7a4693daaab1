/**
 * The workspace planner: what each workspace may run at once (GetVideoAnalysisConfig, cached), which
 * workspaces are backed off after an AuthError, and each workspace's queue head — the oldest tasks,
 * in tiers — pulled forward so that running tasks and the next to start are polled on time.
 * Planned for every workspace when a run starts; after an end, again at once where tasks waited
 * behind the window, and at most every ROOMY_TRUST_MS where none did.
 */
import { forEachLimit } from "../concurrency.js";
import { describeError } from "../errors.js";
import {
  CONFIG_TTL_MS,
  DEFAULT_CONCURRENCY,
  isPresumedRunning,
  planWorkspace,
  type Tier,
  tierAt,
  workspaceBackoffMs,
} from "../poll.js";
import { AuthError, ThrottledError } from "../quanmiao/errors.js";
import type { TaskRow, WorkspaceRow } from "../store/store.js";
import { type RunContext, taskKey } from "./context.js";

/** How long a roomy head is trusted after an end in it before it is read again (see endedInRoomy). */
const ROOMY_TRUST_MS = 5_000;

export class WorkspacePlanner {
  private readonly workspaces = new Map<string, WorkspaceRow>();
  /** Workspaces whose concurrency this run asked for already (asked once per run at most). */
  private readonly configTried = new Set<string>();
  /** Each planned workspace's queue head: task key → tier. */
  private readonly heads = new Map<string, Map<string, Tier>>();
  /** Workspaces where a task ended in this run: their queue head moved and is planned again. */
  private readonly moved = new Set<string>();
  /**
   * Workspaces whose head, when last planned, held fewer tasks than the workspace may run: nothing
   * waited behind their window then, so an end there is not planned at once (re-reading after every
   * end was most of the planner's cost when tasks end by the thousand); see endedInRoomy.
   */
  private readonly roomy = new Set<string>();
  /**
   * Roomy workspaces where a task ended since their head was read. A task registered since then
   * behind a full window was parked at registration (lib/tasks.ts) and is claimed by no run, so
   * tierOf never sees it: the head is read again once it is ROOMY_TRUST_MS old.
   */
  private readonly endedInRoomy = new Set<string>();
  /** When each planned workspace's head was read. */
  private readonly readAt = new Map<string, number>();
  /** Each planned workspace's concurrency: how many tasks its window holds. */
  private readonly windows = new Map<string, number>();
  /** Per workspace, a time its latest noticed end is known to be after (that end freed a slot). */
  private readonly slotFreedAfter = new Map<string, number>();

  constructor(
    private readonly run: RunContext,
    /** Told of every running task in a queue head, with when it is next due. */
    private readonly onRunning: (task: TaskRow) => void,
  ) {}

  workspace(id: string): WorkspaceRow | undefined {
    return this.workspaces.get(id);
  }

  tierOf(task: TaskRow): Tier {
    const head = this.heads.get(task.workspaceId);
    const key = taskKey(task);
    const tier = head?.get(key);
    if (tier !== undefined) return tier;
    if (head === undefined) {
      // A workspace first seen since the run started, or whose back-off ran out since it was planned,
      // is planned before the next claim, which pulls this task forward if its window has room.
      const ws = this.workspaces.get(task.workspaceId);
      if (ws === undefined || ws.backoffUntilMs <= this.run.deps.clock.now()) this.moved.add(task.workspaceId);
      return "parked";
    }
    // Missing from the head: beyond a full head (parked), or registered since it was read, placed
    // behind every task in it (a task registered with an older submission time is in fact ahead).
    const next = tierAt(head.size, this.windows.get(task.workspaceId) ?? DEFAULT_CONCURRENCY);
    head.set(key, next);
    if (next !== "window") this.roomy.delete(task.workspaceId);
    return next;
  }

  /** A task ended; when it was running, the slot it freed went no earlier than its poll before. */
  noteEnd(task: TaskRow, wasRunningAtMs: number | undefined): void {
    if (this.roomy.has(task.workspaceId)) {
      this.heads.get(task.workspaceId)?.delete(taskKey(task));
      this.endedInRoomy.add(task.workspaceId);
    } else this.moved.add(task.workspaceId);
    if (wasRunningAtMs === undefined) return;
    this.slotFreedAfter.set(task.workspaceId, Math.max(this.slotFreedAfter.get(task.workspaceId) ?? 0, wasRunningAtMs));
  }

  slotFreedAfterMs(workspaceId: string): number | undefined {
    return this.slotFreedAfter.get(workspaceId);
  }

  /** Every workspace at the start of a run; afterwards only those whose head moved. */
  async plan(all: boolean): Promise<void> {
    const { store } = this.run.deps;
    // Workspaces are planned side by side: each may wait on a GetVideoAnalysisConfig call.
    const width = this.run.policy.apiConcurrency;
    if (all) {
      await forEachLimit(await store.listWorkspaces(), width, (ws) => this.planOne(ws));
      return;
    }
    const nowMs = this.run.deps.clock.now();
    for (const id of this.endedInRoomy) {
      if (nowMs - (this.readAt.get(id) ?? 0) < ROOMY_TRUST_MS) continue;
      this.endedInRoomy.delete(id);
      this.moved.add(id);
    }
    const moved = [...this.moved];
    this.moved.clear();
    await forEachLimit(moved, width, async (id) => {
      const ws = this.workspaces.get(id) ?? (await store.getWorkspace(id));
      if (ws) await this.planOne(ws);
    });
  }

  /** Backs off a whole workspace whose key or workspace the API refused. */
  async backOff(ws: WorkspaceRow, error: AuthError): Promise<WorkspaceRow> {
    const { clock, store } = this.run.deps;
    const summary = this.run.summary;
    const failures = ws.authFailures + 1;
    const next = {
      ...ws,
      authFailures: failures,
      backoffUntilMs: clock.now() + workspaceBackoffMs(failures),
      lastError: error.describe(),
    };
    await store.putWorkspace(next);
    this.workspaces.set(ws.workspaceId, next);
    if (!summary.authFailures.includes(ws.workspaceId)) summary.authFailures.push(ws.workspaceId);
    this.run.log({
      level: "warn",
      msg: "workspace backed off",
      workspaceId: ws.workspaceId,
      until: new Date(next.backoffUntilMs).toISOString(),
      error: error.describe(),
    });
    return next;
  }

  /** Backs off the task's workspace (read from the store when this run has not planned it). */
  async backOffWorkspaceOf(task: TaskRow, error: AuthError): Promise<{ backoffUntilMs: number }> {
    const ws = this.workspaces.get(task.workspaceId) ?? (await this.run.deps.store.getWorkspace(task.workspaceId));
    return ws ? await this.backOff(ws, error) : { backoffUntilMs: this.run.deps.clock.now() + workspaceBackoffMs(1) };
  }

  /** A call for this workspace succeeded: an auth back-off streak is over. */
  async healed(workspaceId: string): Promise<void> {
    const ws = this.workspaces.get(workspaceId);
    if (!ws || ws.authFailures === 0) return;
    const healed = { ...ws, authFailures: 0, lastError: undefined };
    this.workspaces.set(workspaceId, healed);
    await this.run.deps.store.putWorkspace(healed);
  }

  /** Pulls a workspace's queue head forward: the window now, the band on the sweep. */
  private async planOne(stored: WorkspaceRow): Promise<void> {
    const { clock, store } = this.run.deps;
    const ws = this.workspaces.get(stored.workspaceId) ?? stored;
    this.workspaces.set(ws.workspaceId, ws);
    this.heads.delete(ws.workspaceId);
    this.roomy.delete(ws.workspaceId);
    this.endedInRoomy.delete(ws.workspaceId);
    if (ws.backoffUntilMs > clock.now()) return;
    const concurrency = await this.concurrencyOf(ws);
    if (concurrency === undefined) return;
    this.readAt.set(ws.workspaceId, clock.now());
    const oldest = await store.oldestActiveTasks(ws.workspaceId, 2 * concurrency);
    this.windows.set(ws.workspaceId, concurrency);
    this.heads.set(ws.workspaceId, new Map(oldest.map((t, i) => [taskKey(t), tierAt(i, concurrency)])));
    if (oldest.length < concurrency) this.roomy.add(ws.workspaceId);
    // The queue head holds every running task, whoever polled it last, and those presumed running.
    for (const t of oldest) if (t.status === "RUNNING" || isPresumedRunning(t)) this.onRunning(t);
    for (const change of planWorkspace(oldest, concurrency, clock.now(), this.run.policy)) {
      await store.pollSooner(change.task, change.dueAtMs, clock.now());
    }
  }

  /** The workspace's asyncConcurrency; undefined when the workspace was just backed off. */
  private async concurrencyOf(ws: WorkspaceRow): Promise<number | undefined> {
    const { clock, client, store } = this.run.deps;
    const known = ws.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    const fresh = ws.concurrencyFetchedAtMs !== undefined && clock.now() - ws.concurrencyFetchedAtMs < CONFIG_TTL_MS;
    if (fresh || this.configTried.has(ws.workspaceId)) return known;
    this.configTried.add(ws.workspaceId);
    if (!(await this.run.limiter.take(this.run.stopStartingAtMs))) return known;
    const release = await this.run.apiSlots.acquire();
    try {
      const { asyncConcurrency } = await client.getConfig(ws.workspaceId);
      const next = {
        ...ws,
        asyncConcurrency: asyncConcurrency ?? ws.asyncConcurrency,
        concurrencyFetchedAtMs: clock.now(),
      };
      await store.putWorkspace(next);
      this.workspaces.set(ws.workspaceId, next);
      return next.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    } catch (error) {
      if (error instanceof AuthError) {
        await this.backOff(ws, error);
        return undefined;
      }
      if (error instanceof ThrottledError) this.run.limiter.throttled(error.retryAfterMs);
      this.run.log({
        level: "warn",
        msg: "GetVideoAnalysisConfig failed; using the last known concurrency",
        workspaceId: ws.workspaceId,
        error: describeError(error),
      });
      return known;
    } finally {
      release();
    }
  }
}
