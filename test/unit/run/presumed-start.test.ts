import { describe, expect, it } from "vitest";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { firstPollMs } from "../../../lib/poll-timing.js";
import { Emitter } from "../../../lib/run/emitter.js";
import { LingerSchedule } from "../../../lib/run/linger.js";
import { WorkspacePlanner } from "../../../lib/run/planner.js";
import { Poller } from "../../../lib/run/poller.js";
import { RunTimeStats } from "../../../lib/runtime-stats.js";
import { recordRunTime, serializeModels } from "../../../lib/runtimes.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { registerTask } from "../../../lib/tasks.js";
import { type Answer, phases } from "./support.js";

const MIN = 60_000;
const policy = { targetMs: 10_000, minMs: 1_000, maxMs: 120_000 };

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  const linger = new LingerSchedule(p.run);
  const planner = new WorkspacePlanner(p.run, (t) => linger.set(t, t.nextPollAtMs));
  const deliveryRun = openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: p.run.owner });
  const emitter = new Emitter(p.run, deliveryRun, { noteNew: () => {} });
  const stats = new RunTimeStats({ store: p.store, clock: p.clock });
  const poller = new Poller(p.run, { planner, emitter, linger, stats });
  const registration = { store: p.store, clock: p.clock, poll: p.config.poll, allowPrivateTargets: true };
  const claim = async () => {
    const [task] = await p.store.claimDueTasks({ owner: p.run.owner, nowMs: p.clock.now(), leaseMs: 60_000, limit: 1 });
    return task as TaskRow | undefined;
  };
  return { ...p, poller, planner, linger, registration, claim };
}

/** Twenty ends of 5 min in the workspace: its model puts the first poll of a new task near 5 min. */
async function learnFiveMinutes(store: {
  compareAndSetSetting: (k: string, e: undefined, v: string) => Promise<boolean>;
}) {
  let models = {};
  for (let i = 0; i < 40; i++) models = recordRunTime(models, undefined, 5 * MIN + (i % 7) * 1_000);
  await store.compareAndSetSetting("runtimes:llm-a", undefined, serializeModels(models));
  return models;
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
