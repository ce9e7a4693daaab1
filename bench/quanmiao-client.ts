/**
 * getTask through the client (sign, send, read, parse, zod) against a bare undici GET of the same
 * URL on the same simulator process, which runs with `--no-auth` so both do the same server work.
 */
import { Pool } from "undici";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { actionPath } from "../lib/quanmiao/actions.js";
import { createQuanmiaoClient } from "../lib/quanmiao/client.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { median, rate, row, type ScenarioRow, startBenchSimulator } from "./support.js";

export async function benchQuanmiaoClient(calls: number, rounds: number): Promise<ScenarioRow[]> {
  const sim = await startBenchSimulator(["--no-auth"]);
  const connections = 8;
  const client = createQuanmiaoClient({
    endpoint: sim.url,
    credentials: staticCredentials(SIM_CREDENTIAL),
    connections,
  });
  const bare = new Pool(sim.url, { connections });
  try {
    const ws = "llm-bench";
    const { taskId } = await client.submitTask(ws, { videoUrl: "https://v.example.com/bench.mp4" });
    const path = `${actionPath("GetVideoAnalysisTask", ws)}?taskId=${taskId}`;
    const viaClient = async () => client.getTask(ws, taskId);
    const viaBare = async () => {
      const res = await bare.request({ method: "GET", path });
      await res.body.text();
    };
    await rate(500, connections, viaClient);
    await rate(500, connections, viaBare);

    const rows: ScenarioRow[] = [];
    for (const concurrency of [1, connections]) {
      const subject: number[] = [];
      const baseline: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Interleaved, so drift on a noisy machine hits both sides alike.
        baseline.push(await rate(calls, concurrency, viaBare));
        subject.push(await rate(calls, concurrency, viaClient));
      }
      const s = median(subject);
      const b = median(baseline);
      rows.push(row("getTask client", `${concurrency} in flight (vs bare undici GET)`, s, "calls/s", b));
    }
    return rows;
  } finally {
    await client.close();
    await bare.close();
    await sim.stop();
  }
}
