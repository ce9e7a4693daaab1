/**
 * Polling economy: a simulated day on a manual clock. Tasks arrive through the day in 10
 * workspaces (asyncConcurrency 2–30, arrivals in proportion, run times 1–30 min); the relay runs
 * once a minute, as the FC timer does. Measured: API calls per finished task and how long after a
 * task ended the relay noticed (p50/p95), next to a naive poller that asks about every unfinished
 * task every 10 s from submission (computed from the same task timelines).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../lib/clock.js";
import { loadConfig } from "../lib/config.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { seededRandom } from "../lib/quanmiao/simulator/random.js";
import { SIM_CREDENTIAL, startSimulator } from "../lib/quanmiao/simulator/server.js";
import type { SimTask } from "../lib/quanmiao/simulator/workspace.js";
import { openRelay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { percentile, row, type ScenarioRow } from "./support.js";

const CONCURRENCIES = [2, 3, 4, 6, 8, 10, 14, 18, 24, 30];
const TIMER_MS = 60_000;
const NAIVE_MS = 10_000;

export async function benchPollingEconomy(tasks: number, hours: number): Promise<ScenarioRow[]> {
  const clock = new ManualClock();
  const random = seededRandom("economy");
  const sim = await startSimulator({
    clock,
    workspaces: Object.fromEntries(CONCURRENCIES.map((c, i) => [`llm-day-${i}`, c])),
    failureRate: 0.05,
    cancelRate: 0.02,
  });
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-economy-"));
  const t0 = clock.now();
  const dayMs = hours * 3_600_000;
  const total = CONCURRENCIES.reduce((a, b) => a + b, 0);
  const arrivals = Array.from({ length: tasks }, () => {
    // A workspace in proportion to its concurrency, so every workspace is about equally busy.
    let pick = random() * total;
    let ws = 0;
    while (ws < CONCURRENCIES.length - 1 && pick >= (CONCURRENCIES[ws] as number))
      pick -= CONCURRENCIES[ws++] as number;
    return { atMs: t0 + Math.floor(random() * dayMs), ws: `llm-day-${ws}` };
  }).sort((a, b) => a.atMs - b.atMs);
  const env = {
    RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
  };
  const relay = await openRelay({
    env,
    config: loadConfig(env),
    clock,
    sleep: clock.sleep,
    random: seededRandom("economy-relay"),
    credentials: staticCredentials(SIM_CREDENTIAL),
  });
  try {
    const submitted: Array<{ task: SimTask; atMs: number }> = [];
    let next = 0;
    for (let tick = 0; ; tick++) {
      clock.set(t0 + tick * TIMER_MS);
      for (; next < arrivals.length && (arrivals[next]?.atMs ?? 0) <= clock.now(); next++) {
        const { atMs, ws } = arrivals[next] as { atMs: number; ws: string };
        const task = sim.addTask(ws, { submittedAtMs: atMs, runMs: 60_000 + Math.floor(random() * 29 * 60_000) });
        await registerTask(relay.registration, { workspaceId: ws, taskId: task.taskId, submittedAtMs: atMs });
        submitted.push({ task, atMs });
      }
      await relay.tick(50_000);
      if (next >= arrivals.length && (await relay.store.listTasks({ state: "active", limit: 1 })).items.length === 0)
        break;
      if (tick > (hours + 48) * 60) throw new Error("the simulated day did not drain");
    }
    const { calls } = sim.stats();
    const relayCalls = calls.GetVideoAnalysisTask + calls.GetVideoAnalysisConfig;
    const relayDelays: number[] = [];
    const naiveDelays: number[] = [];
    let naiveCalls = 0;
    for (const { task, atMs } of submitted) {
      const endsAtMs = task.endsAtMs ?? atMs;
      const row = await relay.store.getTask(task.workspaceId, task.taskId);
      relayDelays.push(((row?.terminalAtMs ?? endsAtMs) - endsAtMs) / 1000);
      const lived = endsAtMs - atMs;
      naiveCalls += Math.floor(lived / NAIVE_MS) + 1;
      naiveDelays.push((Math.ceil(lived / NAIVE_MS) * NAIVE_MS - lived) / 1000);
    }
    const name = `polling economy (${tasks} tasks, 10 workspaces, ${hours} h simulated)`;
    return [
      row(name, "API calls per finished task (vs naive 10 s poller)", relayCalls / tasks, "calls", naiveCalls / tasks),
      row(name, "detection delay p50 (vs naive)", percentile(relayDelays, 50), "s", percentile(naiveDelays, 50)),
      row(name, "detection delay p95 (vs naive)", percentile(relayDelays, 95), "s", percentile(naiveDelays, 95)),
    ];
  } finally {
    await relay.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
