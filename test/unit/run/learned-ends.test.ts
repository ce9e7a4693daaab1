import { describe, expect, it } from "vitest";
import type { RelayMetrics } from "../../../lib/metrics.js";
import { TaskNotFoundError } from "../../../lib/quanmiao/errors.js";
import { ALL_PROFILES, FAILED_PREFIX, VIDEO_PREFIX } from "../../../lib/runtimes.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { registerTask } from "../../../lib/tasks.js";
import { learnFiveMinutes, pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  const detected: number[] = [];
  const metrics: RelayMetrics = {
    polled: () => {},
    attempted: () => {},
    deferred: () => {},
    detected: (ms) => detected.push(ms),
  };
  const run = { ...p.run, deps: { ...p.run.deps, metrics } };
  return { ...p, run, detected, ...pollerParts({ ...p, run }) };
}

/** A task presumed running from its registration, first polled where five learned minutes put it. */
async function endedAtFirstPoll(answer: Answer, videoDurationSeconds?: number) {
  const p = setup({ t1: answer });
  await learnFiveMinutes(p.store);
  const submittedAtMs = p.clock.now();
  await registerTask(p.registration, {
    workspaceId: "llm-a",
    taskId: "t1",
    submittedAtMs,
    ...(videoDurationSeconds ? { videoDurationSeconds } : {}),
  });
  await p.poller.poll((await p.claim()) as TaskRow, "window"); // deferred to ~5 min
  const firstPollAtMs = ((await p.store.getTask("llm-a", "t1")) as TaskRow).nextPollAtMs;
  p.clock.set(firstPollAtMs);
  await p.poller.poll((await p.claim()) as TaskRow, "window");
  expect((await p.store.getTask("llm-a", "t1"))?.state).toBe("done");
  return {
    models: await p.stats.models("llm-a"),
    recorded: p.recorded,
    detected: p.detected,
    summary: p.run.summary,
    sinceStartMs: firstPollAtMs - submittedAtMs,
  };
}

describe("what an end teaches", () => {
  it("an end the API gives no run time for, seen at the first poll: any time since the start, not that poll", async () => {
    const { recorded, sinceStartMs, detected, summary } = await endedAtFirstPoll({ taskStatus: "SUCCESSED" });
    expect(sinceStartMs).toBeGreaterThan(4 * 60_000);
    expect(recorded).toEqual([{ fromMs: 0, toMs: sinceStartMs }]);
    // How late it was seen is unknown too: not counted as seen at once.
    expect(detected).toEqual([]);
    expect(summary.lateEnds).toBe(0);
  });

  it("with a reported run time, the same end counts as seen that long after it", async () => {
    const { detected, sinceStartMs, summary } = await endedAtFirstPoll({
      taskStatus: "SUCCESSED",
      taskRunInfo: { responseTime: 30_000 },
    });
    expect(detected).toEqual([sinceStartMs - 30_000]);
    expect(summary.lateEnds).toBe(1);
  });

  it("a failure is learned like a success (and as a failure, with a video length); a cancel, someone else's decision, is not", async () => {
    const failed = await endedAtFirstPoll({ taskStatus: "FAILED", taskRunInfo: { responseTime: 20_000 } });
    expect(failed.recorded).toEqual([{ fromMs: 20_000, toMs: 20_000 }]);
    expect(failed.models[FAILED_PREFIX + ALL_PROFILES]).toBeUndefined();
    const withVideo = await endedAtFirstPoll({ taskStatus: "FAILED", taskRunInfo: { responseTime: 20_000 } }, 600);
    expect(withVideo.models[FAILED_PREFIX + ALL_PROFILES]?.samples).toBe(1);
    expect(withVideo.models[FAILED_PREFIX + VIDEO_PREFIX + ALL_PROFILES]?.samples).toBe(1);
    const succeeded = await endedAtFirstPoll({ taskStatus: "SUCCESSED", taskRunInfo: { responseTime: 20_000 } }, 600);
    expect(succeeded.models[ALL_PROFILES]?.samples).toBe(41);
    expect(succeeded.models[FAILED_PREFIX + ALL_PROFILES]).toBeUndefined();
    const canceled = await endedAtFirstPoll({ taskStatus: "CANCELED" });
    expect(canceled.recorded).toEqual([]);
  });

  it("a task the API no longer finds ended nobody knows when: not learned", async () => {
    const gone = await endedAtFirstPoll(new TaskNotFoundError("no such task", { code: "TaskNotFound" }));
    expect(gone.recorded).toEqual([]);
  });
});
