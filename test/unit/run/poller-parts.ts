/** A poller and what it works with, built on `phases()` as a run builds them; for the poller's tests. */
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { Emitter } from "../../../lib/run/emitter.js";
import { LingerSchedule } from "../../../lib/run/linger.js";
import { WorkspacePlanner } from "../../../lib/run/planner.js";
import { Poller } from "../../../lib/run/poller.js";
import { exactly, type RunTimeSpan } from "../../../lib/runtime-model.js";
import { RunTimeStats } from "../../../lib/runtime-stats.js";
import { recordRunTime, serializeModels } from "../../../lib/runtimes.js";
import type { TaskRow } from "../../../lib/store/store.js";
import type { phases } from "./support.js";

export function pollerParts(p: ReturnType<typeof phases>) {
  const linger = new LingerSchedule(p.run);
  const planner = new WorkspacePlanner(p.run, (t) => linger.set(t, t.nextPollAtMs));
  const deliveryRun = openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: p.run.owner });
  const emitter = new Emitter(p.run, deliveryRun, { noteNew: () => {} });
  const stats = new RunTimeStats({ store: p.store, clock: p.clock });
  /** Every run time the poller learns, in order. */
  const recorded: RunTimeSpan[] = [];
  const record = stats.record.bind(stats);
  stats.record = (ws, profile, run, videoMs, failed) => {
    recorded.push(typeof run === "number" ? exactly(run) : run);
    record(ws, profile, run, videoMs, failed);
  };
  const poller = new Poller(p.run, { planner, emitter, linger, stats });
  const registration = { store: p.store, clock: p.clock, poll: p.config.poll, allowPrivateTargets: true };
  /** Claims one due task, as a run would. */
  const claim = async () => {
    const [task] = await p.store.claimDueTasks({ owner: p.run.owner, nowMs: p.clock.now(), leaseMs: 60_000, limit: 1 });
    return task as TaskRow | undefined;
  };
  return { linger, planner, poller, stats, recorded, registration, claim };
}

/** Forty ends of about 5 min learned in workspace `llm-a`: a new task's first poll comes near 5 min. */
export async function learnFiveMinutes(store: {
  compareAndSetSetting: (k: string, e: undefined, v: string) => Promise<boolean>;
}): Promise<void> {
  let models = {};
  for (let i = 0; i < 40; i++) models = recordRunTime(models, undefined, 5 * 60_000 + (i % 7) * 1_000);
  await store.compareAndSetSetting("runtimes:llm-a", undefined, serializeModels(models));
}
