/**
 * Polling economy: simulated days on a manual clock. Tasks arrive through the day in 10 workspaces
 * (asyncConcurrency 2–30, arrivals in proportion) and are registered as they arrive; the relay runs
 * once a minute, as the FC timer does. Two days:
 *
 * - the *simulated day*: run times uniform in 1–30 min, nothing to learn;
 * - the *learnable day*: each workspace analyses videos of a typical length (2–12 min), a task's
 *   run time follows its hidden video length (±10 %) with noise (±4 %), and half the workspaces
 *   submit two kinds of work (profiles) that run 1× and 1.5× as long.
 *
 * Each day is run three ways: the relay as deployed on FC (RELAY_LINGER=60s, detection target
 * 10 s, learned run times), the relay as it was before (no linger, no target: the adaptive 10 s
 * → 2 min interval), and a naive poller asking about every unfinished task every 10 s from
 * submission (computed from the same task timelines). Measured: API calls per finished task,
 * detection delay (p50, p95, max) and FC run-seconds per finished task — the time a poll function
 * is alive, which is what Function Compute bills (simulated time asleep plus real time working).
 * The naive poller must be alive whenever a task is unfinished.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../dev/manual-clock.js";
import { SIM_CREDENTIAL, startSimulator } from "../dev/quanmiao-simulator/server.js";
import type { SimTask } from "../dev/quanmiao-simulator/workspace.js";
import { seededRandom } from "../dev/seeded-random.js";
import { loadConfig } from "../lib/config.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { percentile, row, type ScenarioRow } from "./support.js";

const CONCURRENCIES = [2, 3, 4, 6, 8, 10, 14, 18, 24, 30];
const TIMER_MS = 60_000;
const NAIVE_MS = 10_000;
const MINUTE = 60_000;

interface Arrival {
  readonly atMs: number;
  readonly ws: string;
  readonly runMs: number;
  readonly profile?: string;
}

type Day = "uniform" | "learnable";

/** The day's arrivals: a workspace in proportion to its concurrency, so each is about equally busy. */
function arrivals(day: Day, tasks: number, t0: number, dayMs: number): Arrival[] {
  const random = seededRandom(`economy/${day}`);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  const typicalMs = CONCURRENCIES.map(() => 2 * MINUTE * 6 ** random());
  const total = CONCURRENCIES.reduce((a, b) => a + b, 0);
  return Array.from({ length: tasks }, () => {
    let pick = random() * total;
    let ws = 0;
    while (ws < CONCURRENCIES.length - 1 && pick >= (CONCURRENCIES[ws] as number))
      pick -= CONCURRENCIES[ws++] as number;
    const atMs = t0 + Math.floor(random() * dayMs);
    if (day === "uniform") return { atMs, ws: `llm-day-${ws}`, runMs: MINUTE + Math.floor(random() * 29 * MINUTE) };
    const twoKinds = ws % 2 === 1;
    const full = twoKinds && random() < 0.5;
    const videoMs = (typicalMs[ws] as number) * Math.exp(0.1 * gauss());
    const runMs = Math.round(videoMs * (full ? 1.5 : 1) * Math.exp(0.04 * gauss()));
    return { atMs, ws: `llm-day-${ws}`, runMs, ...(twoKinds ? { profile: full ? "full" : "fast" } : {}) };
  }).sort((a, b) => a.atMs - b.atMs);
}

interface DayResult {
  calls: number;
  /** Hours in which at least one task was running (by the simulator). */
  busyHours: number;
  /** When each task (in arrival order) really ended, by the simulator. */
  endsMs: number[];
  delaysS: number[];
  runSeconds: number;
  lateEnds: number;
}

async function runDay(day: Day, planned: readonly Arrival[], t0: number, mode: "fc" | "before"): Promise<DayResult> {
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
    ...(mode === "fc" ? { RELAY_LINGER: "60s", RELAY_DETECTION_TARGET: "10s" } : { RELAY_DETECTION_TARGET: "off" }),
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
    for (const task of submitted) {
      const row = await relay.store.getTask(task.workspaceId, task.taskId);
      endsMs.push(task.endsAtMs ?? 0);
      delaysS.push(((row?.terminalAtMs ?? 0) - (task.endsAtMs ?? 0)) / 1000);
    }
    const busyHours =
      unionMs(submitted.map((t) => [t.startedAtMs ?? 0, t.endsAtMs ?? 0] as [number, number])) / 3_600_000;
    return {
      calls: calls.GetVideoAnalysisTask + calls.GetVideoAnalysisConfig,
      busyHours,
      endsMs,
      delaysS,
      runSeconds,
      lateEnds,
    };
  } finally {
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

/** The naive poller on the same timelines: every unfinished task every 10 s from submission. */
function naive(planned: readonly Arrival[], ends: readonly number[]) {
  let calls = 0;
  const delaysS: number[] = [];
  const spans: Array<[number, number]> = [];
  planned.forEach((a, i) => {
    const lived = (ends[i] as number) - a.atMs;
    calls += Math.floor(lived / NAIVE_MS) + 1;
    delaysS.push((Math.ceil(lived / NAIVE_MS) * NAIVE_MS - lived) / 1000);
    spans.push([a.atMs, ends[i] as number]);
  });
  // Alive whenever some task is unfinished: the union of the tasks' lifetimes.
  return { calls, delaysS, runSeconds: unionMs(spans) / 1000 };
}

export async function benchPollingEconomy(tasks: number, hours: number, days: readonly Day[]): Promise<ScenarioRow[]> {
  const rows: ScenarioRow[] = [];
  const t0 = Date.parse("2026-11-25T00:00:00.000Z");
  for (const day of days) {
    const planned = arrivals(day, tasks, t0, hours * 3_600_000);
    const fc = await runDay(day, planned, t0, "fc");
    const before = await runDay(day, planned, t0, "before");
    // The simulator's task timelines are a function of the arrivals: the same in both runs.
    const base = naive(planned, fc.endsMs);
    const name =
      day === "uniform"
        ? `polling economy (${tasks} tasks, 10 workspaces, ${hours} h simulated)`
        : `learnable day (${tasks} tasks, 10 workspaces, ${hours} h simulated)`;
    const n = planned.length;
    rows.push(
      row(name, "API calls per finished task (vs naive 10 s poller)", fc.calls / n, "calls", base.calls / n),
      row(name, "detection delay p50 (vs naive)", percentile(fc.delaysS, 50), "s", percentile(base.delaysS, 50)),
      row(name, "detection delay p95 (vs naive)", percentile(fc.delaysS, 95), "s", percentile(base.delaysS, 95)),
      row(name, "detection delay max (vs naive)", Math.max(...fc.delaysS), "s", Math.max(...base.delaysS)),
      row(name, "FC run-seconds per finished task (vs naive)", fc.runSeconds / n, "s", base.runSeconds / n),
      row(name, "FC run-seconds per hour with tasks running (vs always on)", fc.runSeconds / fc.busyHours, "s", 3_600),
      row(name, "ends noticed later than the 10 s target (vs all ends)", fc.lateEnds, "ends", n),
      row(
        name,
        "before (no linger, no target): API calls per task (vs naive)",
        before.calls / n,
        "calls",
        base.calls / n,
      ),
      row(
        name,
        "before: detection delay p50 (vs naive)",
        percentile(before.delaysS, 50),
        "s",
        percentile(base.delaysS, 50),
      ),
      row(
        name,
        "before: detection delay p95 (vs naive)",
        percentile(before.delaysS, 95),
        "s",
        percentile(base.delaysS, 95),
      ),
      row(name, "before: FC run-seconds per finished task (vs naive)", before.runSeconds / n, "s", base.runSeconds / n),
    );
  }
  return rows;
}
