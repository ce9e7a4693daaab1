/**
 * One timer run inside a time budget: plan each workspace's queue head, poll due tasks within the
 * API's limits, turn finished tasks into events and deliveries, and deliver them while polling goes
 * on (a delivery pump beside the poll loop), so a finished task's webhook normally leaves within
 * the second its end is noticed. With RELAY_LINGER the run stays alive while it has running tasks,
 * sleeping until each one's next poll is due, so that a timer that fires once a minute still
 * notices ends within seconds; with nothing running it ends at once, as an idle run always has.
 *
 * Nothing here throws for one task or one delivery: failures are written to their rows and counted
 * in the summary; a store that fails the run's own reads or claims ends the run early, counted too.
 * A crash at any point leaves leased rows that come back when the lease runs out, and everything
 * written is keyed so that doing it again creates nothing twice.
 *
 * The phases: planner.ts (workspaces), poller.ts (one task), emitter.ts (events and deliveries),
 * pump.ts (delivering), linger.ts (waiting for running tasks); this module is the loop.
 */
import { forEachLimit } from "../concurrency.js";
import { openDeliveryRun } from "../delivery/deliver.js";
import { FanOut } from "../delivery/fanout.js";
import { describeError } from "../errors.js";
import { RunTimeStats } from "../runtime-stats.js";
import type { TaskRow } from "../store/store.js";
import { forgetExpiredSubmissions } from "../submission-expiry.js";
import { type RunContext, runContext, type TickDeps, type TickSummary } from "./context.js";
import { Emitter } from "./emitter.js";
import { LingerSchedule } from "./linger.js";
import { WorkspacePlanner } from "./planner.js";
import { Poller } from "./poller.js";
import { DeliveryPump } from "./pump.js";

export type { TickDeps, TickSummary } from "./context.js";

function fanOutFor(run: RunContext): FanOut | undefined {
  const { store, clock, invoker, config } = run.deps;
  const dispatch = config.dispatch;
  if (dispatch.mode !== "fc" || !invoker) return undefined;
  return new FanOut(
    { store, clock, invoker, log: run.deps.log },
    { functionName: dispatch.functionName, batchSize: dispatch.batchSize, inlineMax: config.delivery.concurrency },
  );
}

/**
 * A store that fails a run's own reads or claims (after its retries) ends the run, counted and
 * logged, never thrown: the rows are the truth, leases and deterministic ids make the next run
 * repeat whatever this one left, and a long-lived run must not fail for one busy answer.
 */
function endedByStore(run: RunContext, error: unknown): void {
  run.summary.errors++;
  run.log({ level: "error", msg: "run ended early: the store failed", error: describeError(error) });
}

/** Events a run deletes at most under RELAY_RETENTION: a backlog is worked off a run at a time. */
const PURGE_PER_RUN = 200;

/** Retention, in a run's spare time; a failure is counted and logged, and the next run tries again. */
async function purge(run: RunContext, retentionMs: number): Promise<void> {
  const { store, clock } = run.deps;
  try {
    const { events, deliveries } = await store.purgeBefore(clock.now() - retentionMs, PURGE_PER_RUN);
    run.summary.purged += events;
    if (events > 0) run.log({ level: "info", msg: "retention: deleted old events", events, deliveries });
  } catch (error) {
    run.summary.errors++;
    run.log({ level: "warn", msg: "retention: the purge failed", error: describeError(error) });
  }
}

/** Submission records a run deletes at most (each with its mark): a run a minute keeps up with 288,000 a day. */
const FORGET_PER_RUN = 200;

/**
 * Submissions past their deduplication window, forgotten in a run that polled: an idle run costs
 * no more than before, and what a relay wrote before going idle (a window's worth at most) waits
 * for its next busy run. A failure is counted and logged, and the next run tries again.
 */
async function forgetSubmissions(run: RunContext): Promise<void> {
  const { store, clock } = run.deps;
  try {
    await forgetExpiredSubmissions(store, clock.now(), FORGET_PER_RUN, () => run.summary.submissionsForgotten++);
  } catch (error) {
    run.summary.errors++;
    run.log({ level: "warn", msg: "expired submission records could not be deleted", error: describeError(error) });
  }
}

export async function runTick(deps: TickDeps, options: { budgetMs: number }): Promise<TickSummary> {
  const run = runContext(deps, options.budgetMs);
  const { store, clock, config } = deps;
  const { summary, policy, owner, leaseMs } = run;

  const deliveryRun = openDeliveryRun({
    store,
    clock,
    sleep: deps.sleep,
    random: deps.random,
    config: config.delivery,
    sender: deps.sender,
    resolve: deps.resolve,
    owner,
    quickRetries: deps.quickRetries,
    log: deps.log,
    metrics: deps.metrics,
    eventBridge: deps.eventBridge,
    endpointMemory: deps.endpointMemory,
  });
  const fanOut = fanOutFor(run);
  const pump = new DeliveryPump(run, deliveryRun, fanOut);
  const stats = new RunTimeStats({ store, clock });
  const linger = new LingerSchedule(run);
  const planner = new WorkspacePlanner(run, (task) => linger.set(task, task.nextPollAtMs));
  const emitter = new Emitter(run, deliveryRun, {
    noteNew(firstAttemptAtMs) {
      fanOut?.noteNew(firstAttemptAtMs);
      pump.kick();
    },
    // With fan-out, deliver functions claim what is due: nothing is created leased to this run.
    adopt: fanOut ? undefined : (rows) => pump.adopt(rows),
  });
  const poller = new Poller(run, { planner, emitter, linger, stats });

  pump.start();
  // A lingering run ends with its window even when polls are still due: the next timer run takes
  // over, and two runs alive at once would poll at twice the rate and be billed twice.
  for (let first = true; run.timeLeft() && !linger.over() && !poller.limiterRefused && !pump.failed; first = false) {
    let claimed: TaskRow[];
    try {
      await planner.plan(first);
      const claimAtMs = clock.now();
      claimed = await store.claimDueTasks({ owner, nowMs: claimAtMs, leaseMs, limit: policy.apiConcurrency * 4 });
      linger.forgetTakenElsewhere(claimAtMs, claimed);
      if (claimed.length === 0) {
        if (!(await linger.wait(() => stats.flush(deps.log)))) break;
        // Retries this run scheduled may have come due meanwhile.
        if (summary.retried > 0) pump.kick();
        continue;
      }
    } catch (error) {
      endedByStore(run, error);
      break;
    }
    await forEachLimit(claimed, policy.apiConcurrency, async (task) => {
      try {
        await poller.poll(task, planner.tierOf(task));
      } catch (error) {
        // The lease stays: the task comes back when it runs out. Counted, never thrown.
        summary.errors++;
        run.log({
          level: "error",
          msg: "task failed unexpectedly",
          workspaceId: task.workspaceId,
          taskId: task.taskId,
          error: describeError(error),
        });
      }
    });
  }
  summary.budgetExhausted ||= !run.timeLeft() || poller.limiterRefused;
  if (config.retentionMs !== undefined && run.timeLeft() && !pump.failed) await purge(run, config.retentionMs);
  if (summary.polled > 0 && run.timeLeft() && !pump.failed) await forgetSubmissions(run);
  await pump.stop();
  await stats.flush(deps.log);
  if (pump.failed) endedByStore(run, pump.error);
  summary.durationMs = clock.now() - run.startedAtMs;
  return summary;
}
