/**
 * One timer run inside a time budget: plan each workspace's queue head, poll due tasks within the
 * API's limits, turn finished tasks into events and deliveries, and deliver them while polling goes
 * on (a delivery pump beside the poll loop), so a finished task's webhook normally leaves within
 * the second its end is noticed. With RELAY_LINGER the run stays alive while it has running tasks,
 * sleeping until each one's next poll is due, so that a timer that fires once a minute still
 * notices ends within seconds; with nothing running it ends at once, as an idle run always has.
 *
 * Nothing here throws for one task or one delivery: failures are written to their rows and counted
 * in the summary; a store that fails the run's own reads or claims ends the run early, counted too. A crash at any point leaves leased rows that come back when the lease runs out,
 * and everything written is keyed so that doing it again creates nothing twice.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import { forEachLimit, KeyedSemaphore, Semaphore } from "./concurrency.js";
import type { Config } from "./config.js";
import { DeliveryRun } from "./delivery/deliver.js";
import { type AsyncInvoker, FanOut } from "./delivery/fanout.js";
import type { Resolver } from "./delivery/guard.js";
import { deliverDue } from "./delivery/loop.js";
import { attemptDelay } from "./delivery/schedule.js";
import type { WebhookSender } from "./delivery/send.js";
import { formatDuration } from "./duration.js";
import { buildEvent, type EventType, eventTypeForStatus, taskUrlsWant, webhookWants } from "./events.js";
import { deliveryId, taskTargetId } from "./ids.js";
import { RateLimiter, type Sleep } from "./limiter.js";
import {
  afterAnswer,
  afterRetryableError,
  CONFIG_TTL_MS,
  DEFAULT_CONCURRENCY,
  estimateStartMs,
  isExpired,
  planWorkspace,
  type Running,
  type Tier,
  tierAt,
  workspaceBackoffMs,
} from "./poll.js";
import type { QuanmiaoClient } from "./quanmiao/client.js";
import { AuthError, QuanmiaoError, TaskNotFoundError, ThrottledError } from "./quanmiao/errors.js";
import { isTerminalStatus, type JsonObject } from "./quanmiao/schema.js";
import { RunTimeStats } from "./runtime-stats.js";
import { modelFor, runTimeOf } from "./runtimes.js";
import { defaultSecrets } from "./secrets.js";
import type { NewDelivery, Store, TaskRow, WebhookRow, WebhookSecret, WorkspaceRow } from "./store/store.js";

export interface TickDeps {
  readonly store: Store;
  readonly client: QuanmiaoClient;
  readonly config: Config;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly sender: WebhookSender;
  readonly resolve?: Resolver | undefined;
  /** Lease owner name; unique per run by default. */
  readonly owner?: string;
  readonly quickRetries?: number;
  readonly log?: ((entry: Record<string, unknown>) => void) | undefined;
  /** With RELAY_DISPATCH=fc: queues invocations of the deliver function (fan-out). */
  readonly invoker?: AsyncInvoker | undefined;
}

export interface TickSummary {
  polled: number;
  /** Tasks whose status changed. */
  changed: number;
  events: number;
  delivered: number;
  retried: number;
  dead: number;
  /** Deliveries handed to the deliver function, and the invocations that carried them. */
  handedOff: number;
  invocations: number;
  throttled: number;
  expired: number;
  errors: number;
  /**
   * Ends noticed more than RELAY_DETECTION_TARGET after the poll before (they may have been
   * noticed later than the target; the true delay is somewhere in that gap).
   */
  lateEnds: number;
  /** Time this run spent asleep waiting for its running tasks' next polls (RELAY_LINGER). */
  lingeredMs: number;
  /** Workspaces backed off after an AuthError in this run. */
  authFailures: string[];
  /** True when the run stopped because its budget ran out with work left. */
  budgetExhausted: boolean;
  durationMs: number;
}

/** A lingering sleep that ends this much before its due time was cut short on purpose. */
const EARLY_WAKE_MS = 50;

/** How long the delivery pump waits, once woken, for more deliveries to claim together. */
const PUMP_GATHER_MS = 20;

const taskKey = (t: Pick<TaskRow, "workspaceId" | "taskId">) => `${t.workspaceId}\u0000${t.taskId}`;

function errorText(error: unknown): string {
  if (error instanceof QuanmiaoError) return error.describe();
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function runTick(deps: TickDeps, options: { budgetMs: number }): Promise<TickSummary> {
  const { store, client, config, clock, random } = deps;
  const policy = config.poll;
  const startedAtMs = clock.now();
  const deadlineMs = startedAtMs + options.budgetMs;
  // Stop starting new work when this little is left: what was started must still finish in time.
  const reserveMs = Math.min(options.budgetMs * 0.2, 10_000);
  const owner = deps.owner ?? `tick-${randomUUID()}`;
  const leaseMs = options.budgetMs + 60_000;
  const limiter = new RateLimiter(policy.apiQps, clock, deps.sleep);
  const apiSlots = new Semaphore(policy.apiConcurrency);
  const endpointSlots = new KeyedSemaphore(config.delivery.perEndpointConcurrency);
  const summary: TickSummary = {
    polled: 0,
    changed: 0,
    events: 0,
    delivered: 0,
    retried: 0,
    dead: 0,
    handedOff: 0,
    invocations: 0,
    throttled: 0,
    expired: 0,
    errors: 0,
    lateEnds: 0,
    lingeredMs: 0,
    authFailures: [],
    budgetExhausted: false,
    durationMs: 0,
  };
  const timeLeft = () => clock.now() < deadlineMs - reserveMs;

  let secrets: Promise<WebhookSecret[]> | undefined;
  const run = new DeliveryRun({
    store,
    clock,
    random,
    config: config.delivery,
    sender: deps.sender,
    resolve: deps.resolve,
    owner,
    quickRetries: deps.quickRetries,
    log: deps.log,
    defaultSecrets: () => {
      secrets ??= defaultSecrets(store);
      return secrets;
    },
  });
  let webhooks: Promise<WebhookRow[]> | undefined;
  const allWebhooks = () => {
    webhooks ??= store.listWebhooks();
    return webhooks;
  };

  const dispatch = config.dispatch;
  const fanOut =
    dispatch.mode === "fc" && deps.invoker
      ? new FanOut(
          { store, clock, invoker: deps.invoker, log: deps.log },
          {
            functionName: dispatch.functionName,
            batchSize: dispatch.batchSize,
            inlineMax: config.delivery.concurrency,
          },
        )
      : undefined;

  const stats = new RunTimeStats({ store, clock });
  /** Per workspace, a time its latest noticed end is known to be after (that end freed a slot). */
  const slotFreedAfterMs = new Map<string, number>();
  /** This run's live running tasks and when each is next due: what a lingering run waits for. */
  const lingerDue = new Map<string, number>();
  const lingerUntilMs = config.tick.lingerMs === undefined ? undefined : startedAtMs + config.tick.lingerMs;

  async function deliverDueNow(): Promise<void> {
    const loop = { leaseMs, concurrency: config.delivery.concurrency, endpointSlots, timeLeft };
    const handedOff =
      fanOut?.usable === true &&
      (await fanOut.handOff(summary, timeLeft, (ids) => deliverDue(run, summary, { ...loop, ids })));
    if (!handedOff) await deliverDue(run, summary, loop);
    summary.budgetExhausted ||= !timeLeft();
  }

  // ── the delivery pump: delivers while the poll loop goes on ─────────────
  let pumpWanted = true;
  let pumpStopping = false;
  let pumpWake: (() => void) | undefined;
  let pumpError: unknown;
  const kickPump = () => {
    pumpWanted = true;
    pumpWake?.();
  };
  async function pump(): Promise<void> {
    for (;;) {
      if (!pumpWanted) {
        if (pumpStopping) return;
        await new Promise<void>((resolve) => {
          pumpWake = resolve;
        });
        pumpWake = undefined;
        // Woken by a new delivery: a moment for the rest of the batch being polled, so that one
        // claim takes them together (a claim is a request or more on Tablestore).
        if (!pumpStopping) await deps.sleep(PUMP_GATHER_MS);
        continue;
      }
      pumpWanted = false;
      try {
        await deliverDueNow();
      } catch (error) {
        // The store failed a claim: polling stops too, and the run reports it when it ends.
        pumpError ??= error;
        return;
      }
    }
  }

  /** Event + deliveries, created if absent (deterministic ids), then the task marked if terminal. */
  async function emit(
    task: TaskRow,
    type: EventType,
    extra: { raw?: JsonObject; taskStatus?: string; reason?: JsonObject },
  ): Promise<void> {
    const nowMs = clock.now();
    const { event, created } = await store.createEvent(buildEvent({ type, task, nowMs, ...extra }));
    if (created) summary.events++;
    run.remember(event);
    const firstAttemptAtMs = nowMs + (attemptDelay(config.delivery.retryScheduleMs, 1, random) ?? 0);
    const rows: NewDelivery[] = [];
    for (const webhook of await allWebhooks()) {
      if (!webhookWants(webhook, event)) continue;
      rows.push({
        id: deliveryId(event.id, webhook.id),
        eventId: event.id,
        webhookId: webhook.id,
        url: webhook.url,
        nextAttemptAtMs: firstAttemptAtMs,
        createdAtMs: nowMs,
      });
    }
    if (taskUrlsWant(event)) {
      for (const url of task.webhookUrls) {
        const target = taskTargetId(url);
        rows.push({
          id: deliveryId(event.id, target),
          eventId: event.id,
          webhookId: target,
          url,
          nextAttemptAtMs: firstAttemptAtMs,
          createdAtMs: nowMs,
        });
      }
    }
    if (rows.length > 0) {
      await store.createDeliveries(rows);
      fanOut?.noteNew(firstAttemptAtMs);
      kickPump();
    }
  }

  /** Ends a task: its event and deliveries first, then the task marked done (see the header). */
  async function finish(
    task: TaskRow,
    type: EventType,
    outcome: { status: string | undefined; polled: boolean; raw?: JsonObject; reason?: JsonObject },
  ) {
    const { status, polled, ...extra } = outcome;
    await emit(task, type, { ...extra, ...(status ? { taskStatus: status } : {}) });
    slotFreed.add(task.workspaceId);
    lingerDue.delete(taskKey(task));
    const nowMs = clock.now();
    if (polled && task.status === "RUNNING") {
      // The end happened after the poll before this one: the slot it freed went no earlier.
      if (task.lastPolledAtMs !== undefined)
        slotFreedAfterMs.set(
          task.workspaceId,
          Math.max(slotFreedAfterMs.get(task.workspaceId) ?? 0, task.lastPolledAtMs),
        );
      const target = policy.detectionTargetMs;
      if (target !== undefined && task.lastPolledAtMs !== undefined && nowMs - task.lastPolledAtMs > target)
        summary.lateEnds++;
    }
    if (polled) {
      // A start is estimated to within half the maximum interval (estimateStartMs).
      const runMs = runTimeOf(
        extra.raw,
        { runningSinceMs: task.runningSinceMs, lastPolledAtMs: task.lastPolledAtMs, nowMs },
        policy.intervalMaxMs,
      );
      if (runMs !== undefined) stats.record(task.workspaceId, task.profile, runMs);
    }
    await store.updateTask(task, owner, {
      state: "done",
      status,
      terminalAtMs: nowMs,
      nextPollAtMs: nowMs,
      pollCount: task.pollCount + (polled ? 1 : 0),
      pollsInStatus: 0,
      lastPolledAtMs: polled ? nowMs : undefined,
      lastError: undefined,
    });
    summary.changed++;
  }

  // ── workspaces ───────────────────────────────────────────────────────────
  const workspaces = new Map<string, WorkspaceRow>();
  const configTried = new Set<string>();

  async function backOff(ws: WorkspaceRow, error: AuthError): Promise<WorkspaceRow> {
    const failures = ws.authFailures + 1;
    const next = {
      ...ws,
      authFailures: failures,
      backoffUntilMs: clock.now() + workspaceBackoffMs(failures),
      lastError: error.describe(),
    };
    await store.putWorkspace(next);
    workspaces.set(ws.workspaceId, next);
    if (!summary.authFailures.includes(ws.workspaceId)) summary.authFailures.push(ws.workspaceId);
    deps.log?.({
      level: "warn",
      msg: "workspace backed off",
      workspaceId: ws.workspaceId,
      until: new Date(next.backoffUntilMs).toISOString(),
      error: error.describe(),
    });
    return next;
  }

  async function concurrencyOf(ws: WorkspaceRow): Promise<number | undefined> {
    const fresh = ws.concurrencyFetchedAtMs !== undefined && clock.now() - ws.concurrencyFetchedAtMs < CONFIG_TTL_MS;
    if (fresh || configTried.has(ws.workspaceId)) return ws.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    configTried.add(ws.workspaceId);
    if (!(await limiter.take(deadlineMs - reserveMs))) return ws.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    const release = await apiSlots.acquire();
    try {
      const { asyncConcurrency } = await client.getConfig(ws.workspaceId);
      const next = {
        ...ws,
        asyncConcurrency: asyncConcurrency ?? ws.asyncConcurrency,
        concurrencyFetchedAtMs: clock.now(),
      };
      await store.putWorkspace(next);
      workspaces.set(ws.workspaceId, next);
      return next.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    } catch (error) {
      if (error instanceof AuthError) {
        await backOff(ws, error);
        return undefined;
      }
      if (error instanceof ThrottledError) limiter.throttled(error.retryAfterMs);
      deps.log?.({
        level: "warn",
        msg: "GetVideoAnalysisConfig failed; using the last known concurrency",
        workspaceId: ws.workspaceId,
        error: errorText(error),
      });
      return ws.asyncConcurrency ?? DEFAULT_CONCURRENCY;
    } finally {
      release();
    }
  }

  /** Each planned workspace's queue head: task key → tier. */
  const heads = new Map<string, Map<string, Tier>>();
  /** Workspaces where a task ended in this run: their queue head moved and is planned again. */
  const slotFreed = new Set<string>();
  const tierOf = (t: TaskRow): Tier => heads.get(t.workspaceId)?.get(taskKey(t)) ?? "parked";

  /** Pulls a workspace's queue head forward: the window now, the band on the sweep. */
  async function plan(stored: WorkspaceRow): Promise<void> {
    const ws = workspaces.get(stored.workspaceId) ?? stored;
    workspaces.set(ws.workspaceId, ws);
    heads.delete(ws.workspaceId);
    if (ws.backoffUntilMs > clock.now()) return;
    const concurrency = await concurrencyOf(ws);
    if (concurrency === undefined) return;
    const oldest = await store.oldestActiveTasks(ws.workspaceId, 2 * concurrency);
    heads.set(ws.workspaceId, new Map(oldest.map((t, i) => [taskKey(t), tierAt(i, concurrency)])));
    // The queue head holds every running task: what a lingering run waits for, whoever polled it last.
    for (const t of oldest) if (t.status === "RUNNING") lingerDue.set(taskKey(t), t.nextPollAtMs);
    for (const change of planWorkspace(oldest, concurrency, clock.now(), policy)) {
      await store.pollSooner(change.task.workspaceId, change.task.taskId, change.dueAtMs, clock.now());
    }
  }

  /** Every workspace at the start of a run; afterwards only those whose head moved. */
  async function planWorkspaces(all: boolean): Promise<void> {
    // Workspaces are planned side by side: each may wait on a GetVideoAnalysisConfig call.
    if (all) {
      await forEachLimit(await store.listWorkspaces(), policy.apiConcurrency, plan);
      return;
    }
    const moved = [...slotFreed];
    slotFreed.clear();
    await forEachLimit(moved, policy.apiConcurrency, async (id) => {
      const ws = workspaces.get(id) ?? (await store.getWorkspace(id));
      if (ws) await plan(ws);
    });
  }

  // ── one task ─────────────────────────────────────────────────────────────
  let limiterRefused = false;

  async function pollTask(task: TaskRow, tier: Tier): Promise<void> {
    const ws = workspaces.get(task.workspaceId);
    if (ws && ws.backoffUntilMs > clock.now()) {
      await store.releaseTask(task, owner, ws.backoffUntilMs);
      return;
    }
    if (isExpired(task, clock.now(), policy)) {
      await finish(task, "video_analysis.expired", {
        status: task.status,
        polled: false,
        reason: {
          code: "Expired",
          message: `not finished within ${formatDuration(policy.taskMaxAgeMs)} of submission`,
        },
      });
      summary.expired++;
      return;
    }
    if (!(await limiter.take(deadlineMs - reserveMs))) {
      limiterRefused = true;
      await store.releaseTask(task, owner, task.nextPollAtMs);
      return;
    }
    const release = await apiSlots.acquire();
    let answer: Awaited<ReturnType<QuanmiaoClient["getTask"]>>;
    try {
      summary.polled++;
      answer = await client.getTask(task.workspaceId, task.taskId);
    } catch (error) {
      release();
      await onPollError(task, error);
      return;
    }
    release();
    limiter.succeeded();
    if (ws && ws.authFailures > 0) {
      const healed = { ...ws, authFailures: 0, lastError: undefined };
      workspaces.set(ws.workspaceId, healed);
      await store.putWorkspace(healed);
    }

    const status = answer.status;
    if (status === undefined) {
      await onPollError(task, new Error("the answer has no taskStatus"));
      return;
    }
    const nowMs = clock.now();
    if (isTerminalStatus(status)) {
      await finish(task, eventTypeForStatus(status) as EventType, { status, polled: true, raw: answer.raw });
      return;
    }
    if (status === "RUNNING" && task.status !== "RUNNING") {
      await emit(task, "video_analysis.running", { raw: answer.raw, taskStatus: status });
    }
    let running: Running | undefined;
    let runningSinceMs: number | undefined;
    if (status === "RUNNING") {
      runningSinceMs =
        task.runningSinceMs ?? estimateStartMs(task, nowMs, policy, slotFreedAfterMs.get(task.workspaceId));
      const model =
        policy.detectionTargetMs === undefined
          ? undefined
          : modelFor(await stats.models(task.workspaceId), task.profile);
      running = { sinceMs: runningSinceMs, model };
    }
    const decision = afterAnswer(task, status, tier, nowMs, policy, running);
    if (decision.changed) summary.changed++;
    const updated = await store.updateTask(task, owner, {
      status,
      nextPollAtMs: decision.nextPollAtMs,
      pollCount: task.pollCount + 1,
      pollsInStatus: decision.pollsInStatus,
      lastPolledAtMs: nowMs,
      lastError: undefined,
      ...(task.runningSinceMs === undefined && runningSinceMs !== undefined ? { runningSinceMs } : {}),
    });
    if (updated && status === "RUNNING") lingerDue.set(taskKey(task), decision.nextPollAtMs);
    else lingerDue.delete(taskKey(task));
  }

  async function onPollError(task: TaskRow, error: unknown): Promise<void> {
    const nowMs = clock.now();
    if (error instanceof TaskNotFoundError) {
      await finish(task, "video_analysis.failed", {
        status: task.status,
        polled: true,
        reason: { code: error.code ?? "TaskNotFound", message: error.message, requestId: error.requestId ?? null },
      });
      return;
    }
    if (error instanceof AuthError) {
      const ws = workspaces.get(task.workspaceId) ?? (await store.getWorkspace(task.workspaceId));
      const backedOff = ws ? await backOff(ws, error) : { backoffUntilMs: nowMs + workspaceBackoffMs(1) };
      await store.releaseTask(task, owner, backedOff.backoffUntilMs);
      return;
    }
    let waitMs: number | undefined;
    if (error instanceof ThrottledError) {
      summary.throttled++;
      waitMs = error.retryAfterMs;
      limiter.throttled(error.retryAfterMs);
    } else {
      summary.errors++;
    }
    deps.log?.({
      level: "warn",
      msg: "poll failed",
      workspaceId: task.workspaceId,
      taskId: task.taskId,
      error: errorText(error),
    });
    const decision = afterRetryableError(task, nowMs, waitMs, policy);
    await store.updateTask(task, owner, {
      nextPollAtMs: decision.nextPollAtMs,
      pollCount: task.pollCount + 1,
      pollsInStatus: decision.pollsInStatus,
      lastPolledAtMs: nowMs,
      lastError: errorText(error),
    });
  }

  /**
   * After a claim found nothing: sleeps until this run's next running task is due, if that is
   * within RELAY_LINGER and the budget. False when there is nothing worth waiting for.
   */
  async function linger(): Promise<boolean> {
    if (lingerUntilMs === undefined || lingerDue.size === 0) return false;
    const dueMs = Math.min(...lingerDue.values());
    if (dueMs > lingerUntilMs || dueMs >= deadlineMs - reserveMs) return false;
    // What this run learned is saved before a long wait, so a kill loses little.
    if (dueMs - clock.now() > 10_000) await stats.flush(deps.log);
    const startMs = clock.now();
    if (dueMs > startMs) await deps.sleep(dueMs - startMs);
    summary.lingeredMs += clock.now() - startMs;
    // Woken well before the due time: whoever gave the sleep wants the run to end (Ctrl-C in dev).
    if (clock.now() < dueMs - EARLY_WAKE_MS) return false;
    // Retries this run scheduled may have come due meanwhile.
    if (summary.retried > 0) kickPump();
    return true;
  }

  // ── the run ──────────────────────────────────────────────────────────────
  /**
   * A store that fails a run's own reads or claims (after its retries) ends the run, counted and
   * logged, never thrown: the rows are the truth, leases and deterministic ids make the next run
   * repeat whatever this one left, and a long-lived run must not fail for one busy answer.
   */
  function endedByStore(error: unknown): void {
    summary.errors++;
    deps.log?.({ level: "error", msg: "run ended early: the store failed", error: errorText(error) });
  }

  const pumping = pump();
  for (let first = true; timeLeft() && !limiterRefused && pumpError === undefined; first = false) {
    let claimed: TaskRow[];
    try {
      await planWorkspaces(first);
      const claimAtMs = clock.now();
      claimed = await store.claimDueTasks({ owner, nowMs: claimAtMs, leaseMs, limit: policy.apiConcurrency * 4 });
      // Tasks this run waited for but another run took: no longer this run's to wait for.
      const took = new Set(claimed.map(taskKey));
      for (const [key, dueMs] of lingerDue) if (dueMs <= claimAtMs && !took.has(key)) lingerDue.delete(key);
      if (claimed.length === 0) {
        if (await linger()) continue;
        break;
      }
    } catch (error) {
      endedByStore(error);
      break;
    }
    await forEachLimit(claimed, policy.apiConcurrency, async (task) => {
      try {
        await pollTask(task, tierOf(task));
      } catch (error) {
        // The lease stays: the task comes back when it runs out. Counted, never thrown.
        summary.errors++;
        deps.log?.({
          level: "error",
          msg: "task failed unexpectedly",
          workspaceId: task.workspaceId,
          taskId: task.taskId,
          error: errorText(error),
        });
      }
    });
  }
  summary.budgetExhausted ||= !timeLeft() || limiterRefused;
  pumpStopping = true;
  kickPump();
  await pumping;
  await stats.flush(deps.log);
  if (pumpError !== undefined) endedByStore(pumpError);
  summary.durationMs = clock.now() - startedAtMs;
  return summary;
}
