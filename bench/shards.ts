/**
 * Sharded due indexes: `tasks` pending tasks, all due, claimed and finished by `processes` processes
 * at once on one Tablestore (the emulator) — each making at most `claims` claims of 100, so that a
 * large backlog is sampled rather than drained — with the due index over several shards against
 * one shard (the layout before shards). Reports Tablestore requests per finished task and the
 * busiest due-index partition's share of that index's row operations (1.0: one takes everything).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../dev/tablestore-emulator/server.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import type { TaskRow } from "../lib/store/store.js";
import { condition, IGNORE, putColumns, TablestoreClient } from "../lib/store/tablestore/client.js";
import { attributesOf, keys, TASK } from "../lib/store/tablestore/codecs.js";
import { DueShards } from "../lib/store/tablestore/shards.js";
import type { RowChange } from "../lib/store/tablestore/wire/messages.js";
import type { AttributeValue, Pk } from "../lib/store/tablestore/wire/values.js";
import { TABLES, TablestoreStore } from "../lib/store/tablestore.js";
import { row, type ScenarioRow } from "./support.js";

const CLAIMER = fileURLToPath(new URL("./shard-claimer.js", import.meta.url));

/** Writes the tasks straight into their tables, 200 rows a request: registering each would take minutes. */
async function prefill(client: TablestoreClient, shards: DueShards, tasks: number, nowMs: number) {
  const put = (primaryKey: Pk, attributeColumns: Array<Record<string, AttributeValue>>): RowChange => ({
    type: "PUT",
    condition: condition(IGNORE),
    primaryKey,
    attributeColumns,
  });
  const rows = { tasks: [] as RowChange[], due: [] as RowChange[], queue: [] as RowChange[] };
  for (let i = 0; i < tasks; i++) {
    const task: TaskRow = {
      workspaceId: `bench-ws-${i % 100}`,
      taskId: `bench-task-${i}`,
      state: "active",
      submittedAtMs: nowMs - tasks + i,
      registeredAtMs: nowMs,
      nextPollAtMs: nowMs - tasks + i,
      pollCount: 0,
      pollsInStatus: 0,
      leaseUntilMs: 0,
      webhookUrls: [],
      metadata: {},
      status: undefined,
      lastPolledAtMs: undefined,
      lastError: undefined,
      leaseOwner: undefined,
      terminalAtMs: undefined,
      runningSinceMs: undefined,
      profile: undefined,
      videoDurationMs: undefined,
      progressParts: undefined,
    };
    rows.tasks.push(
      put(keys.task(task.workspaceId, task.taskId), putColumns(attributesOf(TASK, task, ["workspaceId", "taskId"]))),
    );
    rows.due.push(put(shards.taskDue(task.nextPollAtMs, task.workspaceId, task.taskId), [{ _: true }]));
    rows.queue.push(put(keys.taskQueue(task.workspaceId, task.submittedAtMs, task.taskId), [{ _: true }]));
  }
  await client.batchWrite(TABLES.tasks.name, rows.tasks);
  await client.batchWrite(TABLES.taskDue.name, rows.due);
  await client.batchWrite(TABLES.taskQueue.name, rows.queue);
}

async function claimAll(endpoint: string, shards: number, processes: number, claims: number): Promise<number> {
  const children = Array.from({ length: processes }, (_, i) => {
    const child = spawn(process.execPath, [CLAIMER], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        BENCH_TABLESTORE: endpoint,
        BENCH_SHARDS: String(shards),
        BENCH_OWNER: `claimer-${i}`,
        BENCH_CLAIMS: String(claims),
      },
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    // "close", not "exit": the output may still be in the pipe when the process has exited.
    return once(child, "close").then(([code]) => {
      if (code !== 0) throw new Error(`claimer ${i} exited with ${code}`);
      return (JSON.parse(out) as { claimed: number }).claimed;
    });
  });
  return (await Promise.all(children)).reduce((a, b) => a + b, 0);
}

async function measure(tasks: number, processes: number, shards: number, claims: number) {
  const emulator = await startTablestoreEmulator();
  try {
    const options = {
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    };
    const store = new TablestoreStore(options);
    await store.init();
    await store.close();
    const client = new TablestoreClient(options);
    await prefill(
      client,
      new DueShards(shards, { get: async () => undefined, compareAndSet: async () => true }),
      tasks,
      Date.now(),
    );
    const requests = () => Object.values(emulator.stats().requests).reduce((a, b) => a + b, 0);
    const before = { requests: requests(), ops: emulator.partitionOps(TABLES.taskDue.name) };
    const started = performance.now();
    const claimed = await claimAll(emulator.url, shards, processes, claims);
    const seconds = (performance.now() - started) / 1000;
    // Drained, every task was claimed exactly once; sampled, claims lost to others come back short.
    const drained = processes * claims * 100 >= tasks * 2;
    if (drained ? claimed !== tasks : claimed === 0) throw new Error(`shards: ${claimed} of ${tasks} tasks claimed`);
    const after = emulator.partitionOps(TABLES.taskDue.name);
    const byShard = Object.entries(after).map(([shard, n]) => n - (before.ops[shard] ?? 0));
    const total = byShard.reduce((a, b) => a + b, 0);
    return {
      perTask: (requests() - before.requests) / claimed,
      busiest: Math.max(...byShard) / total,
      rate: claimed / seconds,
      claimed,
    };
  } finally {
    await emulator.close();
  }
}

export async function benchShards(
  tasks: number,
  processes: number,
  shards: number,
  claims: number,
): Promise<ScenarioRow[]> {
  const sharded = await measure(tasks, processes, shards, claims);
  const single = await measure(tasks, processes, 1, claims);
  const name = `shards (${tasks} pending, ${sharded.claimed} finished by ${processes} processes, Tablestore)`;
  return [
    row(name, `requests per task, ${shards} shards (vs 1 shard)`, sharded.perTask, "requests", single.perTask),
    row(name, `busiest due partition's share, ${shards} shards (vs 1)`, sharded.busiest, "share", single.busiest),
    row(name, `tasks claimed and finished, ${shards} shards (vs 1)`, sharded.rate, "tasks/s", single.rate),
  ];
}
