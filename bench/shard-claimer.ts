/**
 * One claiming process of the shards benchmark: claims due tasks (100 at a time) and finishes each,
 * as a poll run would after its answer, until claims come back empty or it has made BENCH_CLAIMS
 * claims; prints how many tasks it took. Configured by the environment: BENCH_TABLESTORE
 * (endpoint), BENCH_SHARDS, BENCH_OWNER, BENCH_CLAIMS.
 */
import { EMULATOR_CREDENTIAL, EMULATOR_INSTANCE } from "../dev/tablestore-emulator/server.js";
import { forEachLimit } from "../lib/concurrency.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { TablestoreStore } from "../lib/store/tablestore.js";

const store = new TablestoreStore({
  endpoint: String(process.env.BENCH_TABLESTORE),
  instance: EMULATOR_INSTANCE,
  credentials: staticCredentials(EMULATOR_CREDENTIAL),
  dueShards: Number(process.env.BENCH_SHARDS),
});
const owner = String(process.env.BENCH_OWNER);
const maxClaims = Number(process.env.BENCH_CLAIMS ?? Number.POSITIVE_INFINITY);
let claimed = 0;
// Two empty claims in a row: every shard was read twice and held nothing this process could take.
for (let empty = 0, claims = 0; empty < 2 && claims < maxClaims; claims++) {
  const nowMs = Date.now();
  const tasks = await store.claimDueTasks({ owner, nowMs, leaseMs: 600_000, limit: 100 });
  empty = tasks.length === 0 ? empty + 1 : 0;
  claimed += tasks.length;
  await forEachLimit(tasks, 16, async (t) => {
    const u = { state: "done" as const, status: "SUCCESSED", nextPollAtMs: t.nextPollAtMs, pollCount: 1 };
    if (!(await store.updateTask(t, owner, { ...u, pollsInStatus: 0, terminalAtMs: nowMs })))
      throw new Error(`lost the lease on ${t.taskId}`);
  });
}
await store.close();
process.stdout.write(`${JSON.stringify({ claimed })}\n`);
