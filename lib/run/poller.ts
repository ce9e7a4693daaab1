/**
 * The poller: one claimed task, one GetVideoAnalysisTask call, and what the answer does to the task
 * — an end becomes its event and deliveries and then the task is marked done; a running task is
 * polled again when its end is likely (learned run times); a failure is retried later, a refused
 * workspace backed off, a task the API does not know ended with a `failed` event.
 */
import { formatDuration } from "../duration.js";
import { describeError } from "../errors.js";
import type { EventType } from "../events.js";
import { eventTypeForStatus } from "../events.js";
import {
  afterAnswer,
  afterRetryableError,
  capAtExpiry,
  estimateStartMs,
  isExpired,
  isPresumedRunning,
  type Running,
  runningPolicyOf,
  type Tier,
} from "../poll.js";
import { firstPollMs } from "../poll-timing.js";
import { finishedParts, newParts } from "../progress-parts.js";
import { AuthError, TaskNotFoundError, ThrottledError } from "../quanmiao/errors.js";
import { isTerminalStatus, type JsonObject } from "../quanmiao/task.js";
import type { RunTimeStats } from "../runtime-stats.js";
import { chooseModel, runTimeOf } from "../runtimes.js";
import type { TaskRow } from "../store/store.js";
import type { RunContext } from "./context.js";
import type { Emitter } from "./emitter.js";
import type { LingerSchedule } from "./linger.js";
import type { WorkspacePlanner } from "./planner.js";

/** Putting a task back costs a store write: not worth it for a poll due within this. */
const DEFER_AT_LEAST_MS = 1_000;

interface Outcome {
  readonly status: string | undefined;
  /** Whether the end was learned from a poll (rather than decided by the relay: expiry). */
  readonly polled: boolean;
  readonly raw?: JsonObject;
  readonly reason?: JsonObject;
}

const reasonText = (reason: JsonObject) => `${String(reason.code)}: ${String(reason.message)}`;

export class Poller {
  /** Set when the rate limiter refused a call within the budget: the run should end. */
  limiterRefused = false;

  constructor(
    private readonly run: RunContext,
    private readonly parts: {
      readonly planner: WorkspacePlanner;
      readonly emitter: Emitter;
      readonly linger: LingerSchedule;
      readonly stats: RunTimeStats;
    },
  ) {}

  async poll(task: TaskRow, tier: Tier): Promise<void> {
    const { store, clock, client } = this.run.deps;
    const { policy, owner, summary } = this.run;
    const ws = this.parts.planner.workspace(task.workspaceId);
    if (ws && ws.backoffUntilMs > clock.now()) {
      await store.releaseTask(task, owner, ws.backoffUntilMs);
      return;
    }
    // Asked once at least: a task registered long after its submission (a relay down for a day, a
    // submission time in seconds) may have finished, and expiring it unasked lost its result.
    if (task.pollCount > 0 && isExpired(task, clock.now(), policy)) {
      await this.finish(task, "video_analysis.expired", {
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
    if (await this.deferPresumed(task)) return;
    if (!(await this.run.limiter.take(this.run.stopStartingAtMs))) {
      this.limiterRefused = true;
      await store.releaseTask(task, owner, task.nextPollAtMs);
      return;
    }
    const release = await this.run.apiSlots.acquire();
    let answer: Awaited<ReturnType<typeof client.getTask>>;
    try {
      summary.polled++;
      answer = await client.getTask(task.workspaceId, task.taskId);
    } catch (error) {
      release();
      await this.failed(task, error);
      return;
    }
    release();
    this.run.limiter.succeeded();
    await this.parts.planner.healed(task.workspaceId);

    const status = answer.status;
    if (status === undefined) {
      await this.failed(task, new Error("the answer has no taskStatus"));
      return;
    }
    this.run.deps.metrics?.polled(isTerminalStatus(status) ? "ended" : status === "RUNNING" ? "running" : "waiting");
    if (isTerminalStatus(status)) {
      await this.finish(task, eventTypeForStatus(status) as EventType, { status, polled: true, raw: answer.raw });
      return;
    }
    if (status === "RUNNING" && task.status !== "RUNNING") {
      await this.parts.emitter.emit(task, "video_analysis.running", { raw: answer.raw, taskStatus: status });
    }
    const progressParts = status === "RUNNING" ? await this.progress(task, answer.raw) : undefined;
    await this.reschedule(task, status, tier, progressParts);
  }

  /**
   * Progress events for the parts of a running task's output newly finished, from the answer in
   * hand; the names to keep on the task's row when they grew. Written before the row (as an end is),
   * with ids derived from the part: a crash in between repeats them, never loses or doubles them.
   * The final answer reports none: its terminal event carries every part.
   */
  private async progress(task: TaskRow, raw: JsonObject): Promise<string[] | undefined> {
    const { fresh, names } = newParts(finishedParts(raw), task.progressParts);
    if (fresh.length === 0) return undefined;
    // Stored only for a subscriber: an installation that takes none pays no write for them. A part
    // is counted as reported either way, so a webhook added later gets only parts finished after.
    if (await this.parts.emitter.wanted("video_analysis.progress", task.workspaceId)) {
      for (const progress of fresh) {
        await this.parts.emitter.emit(task, "video_analysis.progress", { progress, taskStatus: "RUNNING" });
      }
    }
    return names;
  }

  /**
   * A task presumed running since it was registered (it had room to start at once) is first asked
   * about where its learned schedule first polls, not at once: that call would only say RUNNING.
   * True when the task was put back for then.
   */
  private async deferPresumed(task: TaskRow): Promise<boolean> {
    const { policy, owner } = this.run;
    const { store, clock } = this.run.deps;
    if (policy.detectionTargetMs === undefined || task.runningSinceMs === undefined) return false;
    if (!isPresumedRunning(task)) return false;
    // Put back once only, when claimed as due from its registration: once that time has come, it is
    // asked, even if what was learned meanwhile would put it later still.
    if (task.nextPollAtMs > task.registeredAtMs) return false;
    const chosen = await this.chosenModel(task);
    const first = firstPollMs(chosen, runningPolicyOf(policy, policy.detectionTargetMs));
    const dueAtMs = capAtExpiry(task, task.runningSinceMs + first, policy);
    if (dueAtMs - clock.now() < DEFER_AT_LEAST_MS) return false;
    await store.releaseTask(task, owner, dueAtMs);
    this.parts.linger.set(task, dueAtMs);
    return true;
  }

  /** The best-informed learned run times for the task (lib/runtimes.ts), if any is trusted yet. */
  private async chosenModel(task: TaskRow) {
    const { stats } = this.parts;
    return chooseModel(
      await stats.models(task.workspaceId),
      await stats.relayModels(),
      task.profile,
      task.videoDurationMs,
    );
  }

  /** A task that is still going: when to poll it next. */
  private async reschedule(
    task: TaskRow,
    status: string,
    tier: Tier,
    progressParts: readonly string[] | undefined,
  ): Promise<void> {
    const { store, clock } = this.run.deps;
    const { policy, owner, summary } = this.run;
    const nowMs = clock.now();
    let running: Running | undefined;
    let runningSinceMs: number | undefined;
    if (status === "RUNNING") {
      // A start presumed at registration is wrong if the task was then seen waiting.
      const presumedWrongly = task.status !== undefined && task.status !== "RUNNING";
      runningSinceMs =
        (presumedWrongly ? undefined : task.runningSinceMs) ??
        estimateStartMs(task, nowMs, policy, this.parts.planner.slotFreedAfterMs(task.workspaceId));
      const model = policy.detectionTargetMs === undefined ? undefined : await this.chosenModel(task);
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
      ...(runningSinceMs !== undefined && runningSinceMs !== task.runningSinceMs ? { runningSinceMs } : {}),
      ...(progressParts ? { progressParts } : {}),
    });
    if (updated && status === "RUNNING") this.parts.linger.set(task, decision.nextPollAtMs);
    else this.parts.linger.delete(task);
  }

  /** Ends a task: its event and deliveries first, then the task marked done (see the header). */
  private async finish(task: TaskRow, type: EventType, outcome: Outcome): Promise<void> {
    const { store, clock } = this.run.deps;
    const { policy, owner, summary } = this.run;
    const { status, polled, ...extra } = outcome;
    await this.parts.emitter.emit(task, type, { raw: extra.raw, reason: extra.reason, taskStatus: status });
    const presumed = isPresumedRunning(task);
    const endedWhileRunning = polled && task.status === "RUNNING";
    // The end happened after the poll before this one: the slot it freed went no earlier.
    this.parts.planner.noteEnd(task, endedWhileRunning ? task.lastPolledAtMs : undefined);
    this.parts.linger.delete(task);
    const nowMs = clock.now();
    const target = policy.detectionTargetMs;
    // A start presumed at registration means nothing once the task was seen waiting.
    const runningSinceMs = task.status === undefined || task.status === "RUNNING" ? task.runningSinceMs : undefined;
    const ran = polled
      ? // A start is estimated to within half the maximum interval (estimateStartMs).
        runTimeOf(extra.raw, { runningSinceMs, lastPolledAtMs: task.lastPolledAtMs, nowMs }, policy.intervalMaxMs)
      : undefined;
    // Only work that finished is a run time to learn: a cancel ends a task when someone cancels it,
    // and a task the API no longer knows (TaskNotFound) ended nobody knows when.
    if (ran !== undefined && (status === "SUCCESSED" || status === "FAILED"))
      this.parts.stats.record(task.workspaceId, task.profile, ran, task.videoDurationMs, status === "FAILED");
    // How late the end was seen: since the poll before, or for a task presumed running and first
    // asked now, since the end its reported run time puts it at (unknown without one).
    const reportedMs = ran !== undefined && ran.fromMs === ran.toMs ? ran.toMs : undefined;
    const delayMs =
      endedWhileRunning && task.lastPolledAtMs !== undefined
        ? nowMs - task.lastPolledAtMs
        : polled && presumed && reportedMs !== undefined && runningSinceMs !== undefined
          ? nowMs - (runningSinceMs + reportedMs)
          : undefined;
    if (delayMs !== undefined) {
      this.run.deps.metrics?.detected(delayMs);
      if (target !== undefined && delayMs > target) summary.lateEnds++;
    }
    await store.updateTask(task, owner, {
      state: "done",
      status,
      terminalAtMs: nowMs,
      nextPollAtMs: nowMs,
      pollCount: task.pollCount + (polled ? 1 : 0),
      pollsInStatus: 0,
      lastPolledAtMs: polled ? nowMs : undefined,
      // An end without a result (the API does not know the task, or it expired) says why where a
      // person looks first (tasks show, GET /v1/tasks/…), not only in its event.
      lastError: extra.reason ? reasonText(extra.reason) : undefined,
    });
    summary.changed++;
  }

  private async failed(task: TaskRow, error: unknown): Promise<void> {
    const { store, clock } = this.run.deps;
    const { policy, owner, summary } = this.run;
    this.run.deps.metrics?.polled(
      error instanceof TaskNotFoundError
        ? "not_found"
        : error instanceof AuthError
          ? "refused"
          : error instanceof ThrottledError
            ? "throttled"
            : "error",
    );
    if (error instanceof TaskNotFoundError) {
      await this.finish(task, "video_analysis.failed", {
        status: task.status,
        polled: true,
        reason: { code: error.code ?? "TaskNotFound", message: error.message, requestId: error.requestId ?? null },
      });
      return;
    }
    if (error instanceof AuthError) {
      const backedOff = await this.parts.planner.backOffWorkspaceOf(task, error);
      await store.releaseTask(task, owner, backedOff.backoffUntilMs);
      return;
    }
    let waitMs: number | undefined;
    if (error instanceof ThrottledError) {
      summary.throttled++;
      waitMs = error.retryAfterMs;
      this.run.limiter.throttled(error.retryAfterMs);
    } else {
      summary.errors++;
    }
    const text = describeError(error);
    this.run.log({
      level: "warn",
      msg: "poll failed",
      workspaceId: task.workspaceId,
      taskId: task.taskId,
      error: text,
    });
    const nowMs = clock.now();
    const decision = afterRetryableError(task, nowMs, waitMs, policy);
    await store.updateTask(task, owner, {
      nextPollAtMs: decision.nextPollAtMs,
      pollCount: task.pollCount + 1,
      pollsInStatus: decision.pollsInStatus,
      lastPolledAtMs: nowMs,
      lastError: text,
    });
  }
}
