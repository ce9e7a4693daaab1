/**
 * Backlog: one run over 100,000 pending tasks and 20,000 due deliveries on SQLite, in a fresh
 * process, against the same deliveries with no pending tasks (what the task backlog itself costs a
 * run). Measured: the run's wall time and the process's peak RSS. The tasks are not due (the planner pulls each workspace's queue head
 * forward, as it would); the deliveries are, to 10 receivers that answer at once. API QPS is
 * raised to 1000 so the run measures the relay rather than the rate limit.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { systemClock } from "../lib/clock.js";
import { loadConfig } from "../lib/config.js";
import { SqliteStore } from "../lib/store/sqlite.js";
import { createWebhook } from "../lib/webhooks.js";
import { row, type ScenarioRow, startCliServer, startScript, writeDueBacklog } from "./support.js";

const run = promisify(execFile);
const WEBHOOKS = 10;
const WORKSPACES = 100;

interface TickReport {
  wallMs: number;
  peakRssMiB: number;
  summary: { delivered: number; polled: number };
}

export async function benchBacklog(tasks: number, deliveries: number): Promise<ScenarioRow[]> {
  const sim = await startCliServer(["simulator", "--run-time", "30m", "--concurrency", "2"]);
  const receivers = await startScript("receiver.js", { BENCH_RECEIVER_PORTS: String(WEBHOOKS) });
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-backlog-"));
  try {
    const tick = async (db: string): Promise<TickReport> => {
      const env = {
        PATH: process.env.PATH ?? "",
        RELAY_STORE: `sqlite:${db}`,
        QUANMIAO_ENDPOINT: sim.url,
        RELAY_ALLOW_PRIVATE_TARGETS: "true",
        RELAY_API_QPS: "1000",
      };
      const script = fileURLToPath(new URL("./backlog-tick.js", import.meta.url));
      const { stdout } = await run(process.execPath, [script], { env, maxBuffer: 1 << 20 });
      return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as TickReport;
    };
    /** A store with `pending` tasks that are not due and `due` deliveries that are. */
    const build = async (path: string, pending: number) => {
      const store = new SqliteStore(path);
      const nowMs = Date.now();
      for (let i = 0; i < pending; i++) {
        await store.registerTask(
          {
            workspaceId: `llm-backlog-${i % WORKSPACES}`,
            taskId: `task-${String(i).padStart(7, "0")}`,
            submittedAtMs: nowMs - pending + i,
            firstPollAtMs: nowMs + 3_600_000,
          },
          nowMs,
        );
      }
      const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
      for (const url of receivers.url.split(" ")) await createWebhook(deps, { url: `${url}/hook` });
      await writeDueBacklog(store, {
        events: Math.ceil(deliveries / WEBHOOKS),
        workspaceId: "llm-backlog-0",
        label: "done",
        nowMs,
      });
      await store.close();
      return path;
    };
    const wanted = Math.ceil(deliveries / WEBHOOKS) * WEBHOOKS;
    const baseline = await tick(await build(join(dir, "deliveries-only.db"), 0));
    const busy = await tick(await build(join(dir, "backlog.db"), tasks));
    for (const r of [baseline, busy])
      if (r.summary.delivered !== wanted) throw new Error(`backlog: delivered ${r.summary.delivered} of ${wanted}`);
    const name = `backlog (${tasks} pending tasks, ${wanted} due deliveries, SQLite)`;
    return [
      row(name, "one run's wall time (vs the deliveries alone)", busy.wallMs / 1000, "s", baseline.wallMs / 1000),
      row(name, "peak RSS (vs the deliveries alone)", busy.peakRssMiB, "MiB", baseline.peakRssMiB),
    ];
  } finally {
    await sim.stop();
    await receivers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
