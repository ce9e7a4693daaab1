/**
 * Throughput: the whole relay on SQLite — finished tasks polled, events written, two webhooks each
 * signed and POSTed — against two baselines with the same concurrency: a bare loop doing the same
 * HTTP work (GET the task, POST it to both receivers), and the minimal durable loop (durable-loop.ts)
 * that also signs and records what any relay must. Simulator and receivers run in their own
 * processes, so the CPU measured (this process's) is the relay's or the loop's own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { forEachLimit } from "../lib/concurrency.js";
import { actionPath } from "../lib/quanmiao/actions.js";
import { durableLoop } from "./durable-loop.js";
import {
  measure,
  relayUntilDelivered,
  row,
  type ScenarioRow,
  startBenchSimulator,
  startScript,
  submitTasks,
} from "./support.js";

const WORKSPACES = 100;
const CONCURRENCY = 16;

export async function benchThroughput(tasks: number): Promise<ScenarioRow[]> {
  const sim = await startBenchSimulator(["--no-auth", "--concurrency", "1000"]);
  const receivers = await Promise.all([startScript("receiver.js"), startScript("receiver.js")]);
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-bench-"));
  try {
    const ids = await submitTasks(sim.url, tasks, {
      workspaces: WORKSPACES,
      prefix: "llm-bench",
      concurrency: CONCURRENCY,
    });

    // Baseline: the same HTTP work, bare.
    const api = new Pool(sim.url, { connections: CONCURRENCY });
    const posts = receivers.map((r) => new Pool(r.url, { connections: CONCURRENCY }));
    const bare = await measure(() =>
      forEachLimit(ids, CONCURRENCY, async ({ ws, taskId }) => {
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
      }),
    );
    await api.close();
    await Promise.all(posts.map((p) => p.close()));

    const durable = await durableLoop({
      simUrl: sim.url,
      receiverUrls: receivers.map((r) => `${r.url}/hook`),
      tasks: ids,
      concurrency: CONCURRENCY,
      dir,
    });

    // The relay, from registered tasks to delivered webhooks.
    const relay = await relayUntilDelivered({
      simUrl: sim.url,
      dir,
      webhookUrls: receivers.map((r) => `${r.url}/hook`),
      tasks: ids,
      // Neither loop has a rate limit: the relay's bucket is set above any rate reached here, so its
      // cost is measured but not its cap (at RELAY_API_QPS's ceiling of 1,000 calls a second the relay
      // could finish at most ~990 tasks a second, and the ratio to the durable loop was the cap's).
      apiQps: 100_000,
      env: {
        RELAY_API_CONCURRENCY: String(CONCURRENCY),
        RELAY_DELIVERY_CONCURRENCY: String(CONCURRENCY * 2),
        RELAY_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
      },
    });
    const relayRate = tasks / relay.seconds;
    const bareRate = tasks / bare.seconds;
    const durableRate = tasks / durable.seconds;
    const name = `throughput (${tasks} tasks × 2 webhooks)`;
    return [
      row(name, "tasks (vs bare GET + 2 POST loop)", relayRate, "tasks/s", bareRate),
      row(name, "deliveries (vs bare loop)", relayRate * 2, "deliveries/s", bareRate * 2),
      row(name, "CPU per task (vs bare loop)", relay.cpuMs / tasks, "ms", bare.cpuMs / tasks),
      row(name, "tasks (vs minimal durable loop)", relayRate, "tasks/s", durableRate),
      row(name, "CPU per task (vs minimal durable loop)", relay.cpuMs / tasks, "ms", durable.cpuMs / tasks),
      row(name, "minimal durable loop: CPU per task (vs bare loop)", durable.cpuMs / tasks, "ms", bare.cpuMs / tasks),
    ];
  } finally {
    await sim.stop();
    await Promise.all(receivers.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
