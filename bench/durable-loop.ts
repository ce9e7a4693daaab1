/**
 * The least any relay that keeps its promise must do per task, as a second baseline for the
 * throughput scenario: the bare loop's HTTP work, plus the API call through the relay's own client
 * (ACS3-signed, its answer checked), both webhooks signed (Standard Webhooks), the answer made an
 * event body, and recorded on disk — before the webhooks leave — the event and its deliveries, then
 * each delivery's result and the task's end.
 *
 * It writes through the relay's own group commit to a SQLite file opened as the store opens it (WAL,
 * synchronous NORMAL, the same checkpoint interval), with three tables and no secondary index: no
 * leases, listings, retries, logs or metrics. The distance from this loop to the relay is what those cost; the distance from the bare
 * loop to this one is what durability, signing and checking the answer cost whatever the design.
 */
import { join } from "node:path";
import { Pool } from "undici";
import { SIM_CREDENTIAL } from "../dev/quanmiao-simulator/server.js";
import { forEachLimit } from "../lib/concurrency.js";
import { webhookHeaders } from "../lib/delivery/sign.js";
import { deliveryId, eventId } from "../lib/ids.js";
import { createQuanmiaoClient } from "../lib/quanmiao/client.js";
import { staticCredentials } from "../lib/quanmiao/credentials.js";
import { openDatabase } from "../lib/store/sqlite/connection.js";
import { GroupCommit } from "../lib/store/sqlite/group-commit.js";
import { measure, type SubmittedTask } from "./support.js";

const SCHEMA = `
  CREATE TABLE tasks (workspace_id TEXT, task_id TEXT, state TEXT NOT NULL,
    PRIMARY KEY (workspace_id, task_id)) WITHOUT ROWID;
  CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, status TEXT NOT NULL,
    status_code INTEGER) WITHOUT ROWID;`;

const SECRETS = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"];
const EVENT_TYPE = "video_analysis.succeeded";

/**
 * Runs the loop over `tasks` with `concurrency` in flight; throws unless every task ended with every
 * delivery made, so a broken loop cannot pass for a fast one.
 */
export async function durableLoop(options: {
  simUrl: string;
  receiverUrls: readonly string[];
  tasks: readonly SubmittedTask[];
  concurrency: number;
  dir: string;
}): Promise<{ seconds: number; cpuMs: number }> {
  const db = openDatabase(join(options.dir, "durable-loop.db"));
  db.exec(SCHEMA);
  const addTask = db.prepare("INSERT INTO tasks VALUES (?, ?, 'active')");
  db.transaction(() => {
    for (const { ws, taskId } of options.tasks) addTask.run(ws, taskId);
  })();
  const sql = {
    event: db.prepare("INSERT INTO events VALUES (?, ?)"),
    delivery: db.prepare("INSERT INTO deliveries VALUES (?, ?, 'pending', NULL)"),
    result: db.prepare("UPDATE deliveries SET status = ?, status_code = ? WHERE id = ?"),
    end: db.prepare("UPDATE tasks SET state = 'done' WHERE workspace_id = ? AND task_id = ?"),
  };
  const group = new GroupCommit(db);
  const api = createQuanmiaoClient({
    endpoint: options.simUrl,
    credentials: staticCredentials(SIM_CREDENTIAL),
    connections: options.concurrency,
  });
  const receivers = options.receiverUrls.map((href) => {
    const url = new URL(href);
    return { url, pool: new Pool(url.origin, { connections: options.concurrency }) };
  });

  try {
    const measured = await measure(() =>
      forEachLimit(options.tasks, options.concurrency, async ({ ws, taskId }) => {
        const task = await api.getTask(ws, taskId);
        if (task.status !== "SUCCESSED") throw new Error(`task ${taskId} is ${task.status}, not finished`);
        const body = JSON.stringify({
          type: EVENT_TYPE,
          timestamp: new Date().toISOString(),
          data: { workspaceId: ws, taskId, taskStatus: task.status, task: task.raw },
        });
        const event = eventId(ws, taskId, EVENT_TYPE);
        const ids = receivers.map((_, i) => deliveryId(event, `wh_${i}`));
        await group.write(() => {
          sql.event.run(event, body);
          for (const id of ids) sql.delivery.run(id, event);
        });
        await Promise.all(
          receivers.map(async ({ url, pool }, i) => {
            const msgId = ids[i] as string;
            const sent = await pool.request({
              method: "POST",
              path: url.pathname,
              body,
              headers: webhookHeaders({ msgId, secrets: SECRETS, nowMs: Date.now(), body }),
            });
            await sent.body.text();
            const ok = sent.statusCode >= 200 && sent.statusCode < 300;
            await group.writeOne(() => sql.result.run(ok ? "delivered" : "failed", sent.statusCode, msgId));
          }),
        );
        await group.writeOne(() => sql.end.run(ws, taskId));
      }),
    );
    const count = (query: string) => (db.prepare(query).get() as { n: number }).n;
    const delivered = count("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'");
    const ended = count("SELECT COUNT(*) AS n FROM tasks WHERE state = 'done'");
    const wanted = options.tasks.length * receivers.length;
    if (delivered !== wanted || ended !== options.tasks.length) {
      throw new Error(`the durable loop delivered ${delivered} of ${wanted} and ended ${ended} tasks`);
    }
    return measured;
  } finally {
    await api.close();
    await Promise.all(receivers.map((r) => r.pool.close()));
    db.close();
  }
}
