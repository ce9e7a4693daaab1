/**
 * Which tasks to poll, and when. Pure functions: the tick applies them.
 *
 * A workspace runs at most `asyncConcurrency` (N) tasks at once and starts the rest in submission
 * order, so only the oldest N unfinished tasks can be running. Those form the *window* and are polled
 * on an adaptive interval (10 s, ×1.5 per unchanged answer, capped at 2 min). The next N (the *band*)
 * are checked on the safety sweep (10 min), since the order may not be exact; everything behind them
 * is *parked*: it cannot run before the tasks ahead of it, so it gets only a rare safety check
 * (36 sweeps, 6 h by default) and a poll at its expiry. When a window task ends, the next one moves
 * up and is polled at once. Sweeping parked tasks hourly would cost more calls than all window
 * polling together (1,000 queued tasks × 16 h), for a misordering the band already covers.
 */
import type { PollConfig } from "./config.js";
import { type RunningPolicy, runningDelayMs } from "./poll-timing.js";
import type { ChosenModel } from "./runtimes.js";
import type { TaskRow } from "./store/store.js";

export type Tier = "window" | "band" | "parked";

/** Parked tasks are checked this many sweep intervals apart. */
export const PARKED_SWEEPS = 36;
export const DEFAULT_CONCURRENCY = 2;
export const CONFIG_TTL_MS = 30 * 60_000;

type Policy = Pick<PollConfig, "intervalMinMs" | "intervalMaxMs" | "sweepIntervalMs" | "taskMaxAgeMs"> & {
  readonly detectionTargetMs?: number | undefined;
};

export function tierAt(index: number, concurrency: number): Tier {
  return index < concurrency ? "window" : index < 2 * concurrency ? "band" : "parked";
}

export function adaptiveIntervalMs(pollsInStatus: number, policy: Policy): number {
  return Math.min(policy.intervalMaxMs, Math.round(policy.intervalMinMs * 1.5 ** pollsInStatus));
}

export function tierDelayMs(tier: Tier, pollsInStatus: number, policy: Policy): number {
  if (tier === "window") return adaptiveIntervalMs(pollsInStatus, policy);
  if (tier === "band") return policy.sweepIntervalMs;
  return policy.sweepIntervalMs * PARKED_SWEEPS;
}

export function expiresAtMs(task: Pick<TaskRow, "submittedAtMs">, policy: Policy): number {
  return task.submittedAtMs + policy.taskMaxAgeMs;
}

export function isExpired(task: Pick<TaskRow, "submittedAtMs">, nowMs: number, policy: Policy): boolean {
  return nowMs >= expiresAtMs(task, policy);
}

/** A poll is never scheduled past the task's expiry, so expiry is noticed on time. */
export function capAtExpiry(task: Pick<TaskRow, "submittedAtMs">, atMs: number, policy: Policy): number {
  return Math.min(atMs, expiresAtMs(task, policy));
}

/** When a newly registered task is first looked at: parked until the window planning pulls it in. */
export function firstPollAtMs(task: Pick<TaskRow, "submittedAtMs">, nowMs: number, policy: Policy): number {
  return capAtExpiry(task, nowMs + tierDelayMs("parked", 0, policy), policy);
}

/** What a running task's schedule is computed with (lib/poll-timing.ts). */
export function runningPolicyOf(policy: Policy, targetMs: number): RunningPolicy {
  return { targetMs, minMs: Math.min(policy.intervalMinMs, 1_000), maxMs: policy.intervalMaxMs };
}

/** Never asked about, but presumed running since its registration (lib/tasks.ts). */
export function isPresumedRunning(task: Pick<TaskRow, "status" | "lastPolledAtMs" | "runningSinceMs">): boolean {
  return task.status === undefined && task.lastPolledAtMs === undefined && task.runningSinceMs !== undefined;
}

/**
 * The tasks of one workspace's queue head whose next poll should come sooner, given their place.
 * `oldest` is the workspace's oldest active tasks in submission order (2N of them).
 */
export function planWorkspace(
  oldest: readonly TaskRow[],
  concurrency: number,
  nowMs: number,
  policy: Policy,
): Array<{ task: TaskRow; tier: Tier; dueAtMs: number }> {
  const changes: Array<{ task: TaskRow; tier: Tier; dueAtMs: number }> = [];
  oldest.forEach((task, index) => {
    const tier = tierAt(index, concurrency);
    if (tier === "parked") return;
    // After a failed attempt the retry time was chosen on purpose (back-off, the server's Retry-After).
    if (task.lastError !== undefined) return;
    // A running task's polls follow its learned run times, which may leave it alone on purpose; so do
    // those of a task presumed running since it was registered (lib/run/poller.ts).
    if (policy.detectionTargetMs !== undefined && (task.status === "RUNNING" || isPresumedRunning(task))) return;
    // Never looked at: the window now, the band one sweep from when it first entered the band
    // (later plans find that time already set). Otherwise as soon as the tier's interval allows.
    const delay = tierDelayMs(tier, task.pollsInStatus, policy);
    const dueAtMs =
      task.lastPolledAtMs === undefined
        ? tier === "window"
          ? nowMs
          : nowMs + delay
        : Math.max(nowMs, task.lastPolledAtMs + delay);
    if (task.nextPollAtMs > dueAtMs) changes.push({ task, tier, dueAtMs });
  });
  return changes;
}

export interface PollDecision {
  readonly changed: boolean;
  readonly pollsInStatus: number;
  readonly nextPollAtMs: number;
}

/**
 * When a task that is now RUNNING started, as best can be told: it was not running at its last
 * poll (or before submission, or before `startedAfterMs`, e.g. the end that freed its slot), so it
 * started in between; the middle of that span, which is at most the maximum interval long.
 */
export function estimateStartMs(
  task: Pick<TaskRow, "submittedAtMs" | "lastPolledAtMs">,
  nowMs: number,
  policy: Policy,
  startedAfterMs?: number,
): number {
  const earliest = Math.max(
    task.submittedAtMs,
    task.lastPolledAtMs ?? Number.NEGATIVE_INFINITY,
    startedAfterMs ?? Number.NEGATIVE_INFINITY,
    nowMs - policy.intervalMaxMs,
  );
  return Math.round((Math.min(earliest, nowMs) + nowMs) / 2);
}

/** What a RUNNING task's schedule rests on: since when it runs, and the learned run times (if any). */
export interface Running {
  readonly sinceMs: number;
  readonly model: ChosenModel | undefined;
}

/**
 * What one answer does to a task that is still live. With a detection target, a running task's
 * next poll comes from its learned run times (lib/runtimes.ts); otherwise, and for a task that is
 * not running, the tier's interval.
 */
export function afterAnswer(
  task: TaskRow,
  status: string,
  tier: Tier,
  nowMs: number,
  policy: Policy,
  running?: Running,
): PollDecision {
  const changed = status !== task.status;
  const pollsInStatus = changed ? 0 : task.pollsInStatus + 1;
  const delay =
    status === "RUNNING" && running && policy.detectionTargetMs !== undefined
      ? runningDelayMs(nowMs - running.sinceMs, running.model, runningPolicyOf(policy, policy.detectionTargetMs))
      : tierDelayMs(tier, pollsInStatus, policy);
  return {
    changed,
    pollsInStatus,
    nextPollAtMs: capAtExpiry(task, nowMs + delay, policy),
  };
}

/**
 * After a failed attempt: back off from the minimum interval, doubling per attempt without a status
 * change, up to the maximum, and never sooner than the server asked.
 */
export function afterRetryableError(
  task: TaskRow,
  nowMs: number,
  waitMs: number | undefined,
  policy: Policy,
): PollDecision {
  const pollsInStatus = task.pollsInStatus + 1;
  const backoff = Math.min(policy.intervalMaxMs, policy.intervalMinMs * 2 ** Math.min(pollsInStatus - 1, 10));
  return {
    changed: false,
    pollsInStatus,
    nextPollAtMs: capAtExpiry(task, nowMs + Math.max(backoff, waitMs ?? 0), policy),
  };
}

/** A workspace refused with an AuthError waits 1 min, doubling per repeat, up to 1 h. */
export function workspaceBackoffMs(failures: number): number {
  return Math.min(3_600_000, 60_000 * 2 ** Math.max(0, failures - 1));
}
