import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config.js";
import {
  adaptiveIntervalMs,
  afterAnswer,
  afterRetryableError,
  estimateStartMs,
  firstPollAtMs,
  isExpired,
  planWorkspace,
  tierAt,
  workspaceBackoffMs,
} from "../../lib/poll.js";
import type { TaskRow } from "../../lib/store/store.js";

const policy = loadConfig({}).poll;
const NOW = Date.parse("2026-11-25T12:00:00Z");

const task = (extra: Partial<TaskRow> = {}): TaskRow => ({
  workspaceId: "w",
  taskId: "t",
  state: "active",
  status: undefined,
  submittedAtMs: NOW - 60_000,
  registeredAtMs: NOW - 60_000,
  nextPollAtMs: NOW + 21_600_000,
  pollCount: 0,
  pollsInStatus: 0,
  lastPolledAtMs: undefined,
  lastError: undefined,
  leaseOwner: undefined,
  runningSinceMs: undefined,
  profile: undefined,
  videoDurationMs: undefined,
  progressParts: undefined,
  leaseUntilMs: 0,
  webhookUrls: [],
  metadata: {},
  terminalAtMs: undefined,
  ...extra,
});

describe("polling policy", () => {
  it("adaptive interval: 10 s ×1.5 per unchanged answer, capped at 2 min", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => adaptiveIntervalMs(n, policy))).toEqual([
      10_000, 15_000, 22_500, 33_750, 50_625, 75_938, 113_906, 120_000, 120_000,
    ]);
  });

  it("tiers: the oldest N are the window, the next N the band, the rest parked", () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => tierAt(i, 2))).toEqual([
      "window",
      "window",
      "band",
      "band",
      "parked",
      "parked",
    ]);
  });

  it("a new task waits parked (6 h) but never past its expiry", () => {
    expect(firstPollAtMs({ submittedAtMs: NOW }, NOW, policy)).toBe(NOW + 6 * 3_600_000);
    expect(firstPollAtMs({ submittedAtMs: NOW - 25 * 3_600_000 }, NOW, policy)).toBe(NOW + 3_600_000);
  });

  it("plans the queue head: window now, band after a sweep, parked untouched", () => {
    const oldest = [
      task({ taskId: "a" }),
      task({ taskId: "b" }),
      task({ taskId: "c" }),
      task({ taskId: "d" }),
      task({ taskId: "e" }),
    ];
    const plan = planWorkspace(oldest, 2, NOW, policy);
    expect(plan.map((p) => [p.task.taskId, p.tier, p.dueAtMs - NOW])).toEqual([
      ["a", "window", 0],
      ["b", "window", 0],
      ["c", "band", 600_000],
      ["d", "band", 600_000],
    ]);
    // Planned again a little later, nothing moves: the band's time is already set.
    const after = oldest.map((t) => ({
      ...t,
      nextPollAtMs: plan.find((p) => p.task.taskId === t.taskId)?.dueAtMs ?? t.nextPollAtMs,
    }));
    expect(planWorkspace(after, 2, NOW + 10_000, policy).filter((p) => p.tier === "band")).toEqual([]);
  });

  it("a task promoted into the window after being polled is due by its adaptive interval", () => {
    const polled = task({
      lastPolledAtMs: NOW - 60_000,
      pollsInStatus: 2,
      nextPollAtMs: NOW + 500_000,
      status: "PENDING",
    });
    expect(planWorkspace([polled], 1, NOW, policy)[0]?.dueAtMs).toBe(NOW);
    const recent = { ...polled, lastPolledAtMs: NOW - 5_000 };
    expect(planWorkspace([recent], 1, NOW, policy)[0]?.dueAtMs).toBe(NOW - 5_000 + 22_500);
  });

  it("leaves a task whose last attempt failed on its chosen retry time (regression: tight retry loop)", () => {
    const failed = task({ lastPolledAtMs: NOW, lastError: "TransientError", nextPollAtMs: NOW + 60_000 });
    expect(planWorkspace([failed], 2, NOW, policy)).toEqual([]);
  });

  it("after an answer: a change resets the interval, no change grows it", () => {
    const running = task({ status: "RUNNING", pollsInStatus: 3 });
    expect(afterAnswer(running, "RUNNING", "window", NOW, policy)).toEqual({
      changed: false,
      pollsInStatus: 4,
      nextPollAtMs: NOW + 50_625,
    });
    expect(afterAnswer(running, "SUSPENDED", "window", NOW, policy)).toEqual({
      changed: true,
      pollsInStatus: 0,
      nextPollAtMs: NOW + 10_000,
    });
    expect(afterAnswer(task({ status: "PENDING" }), "PENDING", "band", NOW, policy).nextPollAtMs).toBe(NOW + 600_000);
  });

  it("after a failed attempt: doubling back-off, at least the server's wait, never past expiry", () => {
    expect(
      [0, 1, 2, 3, 4].map(
        (n) => afterRetryableError(task({ pollsInStatus: n }), NOW, undefined, policy).nextPollAtMs - NOW,
      ),
    ).toEqual([10_000, 20_000, 40_000, 80_000, 120_000]);
    expect(afterRetryableError(task(), NOW, 90_000, policy).nextPollAtMs - NOW).toBe(90_000);
    const old = task({ submittedAtMs: NOW - policy.taskMaxAgeMs + 1_000 });
    expect(afterRetryableError(old, NOW, 90_000, policy).nextPollAtMs).toBe(NOW + 1_000);
  });

  it("with a detection target, a RUNNING task's next poll comes from its run time, not the tier", () => {
    const running = task({ status: "RUNNING", pollsInStatus: 3 });
    const since = { sinceMs: NOW - 60_000, model: undefined };
    // The conservative prior: 0.97 × the target, whatever the poll count.
    expect(afterAnswer(running, "RUNNING", "window", NOW, policy, since).nextPollAtMs).toBe(NOW + 9_700);
    expect(afterAnswer(running, "RUNNING", "band", NOW, policy, since).nextPollAtMs).toBe(NOW + 9_700);
    // A queued task, or the target switched off: the tier's interval as before.
    expect(afterAnswer(task({ status: "PENDING" }), "PENDING", "window", NOW, policy, since).nextPollAtMs).toBe(
      NOW + 15_000,
    );
    const off = { ...policy, detectionTargetMs: undefined };
    expect(afterAnswer(running, "RUNNING", "window", NOW, off, since).nextPollAtMs).toBe(NOW + 50_625);
    // Never past the task's expiry.
    const old = task({ status: "RUNNING", submittedAtMs: NOW - policy.taskMaxAgeMs + 2_000 });
    expect(afterAnswer(old, "RUNNING", "window", NOW, policy, since).nextPollAtMs).toBe(NOW + 2_000);
  });

  it("planning leaves a running task's schedule alone when a detection target is set", () => {
    const runningLong = task({ status: "RUNNING", lastPolledAtMs: NOW - 5_000, nextPollAtMs: NOW + 100_000 });
    expect(planWorkspace([runningLong], 2, NOW, policy)).toEqual([]);
    const off = { ...policy, detectionTargetMs: undefined };
    expect(planWorkspace([runningLong], 2, NOW, off).map((c) => c.dueAtMs)).toEqual([NOW + 5_000]);
  });

  it("estimates a start in the middle of when it could have been, at most the maximum interval back", () => {
    // Never polled, submitted 20 s ago: started somewhere in those 20 s.
    expect(estimateStartMs({ submittedAtMs: NOW - 20_000, lastPolledAtMs: undefined }, NOW, policy)).toBe(NOW - 10_000);
    // Seen PENDING 6 s ago: after that.
    expect(estimateStartMs({ submittedAtMs: NOW - 60_000, lastPolledAtMs: NOW - 6_000 }, NOW, policy)).toBe(
      NOW - 3_000,
    );
    // The end that freed its slot was after this time.
    expect(
      estimateStartMs({ submittedAtMs: NOW - 600_000, lastPolledAtMs: NOW - 500_000 }, NOW, policy, NOW - 8_000),
    ).toBe(NOW - 4_000);
    // Queued for hours: no more than the maximum interval back.
    expect(estimateStartMs({ submittedAtMs: NOW - 3_600_000, lastPolledAtMs: undefined }, NOW, policy)).toBe(
      NOW - policy.intervalMaxMs / 2,
    );
  });

  it("expiry and workspace back-off", () => {
    expect(isExpired(task({ submittedAtMs: NOW - policy.taskMaxAgeMs }), NOW, policy)).toBe(true);
    expect(isExpired(task({ submittedAtMs: NOW - policy.taskMaxAgeMs + 1 }), NOW, policy)).toBe(false);
    expect([1, 2, 3, 7, 20].map(workspaceBackoffMs)).toEqual([60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
  });
});
