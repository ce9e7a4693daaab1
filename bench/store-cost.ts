/**
 * Store cost: what a finished task costs the store, from registration to its webhook delivered
 * (one poll, its event, one delivery), on SQLite (store operations, and the pages its commits
 * write to the WAL) and on Tablestore through the emulator (store operations and the requests
 * they make). The Tablestore row's baseline is its own store operations, so its ratio is requests
 * per operation.
 *
 * The SQLite store starts with `history` finished deliveries already in it: in a table of a few
 * pages every write lands on the same pages, and only a table of many shows whether index entries
 * are appended (a few pages a commit) or scattered (a page per entry).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIM_CREDENTIAL, startSimulator } from "../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../dev/tablestore-emulator/server.js";
import { loadConfig } from "../lib/config.js";
import { deliveryId, eventId } from "../lib/ids.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openRelay } from "../lib/relay.js";
import { SqliteStore } from "../lib/store/sqlite.js";
import type { Store } from "../lib/store/store.js";
import { TablestoreStore } from "../lib/store/tablestore.js";
import { registerTask } from "../lib/tasks.js";
import { createWebhook } from "../lib/webhooks.js";
import { countingStore, row, type ScenarioRow, startScript } from "./support.js";

/**
 * Finishes `tasks` tasks after one warm-up task, which teaches the relay its workspace (its
 * concurrency): the figures are a steady state's, not a first registration's. `mark` is called
 * once the warm-up is done.
 */
async function finishTasks(
  store: Store,
  tasks: number,
  simUrl: string,
  receiverUrl: string,
  sim: Awaited<ReturnType<typeof startSimulator>>,
  mark: () => void,
) {
  const env = { QUANMIAO_ENDPOINT: simUrl, RELAY_ALLOW_PRIVATE_TARGETS: "true", RELAY_API_QPS: "1000" };
  const relay = await openRelay({
    env,
    config: loadConfig(env),
    store,
    credentials: staticCredentials(SIM_CREDENTIAL),
  });
  try {
    await createWebhook(relay.registration, { url: `${receiverUrl}/hook` });
    const finish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const task = sim.addTask("llm-cost", { outcome: "SUCCESSED", runMs: 0 });
        await registerTask(relay.registration, { workspaceId: "llm-cost", taskId: task.taskId });
      }
      let delivered = 0;
      for (let i = 0; i < 50 && delivered < n; i++) delivered += (await relay.tick(600_000)).delivered;
      if (delivered !== n) throw new Error(`store cost: delivered ${delivered} of ${n}`);
    };
    await finish(1);
    mark();
    await finish(tasks);
  } finally {
    await relay.close();
  }
}

/** `n` events of finished tasks, each with one delivered delivery, created a millisecond apart. */
async function seedHistory(store: Store, n: number, webhookId: string): Promise<void> {
  const start = Date.now() - 86_400_000;
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => i + j);
    await Promise.all(
      batch.map((k) =>
        store.createEvent({
          id: eventId("llm-history", `t${k}`, "video_analysis.succeeded"),
          type: "video_analysis.succeeded",
          workspaceId: "llm-history",
          taskId: `t${k}`,
          body: "{}",
          createdAtMs: start + k,
        }),
      ),
    );
    await store.createDeliveries(
      batch.map((k) => {
        const event = eventId("llm-history", `t${k}`, "video_analysis.succeeded");
        return {
          id: deliveryId(event, webhookId),
          eventId: event,
          webhookId,
          url: "http://127.0.0.1:9/hook",
          nextAttemptAtMs: start + k,
          createdAtMs: start + k,
          eventType: "video_analysis.succeeded",
        };
      }),
    );
  }
}

/** WAL frames (pages written by commits) so far; checkpoints are off, so the file only grows. */
function walPages(path: string, pageSize: number): number {
  try {
    return Math.max(0, (statSync(`${path}-wal`).size - 32) / (pageSize + 24));
  } catch {
    return 0;
  }
}

export async function benchStoreCost(tasks: number, history: number): Promise<ScenarioRow[]> {
  const sim = await startSimulator({ runMs: 0, workspaces: { "llm-cost": 1_000 } });
  const receiver = await startScript("receiver.js");
  const emulator = await startTablestoreEmulator();
  const dir = mkdtempSync(join(tmpdir(), "quanmiao-cost-"));
  try {
    const path = join(dir, "relay.db");
    const sqliteStore = new SqliteStore(path);
    // Every page a commit writes stays in the WAL, to be counted.
    sqliteStore.db.pragma("wal_autocheckpoint = 0");
    const pageSize = Number(sqliteStore.db.pragma("page_size", { simple: true }));
    await seedHistory(sqliteStore, history, "wh_history");
    const sqlite = countingStore<Store>(sqliteStore);
    let sqliteBefore = 0;
    let pagesBefore = 0;
    await finishTasks(sqlite.store, tasks, sim.url, receiver.url, sim, () => {
      sqliteBefore = sqlite.calls();
      pagesBefore = walPages(path, pageSize);
    });
    const pages = walPages(path, pageSize) - pagesBefore;
    await sqlite.store.close();

    const ts = new TablestoreStore({
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    });
    await ts.init();
    const sent = () => Object.values(emulator.stats().requests).reduce((a, b) => a + b, 0);
    const tablestore = countingStore<Store>(ts);
    let before = 0;
    let opsBefore = 0;
    await finishTasks(tablestore.store, tasks, sim.url, receiver.url, sim, () => {
      before = sent();
      opsBefore = tablestore.calls();
    });
    const requests = sent() - before;
    await ts.close();
    const name = `store cost (${tasks} finished tasks, 1 webhook)`;
    return [
      row(name, "SQLite store operations per finished task", (sqlite.calls() - sqliteBefore) / tasks, "ops", null),
      row(
        `${name}, ${history} delivered before`,
        "SQLite pages written per finished task",
        pages / tasks,
        "pages",
        null,
      ),
      row(
        name,
        "Tablestore requests per finished task (vs its store operations)",
        requests / tasks,
        "requests",
        (tablestore.calls() - opsBefore) / tasks,
      ),
    ];
  } finally {
    await sim.close();
    await receiver.stop();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
