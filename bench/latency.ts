/**
 * Latency-bound: the API answers in 100 ms and receivers in 200 ms, so the relay spends its time
 * waiting. A run polls (RELAY_API_CONCURRENCY calls at once) and delivers (RELAY_DELIVERY_CONCURRENCY
 * at once) at the same time, so the ideal is the slower of the two stages: one task per
 * `max(100 ms ÷ apiConcurrency, webhooks × 200 ms ÷ deliveryConcurrency)`. (Runs that alternated
 * the two had `100 ms ÷ apiConcurrency + webhooks × 200 ms ÷ deliveryConcurrency` as their ideal.)
 * The figure is how close the relay gets. SQLite; simulator and receivers in their own processes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  relayUntilDelivered,
  row,
  type ScenarioRow,
  startBenchSimulator,
  startScript,
  submitTasks,
} from "./support.js";

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
    const ids = await submitTasks(sim.url, tasks, { workspaces: 10, prefix: "llm-latency", concurrency: CONCURRENCY });
    const { seconds } = await relayUntilDelivered({
      simUrl: sim.url,
      dir,
      webhookUrls: receivers.url.split(" ").map((url) => `${url}/hook`),
      tasks: ids,
      env: {
        RELAY_API_CONCURRENCY: String(CONCURRENCY),
        RELAY_DELIVERY_CONCURRENCY: String(CONCURRENCY),
        RELAY_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
      },
    });
    const ideal = 1 / Math.max(API_MS / 1000 / CONCURRENCY, (WEBHOOKS * RECEIVER_MS) / 1000 / CONCURRENCY);
    return [
      row(
        `latency-bound (API ${API_MS} ms, receivers ${RECEIVER_MS} ms)`,
        "tasks (vs the ideal: the slower stage)",
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
