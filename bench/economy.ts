/**
 * Polling economy, as a frontier: the relay on simulated days (bench/economy-days.ts) at detection
 * targets of 5, 10, 20 and 30 s, each next to the floor (the fewest calls any per-task schedule can
 * make at that p95 given the true run-time distributions, bench/floor.ts), to a learner's floor (the
 * same, except that a task started before any of its group had ended is scheduled on the mix of such
 * groups), to the floor with each workspace's p95 within the target (alone, and at the relay's own
 * margins) and to the naive poller at the interval that gives the relay's p95. Tasks arrive through
 * the day in 10 workspaces (asyncConcurrency 2–30, arrivals in proportion), are registered as they
 * arrive, and the relay runs once a minute as the FC timer does, lingering (RELAY_LINGER=60s) with
 * its learned run times, on a manual clock. The learnable day also runs with each task's video
 * length given.
 *
 * Measured: API calls per finished task, detection delay (p50, p95, max) and FC run-seconds per
 * finished task — the time a poll function is alive, which is what Function Compute bills
 * (simulated time asleep plus real time working). The naive poller must be alive whenever a task is
 * unfinished. RELAY_API_QPS is raised to 100 so that the rate limit, which is a caution and not a
 * cost, does not shape the 5 s runs.
 *
 * Progress events come from answers the relay fetched anyway: each day also runs at the first
 * target with a subscriber to them (on a loopback receiver), and its API calls stand next to the
 * same day's without one, which must be equal.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenOnLoopback } from "../dev/loopback.js";
import { ManualClock } from "../dev/manual-clock.js";
import { SIM_CREDENTIAL, startSimulator } from "../dev/quanmiao-simulator/server.js";
import type { SimTask } from "../dev/quanmiao-simulator/workspace.js";
import { seededRandom } from "../dev/seeded-random.js";
import { loadConfig } from "../lib/config.js";
import { TERMINAL_EVENT_TYPES } from "../lib/events.js";
import { denseIntervalMs, LATE_BUDGET } from "../lib/poll-timing.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { type Arrival, arrivals, CONCURRENCIES, type Day } from "./economy-days.js";
import { deployedPollSize, fcCostRows } from "./fc-cost.js";
import { floorOf, learnerTruths, naiveAt, naiveIntervalFor, perWorkspaceFloor } from "./floor.js";
import { percentile, row, type ScenarioRow } from "./support.js";

const TIMER_MS = 60_000;
const PROGRESS = "video_analysis.progress";

interface DayResult {
  calls: number;
  /** Hours in which at least one task was running (by the simulator). */
  busyHours: number;
  /** When each task (in arrival order) really ended, by the simulator. */
  endsMs: number[];
  /** How many times each task (in arrival order) was polled. */
  polls: number[];
  delaysS: number[];
  runSeconds: number;
  lateEnds: number;
  /** Progress events written, and those the subscriber received (with a progress subscriber). */
  progressEvents: number;
  progressReceived: number;
}

interface Setup {
  readonly targetMs: number;
  /** Whether tasks are registered with their video's length. */
  readonly hints: boolean;
  /** A webhook on a loopback receiver taking the terminal events, or those and progress events. */
  readonly subscriber?: "terminal" | "progress";
}

/** A receiver that takes everything, counting the progress events. */
async function countingReceiver() {
  const counts = { progress: 0 };
  const server = await listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if ((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { type?: string }).type === PROGRESS) counts.progress++;
    res.writeHead(204).end();
  });
  return { server, counts };
}

async function runDay(day: Day, planned: readonly Arrival[], t0: number, setup: Setup): Promise<DayResult> {
  const clock = new ManualClock(t0);
  const sim = await startSimulator({
    clock,
    workspaces: Object.fromEntries(CONCURRENCIES.map((c, i) => [`llm-day-${i}`, c])),
    failureRate: 0.05,
    cancelRate: 0.02,
    seed: `economy/${day}`,
  });
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-economy-"));
  const env = {
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_LINGER: "60s",
    RELAY_DETECTION_TARGET: `${setup.targetMs}ms`,
    RELAY_API_QPS: "100",
  };
  const submitted: SimTask[] = [];
  let next = 0;
  let relay: Awaited<ReturnType<typeof openRelay>> | undefined;
  /** Tasks arrive (and are registered) at their own times, also while a run sleeps. */
  async function admitUntil(untilMs: number): Promise<void> {
    for (; next < planned.length && (planned[next] as Arrival).atMs <= untilMs; next++) {
      const a = planned[next] as Arrival;
      clock.set(Math.max(clock.now(), a.atMs));
      const task = sim.addTask(a.ws, { submittedAtMs: a.atMs, runMs: a.runMs });
      submitted.push(task);
      await registerTask((relay as NonNullable<typeof relay>).registration, {
        workspaceId: a.ws,
        taskId: task.taskId,
        submittedAtMs: a.atMs,
        ...(a.profile ? { profile: a.profile } : {}),
        ...(setup.hints && a.videoMs !== undefined ? { videoDurationSeconds: a.videoMs / 1_000 } : {}),
      });
    }
  }
  const sleep = async (ms: number) => {
    const until = clock.now() + Math.max(0, ms);
    await admitUntil(until);
    clock.set(Math.max(clock.now(), until));
  };
  relay = await openRelay({
    env,
    config: loadConfig(env),
    clock,
    sleep,
    random: seededRandom(`economy/${day}/relay`),
    credentials: staticCredentials(SIM_CREDENTIAL),
  });
  const receiver = setup.subscriber ? await countingReceiver() : undefined;
  if (receiver) {
    const events = setup.subscriber === "progress" ? [...TERMINAL_EVENT_TYPES, PROGRESS] : [...TERMINAL_EVENT_TYPES];
    await createWebhook(relay.registration, { url: receiver.server.url, events });
  }
  try {
    let runSeconds = 0;
    let lateEnds = 0;
    const lastArrivalMs = planned[planned.length - 1]?.atMs ?? t0;
    for (let tick = 0; ; tick++) {
      await admitUntil(t0 + tick * TIMER_MS);
      clock.set(Math.max(clock.now(), t0 + tick * TIMER_MS));
      const started = performance.now();
      const summary = await relay.tick(108_000);
      runSeconds += (summary.durationMs + (performance.now() - started)) / 1000;
      lateEnds += summary.lateEnds;
      if (next >= planned.length && (await relay.store.listTasks({ state: "active", limit: 1 })).items.length === 0)
        break;
      if (clock.now() > lastArrivalMs + 48 * 3_600_000) throw new Error("the simulated day did not drain");
    }
    const { calls } = sim.stats();
    const delaysS: number[] = [];
    const endsMs: number[] = [];
    const polls: number[] = [];
    let progressEvents = 0;
    for (const task of submitted) {
      const row = await relay.store.getTask(task.workspaceId, task.taskId);
      if (receiver)
        progressEvents += (await relay.store.listEventsForTask(task.workspaceId, task.taskId)).filter(
          (e) => e.type === PROGRESS,
        ).length;
      endsMs.push(task.endsAtMs ?? 0);
      polls.push(row?.pollCount ?? 0);
      delaysS.push(((row?.terminalAtMs ?? 0) - (task.endsAtMs ?? 0)) / 1000);
    }
    const busyHours =
      unionMs(submitted.map((t) => [t.startedAtMs ?? 0, t.endsAtMs ?? 0] as [number, number])) / 3_600_000;
    return {
      calls: calls.GetVideoAnalysisTask + calls.GetVideoAnalysisConfig,
      busyHours,
      endsMs,
      polls,
      delaysS,
      runSeconds,
      lateEnds,
      progressEvents,
      progressReceived: receiver?.counts.progress ?? 0,
    };
  } finally {
    await receiver?.server.close();
    await relay.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How long at least one of the spans is open. */
function unionMs(spans: Array<[number, number]>): number {
  const sorted = [...spans].sort((x, y) => x[0] - y[0]);
  let totalMs = 0;
  let [from, to] = sorted[0] ?? [0, 0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > to) {
      totalMs += to - from;
      [from, to] = [s, e];
    } else to = Math.max(to, e);
  }
  return totalMs + (to - from);
}

export interface EconomyOptions {
  readonly tasks: number;
  readonly hours: number;
  readonly targetsS: readonly number[];
  /** Targets at which the learnable day also runs with video lengths given. */
  readonly hintTargetsS: readonly number[];
}

export async function benchPollingEconomy(o: EconomyOptions): Promise<ScenarioRow[]> {
  const rows: ScenarioRow[] = [];
  const t0 = Date.parse("2026-11-25T00:00:00.000Z");
  const runs: Array<{ day: Day; hints: boolean; targetS: number; subscriber?: Setup["subscriber"] }> = [];
  for (const day of ["uniform", "learnable"] as const) {
    for (const targetS of o.targetsS) runs.push({ day, hints: false, targetS });
    const targetS = o.targetsS[0] ?? 10;
    runs.push(
      { day, hints: false, targetS, subscriber: "terminal" },
      { day, hints: false, targetS, subscriber: "progress" },
    );
  }
  for (const targetS of o.hintTargetsS) runs.push({ day: "learnable", hints: true, targetS });
  /** API calls of each day with a subscriber to the terminal events only, for its progress run. */
  const callsWithout = new Map<Day, number>();
  for (const { day, hints, targetS, subscriber } of runs) {
    const planned = arrivals(day, o.tasks, t0, o.hours * 3_600_000);
    const targetMs = targetS * 1_000;
    const relay = await runDay(day, planned, t0, { targetMs, hints, subscriber });
    const n = planned.length;
    if (subscriber === "terminal") callsWithout.set(day, relay.calls);
    if (subscriber === "progress") rows.push(...progressRows(day, targetS, o, n, relay, callsWithout.get(day)));
    if (subscriber) continue;
    const lives = planned.map((a, i) => ({ submittedAtMs: a.atMs, endsAtMs: relay.endsMs[i] as number }));
    const p95 = percentile(relay.delaysS, 95);
    const intervalMs = naiveIntervalFor(lives, p95 * 1_000, (v) => percentile(v, 95));
    const naive = naiveAt(lives, intervalMs);
    const naiveDelaysS = naive.delaysMs.map((ms) => ms / 1_000);
    const truths = planned.map((a) => (hints ? a.truthGivenVideo : a.truth));
    const floor = floorOf(truths, targetMs);
    const learner = floorOf(learnerTruths(planned, relay.endsMs, hints), targetMs);
    const perWorkspace = perWorkspaceFloor(planned, truths, targetMs);
    // The gap the relay plans polls at (lib/poll-timing.ts), and the share of ends it covers.
    const plannedGapMs = denseIntervalMs({ targetMs, minMs: 0 });
    const atMargins = perWorkspaceFloor(planned, truths, plannedGapMs, 1 - LATE_BUDGET);
    // Once learned: the tasks that arrived in the day's second half, their own polls only.
    const half = Math.floor(n / 2);
    const laterPolls = relay.polls.slice(half).reduce((a, b) => a + b, 0) / (n - half);
    const laterFloor = floorOf(truths.slice(half), targetMs);
    const what = day === "uniform" ? "simulated day" : hints ? "learnable day, video lengths given" : "learnable day";
    // The naive poller is alive whenever a task is unfinished.
    const naiveSeconds = unionMs(lives.map((l) => [l.submittedAtMs, l.endsAtMs])) / 1_000;
    const name = `economy: ${what}, target ${targetS} s (${n} tasks, 10 workspaces, ${o.hours} h)`;
    rows.push(
      row(name, "API calls per finished task (vs the floor)", relay.calls / n, "calls", floor.calls),
      row(name, "API calls per finished task (vs a learner's floor)", relay.calls / n, "calls", learner.calls),
      row(
        name,
        "API calls per finished task (vs the floor with each workspace's p95 within the target)",
        relay.calls / n,
        "calls",
        perWorkspace.calls,
      ),
      row(
        name,
        `API calls per finished task (vs that floor at the relay's margins: 96 % of ends, polls ${(plannedGapMs / 1_000).toFixed(2)} s apart)`,
        relay.calls / n,
        "calls",
        atMargins.calls,
      ),
      row(
        name,
        "polls per task arriving in the day's second half, once learned (vs the floor for them)",
        laterPolls,
        "calls",
        laterFloor.calls,
      ),
      row(
        name,
        `API calls per finished task (vs naive every ${(intervalMs / 1_000).toFixed(1)} s)`,
        relay.calls / n,
        "calls",
        naive.calls,
      ),
      row(name, "detection delay p50 (vs naive)", percentile(relay.delaysS, 50), "s", percentile(naiveDelaysS, 50)),
      row(name, "detection delay p95 (vs the target)", p95, "s", targetS),
      row(name, "detection delay max (vs naive)", Math.max(...relay.delaysS), "s", Math.max(...naiveDelaysS)),
      row(
        name,
        "FC run-seconds per finished task (vs naive, always on while a task is unfinished)",
        relay.runSeconds / n,
        "s",
        naiveSeconds / n,
      ),
      row(
        name,
        "FC run-seconds per hour with tasks running (vs always on)",
        relay.runSeconds / relay.busyHours,
        "s",
        3_600,
      ),
      row(name, "ends noticed later than the target (vs all ends)", relay.lateEnds, "ends", n),
    );
    // What those run-seconds bill at the size s.yaml deploys (bench/fc-cost.ts), against always on.
    if (targetS === 10 && !hints)
      rows.push(
        ...fcCostRows(
          name,
          {
            runSecondsPerBusyHour: relay.runSeconds / relay.busyHours,
            runSecondsPerTask: { relay: relay.runSeconds / n, naive: naiveSeconds / n },
          },
          deployedPollSize(),
        ),
      );
  }
  return rows;
}

/** A day with a progress subscriber: its API calls against the same day's without one, and what it got. */
function progressRows(
  day: Day,
  targetS: number,
  o: EconomyOptions,
  n: number,
  relay: DayResult,
  callsWithout: number | undefined,
): ScenarioRow[] {
  const what = day === "uniform" ? "simulated day" : "learnable day";
  const name = `economy: ${what} with a progress subscriber, target ${targetS} s (${n} tasks, 10 workspaces, ${o.hours} h)`;
  return [
    row(
      name,
      "API calls per finished task (vs the same day, its subscriber taking terminal events only: equal)",
      relay.calls / n,
      "calls",
      (callsWithout ?? Number.NaN) / n,
    ),
    row(
      name,
      "progress events per finished task (vs received by the subscriber)",
      relay.progressEvents / n,
      "events",
      relay.progressReceived / n,
    ),
  ];
}
