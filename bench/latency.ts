/**
 * Latency-bound: the API answers in 100 ms and receivers in 200 ms, so the relay spends its time
 * waiting. A run alternates polling (RELAY_API_CONCURRENCY calls at once) and delivering
 * (RELAY_DELIVERY_CONCURRENCY at once), so the ideal is one task per
 * `100 ms ÷ apiConcurrency + webhooks × 200 ms ÷ deliveryConcurrency`; the figure is how close the
 * relay gets. SQLite; simulator and receivers in their own processes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forEachLimit } from "../lib/concurrency.js";
import { loadConfig } from "../lib/config.js";
import { createQuanmiaoClient } from "../lib/quanmiao/client.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { SIM_CREDENTIAL } from "../lib/quanmiao/simulator/server.js";
import { openRelay } from "../lib/relay.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { row, type ScenarioRow, startBenchSimulator, startScript } from "./support.js";

const API_MS = 100;
const RECEIVER_MS = 200;
const CONCURRENCY = 16;
const WEBHOOKS = 2;

export async function benchLatencyBound(tasks: number): Promise<ScenarioRow[]> {
  const sim = await startBenchSimulator(["--concurrency", "1000", "--latency", `${API_MS}ms`]);
  const receivers = await startScript("receiver.js", {
    BENCH_RECEIVER_DELAY_MS: String(RECEIVER_MS),
    BENCH_RECEIVER_PORTS: String(WEBHOOKS),
  });
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bench-"));
  try {
    const submitter = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
    const ids: Array<{ ws: string; taskId: string }> = [];
    await forEachLimit(
      Array.from({ length: tasks }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const ws = `llm-latency-${i % 10}`;
        ids.push({
          ws,
          taskId: (await submitter.submitTask(ws, { videoUrl: `https://v.example.com/${i}.mp4` })).taskId,
        });
      },
    );
    await submitter.close();
    const env = {
      RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
      QUANMIAO_ENDPOINT: sim.url,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
      RELAY_API_QPS: "1000",
      RELAY_API_CONCURRENCY: String(CONCURRENCY),
      RELAY_DELIVERY_CONCURRENCY: String(CONCURRENCY),
      RELAY_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
    };
    const relay = await openRelay({ env, config: loadConfig(env), credentials: staticCredentials(SIM_CREDENTIAL) });
    for (const url of receivers.url.split(" ")) await createWebhook(relay.registration, { url: `${url}/hook` });
    for (const { ws, taskId } of ids) await registerTask(relay.registration, { workspaceId: ws, taskId });
    const started = performance.now();
    let delivered = 0;
    for (let i = 0; i < 100 && delivered < tasks * WEBHOOKS; i++) delivered += (await relay.tick(600_000)).delivered;
    const seconds = (performance.now() - started) / 1000;
    await relay.close();
    if (delivered !== tasks * WEBHOOKS) throw new Error(`latency-bound: delivered ${delivered} of ${tasks * WEBHOOKS}`);
    const ideal = 1 / (API_MS / 1000 / CONCURRENCY + (WEBHOOKS * RECEIVER_MS) / 1000 / CONCURRENCY);
    return [
      row(
        `latency-bound (API ${API_MS} ms, receivers ${RECEIVER_MS} ms)`,
        "tasks (vs the ideal)",
        tasks / seconds,
        "tasks/s",
        ideal,
      ),
    ];
  } finally {
    await sim.stop();
    await receivers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
