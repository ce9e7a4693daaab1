/**
 * Throughput: the whole relay on SQLite — finished tasks polled, events written, two webhooks each
 * signed and POSTed — against a bare loop doing the same HTTP work (GET the task, POST it to both
 * receivers) with the same concurrency. Simulator and receivers run in their own processes, so the
 * CPU measured (this process's) is the relay's or the loop's own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { forEachLimit } from "../lib/concurrency.js";
import { loadConfig } from "../lib/config.js";
import { actionPath } from "../lib/quanmiao/actions.js";
import { createQuanmiaoClient } from "../lib/quanmiao/client.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { SIM_CREDENTIAL } from "../lib/quanmiao/simulator/server.js";
import { openRelay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { row, type ScenarioRow, startBenchSimulator, startScript } from "./support.js";

const WORKSPACES = 100;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const CONCURRENCY = 16;

export async function benchThroughput(tasks: number): Promise<ScenarioRow[]> {
  const sim = await startBenchSimulator(["--no-auth", "--concurrency", "1000"]);
  const receivers = await Promise.all([startScript("receiver.js"), startScript("receiver.js")]);
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bench-"));
  try {
    const submitter = createQuanmiaoClient({
      endpoint: sim.url,
      credentials: staticCredentials(SIM_CREDENTIAL),
      connections: CONCURRENCY,
    });
    const ids: Array<{ ws: string; taskId: string }> = [];
    await forEachLimit(
      Array.from({ length: tasks }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const ws = `llm-bench-${i % WORKSPACES}`;
        ids.push({
          ws,
          taskId: (await submitter.submitTask(ws, { videoUrl: `https://v.example.com/${i}.mp4` })).taskId,
        });
      },
    );
    await submitter.close();

    // Baseline: the same HTTP work, bare.
    const api = new Pool(sim.url, { connections: CONCURRENCY });
    const posts = receivers.map((r) => new Pool(r.url, { connections: CONCURRENCY }));
    const bareCpu = process.cpuUsage();
    const bareStarted = performance.now();
    await forEachLimit(ids, CONCURRENCY, async ({ ws, taskId }) => {
      const res = await api.request({
        method: "GET",
        path: `${actionPath("GetVideoAnalysisTask", ws)}?taskId=${taskId}`,
      });
      const body = await res.body.text();
      await Promise.all(
        posts.map(async (p) => {
          const r = await p.request({
            method: "POST",
            path: "/hook",
            body,
            headers: { "content-type": "application/json" },
          });
          await r.body.dump();
        }),
      );
    });
    const bareRate = tasks / ((performance.now() - bareStarted) / 1000);
    const bareCpuMs = cpuMs(process.cpuUsage(bareCpu));
    await api.close();
    await Promise.all(posts.map((p) => p.close()));

    // The relay, from registered tasks to delivered webhooks.
    const env = {
      RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
      QUANMIAO_ENDPOINT: sim.url,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
      RELAY_API_QPS: "1000",
      RELAY_API_CONCURRENCY: String(CONCURRENCY),
      RELAY_DELIVERY_CONCURRENCY: String(CONCURRENCY * 2),
      RELAY_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
    };
    const relay = await openRelay({ env, config: loadConfig(env), credentials: staticCredentials(SIM_CREDENTIAL) });
    for (const r of receivers) await createWebhook(relay.registration, { url: `${r.url}/hook` });
    for (const { ws, taskId } of ids) await registerTask(relay.registration, { workspaceId: ws, taskId });
    const relayCpu = process.cpuUsage();
    const started = performance.now();
    let delivered = 0;
    for (let i = 0; i < 100; i++) {
      const summary = await relay.tick(600_000);
      delivered += summary.delivered;
      if (delivered >= tasks * 2 && summary.polled === 0) break;
    }
    const relayRate = tasks / ((performance.now() - started) / 1000);
    const relayCpuMs = cpuMs(process.cpuUsage(relayCpu));
    const stillPending = (await relay.store.listDeliveries({ status: "pending", limit: 1 })).items.length;
    await relay.close();
    if (delivered !== tasks * 2 || stillPending > 0) throw new Error(`relay delivered ${delivered} of ${tasks * 2}`);
    const name = `throughput (${tasks} tasks × 2 webhooks)`;
    return [
      row(name, "tasks (vs bare GET + 2 POST loop)", relayRate, "tasks/s", bareRate),
      row(name, "deliveries (vs bare loop)", relayRate * 2, "deliveries/s", bareRate * 2),
      row(name, "CPU per task (vs bare loop)", relayCpuMs / tasks, "ms", bareCpuMs / tasks),
    ];
  } finally {
    await sim.stop();
    await Promise.all(receivers.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
