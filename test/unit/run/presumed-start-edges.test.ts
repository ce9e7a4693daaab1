import { describe, expect, it } from "vitest";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
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

function setup(answers: Record<string, Answer>) {
  const p = phases({ answers, env: { RELAY_LINGER: "60s" } });
  const linger = new LingerSchedule(p.run);
  const planner = new WorkspacePlanner(p.run, (t) => linger.set(t, t.nextPollAtMs));
  const deliveryRun = openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: p.run.owner });
  const emitter = new Emitter(p.run, deliveryRun, { noteNew: () => {} });
  const stats = new RunTimeStats({ store: p.store, clock: p.clock });
  const recorded: number[] = [];
  const record = stats.record.bind(stats);
  stats.record = (ws, profile, runMs, videoMs) => {
    recorded.push(runMs);
    record(ws, profile, runMs, videoMs);
  };
  const poller = new Poller(p.run, { planner, emitter, linger, stats });
  const registration = { store: p.store, clock: p.clock, poll: p.config.poll, allowPrivateTargets: true };
  const claim = async () => {
    const [task] = await p.store.claimDueTasks({ owner: p.run.owner, nowMs: p.clock.now(), leaseMs: 60_000, limit: 1 });
    return task as TaskRow | undefined;
  };
  return { ...p, poller, registration, claim, recorded };
}

async function learnFiveMinutes(store: {
  compareAndSetSetting: (k: string, e: undefined, v: string) => Promise<boolean>;
}) {
  let models = {};
  for (let i = 0; i < 40; i++) models = recordRunTime(models, undefined, 5 * MIN + (i % 7) * 1_000);
  await store.compareAndSetSetting("runtimes:llm-a", undefined, serializeModels(models));
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
