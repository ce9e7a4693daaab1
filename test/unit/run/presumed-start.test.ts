import { describe, expect, it } from "vitest";
import { firstPollMs } from "../../../lib/poll-timing.js";
import { WorkspacePlanner } from "../../../lib/run/planner.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { registerTask } from "../../../lib/tasks.js";
import { learnFiveMinutes, pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  return { ...p, ...pollerParts(p) };
}

describe("a task registered as it is submitted, with room to run", () => {
  it("is presumed running since its submission; without a submission time, or registered late, it is asked", async () => {
    const p = setup({});
    const now = p.clock.now();
    const fresh = await registerTask(p.registration, {
      workspaceId: "llm-a",
      taskId: "t1",
      submittedAtMs: now - 5_000,
    });
    expect(fresh.task.runningSinceMs).toBe(now - 5_000);
    const unsaid = await registerTask(p.registration, { workspaceId: "llm-b", taskId: "t2" });
    expect(unsaid.task.runningSinceMs).toBeUndefined();
    const late = await registerTask(p.registration, {
      workspaceId: "llm-c",
      taskId: "t3",
      submittedAtMs: now - 5 * MIN,
    });
    expect(late.task.runningSinceMs).toBeUndefined();
  });

  it("is first asked where its learned schedule first polls, put back once, and the lingering run waits for it", async () => {
    const p = setup({ t1: { taskStatus: "RUNNING" } });
    await learnFiveMinutes(p.store);
    const submittedAtMs = p.clock.now();
    await registerTask(p.registration, { workspaceId: "llm-a", taskId: "t1", submittedAtMs });
    const task = (await p.claim()) as TaskRow;
    await p.poller.poll(task, "window");
    expect(p.calls).toEqual([]);
    const put = (await p.store.getTask("llm-a", "t1")) as TaskRow;
    expect(put.nextPollAtMs - submittedAtMs).toBeGreaterThan(4 * MIN);
    expect(put.nextPollAtMs - submittedAtMs).toBeLessThan(6 * MIN);
    // A run planning the workspace leaves it where it is and lingers for it.
    const planner = new WorkspacePlanner(p.run, (t) => p.linger.set(t, t.nextPollAtMs));
    await planner.plan(true);
    expect((await p.store.getTask("llm-a", "t1"))?.nextPollAtMs).toBe(put.nextPollAtMs);
    // When it comes due it is asked, even if the model moved meanwhile.
    p.clock.set(put.nextPollAtMs);
    const due = (await p.claim()) as TaskRow;
    await p.poller.poll(due, "window");
    expect(p.calls.filter((c) => c.startsWith("getTask"))).toEqual(["getTask llm-a/t1"]);
    const polled = (await p.store.getTask("llm-a", "t1")) as TaskRow;
    expect(polled).toMatchObject({ status: "RUNNING", runningSinceMs: submittedAtMs, pollCount: 1 });
  });

  it("a presumption proved wrong (the task was waiting) gives way to a fresh estimate when it runs", async () => {
    const answers: Record<string, Answer> = { t1: { taskStatus: "PENDING" } };
    const p = setup(answers);
    const submittedAtMs = p.clock.now();
    await registerTask(p.registration, { workspaceId: "llm-a", taskId: "t1", submittedAtMs });
    // The prior: first asked a target's worth after the start.
    expect(firstPollMs(undefined, policy)).toBe(9_700);
    await p.poller.poll((await p.claim()) as TaskRow, "window");
    p.clock.set(submittedAtMs + 9_700);
    await p.poller.poll((await p.claim()) as TaskRow, "window");
    expect((await p.store.getTask("llm-a", "t1"))?.status).toBe("PENDING");
    p.clock.advance(3 * MIN);
    answers.t1 = { taskStatus: "RUNNING" };
    const waiting = (await p.claim()) as TaskRow;
    await p.poller.poll(waiting, "window");
    const running = (await p.store.getTask("llm-a", "t1")) as TaskRow;
    // Between the poll that saw it waiting and now: not its submission.
    expect(running.runningSinceMs).toBeGreaterThan(submittedAtMs + 9_700);
    expect(running.runningSinceMs).toBeLessThanOrEqual(p.clock.now());
  });
});
