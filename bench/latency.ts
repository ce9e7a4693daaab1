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
