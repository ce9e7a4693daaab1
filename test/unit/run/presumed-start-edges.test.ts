import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../../lib/store/store.js";
import { registerTask } from "../../../lib/tasks.js";
import { learnFiveMinutes, pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

const MIN = 60_000;

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  return { ...p, ...pollerParts(p) };
}

describe("presumed starts at the edges", () => {
  it("a presumption proved wrong, then an end never seen running: its wait is not learned as run time", async () => {
    const answers: Record<string, Answer> = { t1: { taskStatus: "PENDING" } };
    const p = setup(answers);
    const submittedAtMs = p.clock.now();
    await registerTask(p.registration, { workspaceId: "llm-a", taskId: "t1", submittedAtMs });
    await p.poller.poll((await p.claim()) as TaskRow, "window"); // put back
    p.clock.set(submittedAtMs + 9_700);
    await p.poller.poll((await p.claim()) as TaskRow, "window"); // PENDING
    // Waits 20 min in the queue, runs 5 s, ends between two polls: never seen RUNNING.
    p.clock.advance(20 * MIN);
    answers.t1 = { taskStatus: "SUCCESSED" };
    const t = (await p.store.getTask("llm-a", "t1")) as TaskRow;
    await p.store.pollSooner(t, p.clock.now(), p.clock.now());
    const c = await p.claim();
    await p.poller.poll(c as TaskRow, "window");
    expect(p.recorded).toEqual([]);
  });

  it("a caller whose clock runs fast: a submission time in the future is not presumed a start", async () => {
    const p = setup({ t1: { taskStatus: "SUCCESSED" } });
    await learnFiveMinutes(p.store);
    const now = p.clock.now();
    const { task } = await registerTask(p.registration, {
      workspaceId: "llm-a",
      taskId: "t1",
      submittedAtMs: now + 10 * MIN,
    });
    expect(task.runningSinceMs).toBeUndefined();
  });

  it("a presumed task found ended at its first poll counts as late by the end its run time puts it at", async () => {
    const p = setup({ t1: { taskStatus: "SUCCESSED", taskRunInfo: { responseTime: 30_000 } } });
    await learnFiveMinutes(p.store);
    const submittedAtMs = p.clock.now();
    await registerTask(p.registration, { workspaceId: "llm-a", taskId: "t1", submittedAtMs });
    await p.poller.poll((await p.claim()) as TaskRow, "window"); // deferred to ~5 min
    const t = (await p.store.getTask("llm-a", "t1")) as TaskRow;
    p.clock.set(t.nextPollAtMs); // it ended at 30 s: noticed about 4.5 min late
    const c = await p.claim();
    await p.poller.poll(c as TaskRow, "window");
    expect((await p.store.getTask("llm-a", "t1"))?.state).toBe("done");
    expect(p.run.summary.lateEnds).toBe(1);
  });
});
