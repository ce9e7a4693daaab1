import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../../lib/store/store.js";
import { registerTask } from "../../../lib/tasks.js";
import { learnFiveMinutes, pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  return { ...p, ...pollerParts(p) };
}

/** A task presumed running from its registration, first polled where five learned minutes put it. */
async function endedAtFirstPoll(answer: Answer) {
  const p = setup({ t1: answer });
  await learnFiveMinutes(p.store);
  const submittedAtMs = p.clock.now();
  await registerTask(p.registration, { workspaceId: "llm-a", taskId: "t1", submittedAtMs });
  await p.poller.poll((await p.claim()) as TaskRow, "window"); // deferred to ~5 min
  const firstPollAtMs = ((await p.store.getTask("llm-a", "t1")) as TaskRow).nextPollAtMs;
  p.clock.set(firstPollAtMs);
  await p.poller.poll((await p.claim()) as TaskRow, "window");
  expect((await p.store.getTask("llm-a", "t1"))?.state).toBe("done");
  return { recorded: p.recorded, sinceStartMs: firstPollAtMs - submittedAtMs };
}

describe("what an end teaches", () => {
  it("an end the API gives no run time for, seen at the first poll: any time since the start, not that poll", async () => {
    const { recorded, sinceStartMs } = await endedAtFirstPoll({ taskStatus: "SUCCESSED" });
    expect(sinceStartMs).toBeGreaterThan(4 * 60_000);
    expect(recorded).toEqual([{ fromMs: 0, toMs: sinceStartMs }]);
  });

  it("a failure is learned like a success; a cancel, someone else's decision, is not learned", async () => {
    const failed = await endedAtFirstPoll({ taskStatus: "FAILED", taskRunInfo: { responseTime: 20_000 } });
    expect(failed.recorded).toEqual([{ fromMs: 20_000, toMs: 20_000 }]);
    const canceled = await endedAtFirstPoll({ taskStatus: "CANCELED" });
    expect(canceled.recorded).toEqual([]);
  });
});
