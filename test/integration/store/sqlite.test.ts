import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { MIGRATIONS } from "../../../lib/store/sqlite/migrations.js";
import { SQL } from "../../../lib/store/sqlite/queries.js";
import { DUE_WORK_SQL, SCHEMA_VERSION, SqliteStore } from "../../../lib/store/sqlite.js";
import type { DeliveryFilter } from "../../../lib/store/store.js";
import { tempDir } from "../../support/relay.js";
import { storeConformance } from "../../support/store-conformance.js";

function openTemp(): SqliteStore {
  const store = new SqliteStore(join(tempDir(), "nested", "relay.db"));
  onTestFinished(() => store.close());
  return store;
}

storeConformance("SQLite", async () => openTemp());

describe("SQLite specifics", () => {
  const plan = (store: SqliteStore, sql: string) =>
    (
      store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from(sql.matchAll(/\?/g), () => 0)) as Array<{
        detail: string;
      }>
    )
      .map((r) => r.detail)
      .join("\n");

  /** The statement starting with `prefix` that `work` prepares, if it prepares a new one. */
  const newlyPrepared = async (store: SqliteStore, prefix: string, work: () => Promise<unknown>) => {
    const prepared: string[] = [];
    const prepare = store.db.prepare.bind(store.db);
    const spy = vi.spyOn(store.db, "prepare").mockImplementation((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    });
    try {
      await work();
    } finally {
      spy.mockRestore();
    }
    return prepared.find((sql) => sql.startsWith(prefix));
  };

  it("finds due work through the partial indexes, not a scan", async () => {
    const store = openTemp();
    // Rows in other states make a scan visible in the plan, and give the planner something to weigh.
    for (let i = 0; i < 50; i++) await store.registerTask({ workspaceId: "w", taskId: `t${i}` }, 0);
    store.db.exec("ANALYZE");
    expect(plan(store, DUE_WORK_SQL.dueTasks)).toMatch(/SEARCH tasks USING INDEX tasks_due \(next_poll_at_ms<\?\)/);
    expect(plan(store, DUE_WORK_SQL.dueDeliveries)).toMatch(/SEARCH deliveries USING INDEX deliveries_due/);
    expect(plan(store, DUE_WORK_SQL.dueDeliveryPage)).toMatch(/SEARCH deliveries USING INDEX deliveries_due/);
    expect(plan(store, DUE_WORK_SQL.queueHead)).toMatch(/SEARCH tasks USING INDEX tasks_queue \(workspace_id=\?\)/);
    expect(plan(store, DUE_WORK_SQL.queuedAhead)).toMatch(
      /SEARCH tasks USING COVERING INDEX tasks_queue \(workspace_id=\? AND submitted_at_ms<\?\)/,
    );
    for (const sql of Object.values(DUE_WORK_SQL)) expect(plan(store, sql)).not.toMatch(/SCAN/);
    // What `listen` follows: events in creation order, through their own index.
    expect(plan(store, SQL.eventsInOrder)).toMatch(/SEARCH events USING INDEX events_by_time/);
    // Retention walks events by time; the backlog gauges read only the pending deliveries' index.
    expect(plan(store, SQL.purgeableEvents)).toMatch(/SEARCH e USING (COVERING )?INDEX events_by_time/);
    expect(plan(store, SQL.pendingCount)).toMatch(/deliveries USING COVERING INDEX deliveries_due/);
    expect(plan(store, SQL.oldestPending)).toMatch(/deliveries USING COVERING INDEX deliveries_due/);
  });

  it("runs in WAL mode with a busy timeout, and migrates a new file to the current version", () => {
    const store = openTemp();
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(Number(store.db.pragma("busy_timeout", { simple: true }))).toBeGreaterThan(0);
    expect(Number(store.db.pragma("user_version", { simple: true }))).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(12);
    // Checkpoints run less often than SQLite's default: each one rewrites the pages it copies.
    expect(Number(store.db.pragma("wal_autocheckpoint", { simple: true }))).toBe(4000);
    // Sub-journals in memory (2): no temporary file written and deleted per commit.
    expect(Number(store.db.pragma("temp_store", { simple: true }))).toBe(2);
  });

  it("lists deliveries newest first through a creation-time index, never sorting", async () => {
    const store = openTemp();
    const sqlOf = (filter: Omit<DeliveryFilter, "limit">) =>
      newlyPrepared(store, "SELECT * FROM deliveries", () => store.listDeliveries({ ...filter, limit: 10 }));
    const plans: Record<string, string> = {};
    for (const [name, filter] of Object.entries({
      all: {},
      pending: { status: "pending" },
      failed: { status: "failed" },
      dead: { status: "dead" },
      delivered: { status: "delivered" },
      webhook: { webhookId: "wh_1" },
      type: { eventType: "video_analysis.succeeded" },
    } as const))
      plans[name] = plan(store, (await sqlOf(filter)) ?? "");
    expect(plans.all).toMatch(/^SCAN deliveries USING INDEX deliveries_by_time$/);
    // The pending: the due index holds them (and only them), sorted once read.
    expect(plans.pending).toMatch(/deliveries USING INDEX deliveries_due/);
    // The dead and the retrying after a failure: an index of their own, written only on failures.
    expect(plans.failed).toMatch(/deliveries USING INDEX deliveries_failing/);
    expect(plans.dead).toMatch(/deliveries USING INDEX deliveries_failing/);
    // The delivered abound: the walk of every delivery by time finds them.
    expect(plans.delivered).toMatch(/deliveries USING INDEX deliveries_by_time/);
    expect(plans.webhook).toMatch(/deliveries USING INDEX deliveries_by_webhook \(webhook_id=\?\)/);
    expect(plans.type).toMatch(/deliveries USING INDEX deliveries_by_time/);
    for (const [name, p] of Object.entries(plans)) if (name !== "pending") expect(p).not.toMatch(/TEMP B-TREE/);
  });

  it("lists tasks newest first: the active from the due index, the others by time", async () => {
    const store = openTemp();
    const sqlOf = (state: "active" | "done" | undefined) =>
      newlyPrepared(store, "SELECT * FROM tasks", () => store.listTasks({ ...(state ? { state } : {}), limit: 10 }));
    expect(plan(store, (await sqlOf("active")) ?? "")).toMatch(/^SCAN tasks USING INDEX tasks_due\nUSE TEMP B-TREE/);
    // Finished tasks are most of the table: the walk of every task by time finds them.
    expect(plan(store, (await sqlOf("done")) ?? "")).toMatch(/^SCAN tasks USING INDEX tasks_by_time$/);
    expect(plan(store, (await sqlOf(undefined)) ?? "")).toMatch(/^SCAN tasks USING INDEX tasks_by_time$/);
  });

  it("migrates a version-1 file in place: its tasks stay, with the new columns empty", async () => {
    const path = join(tempDir(), "v1.db");
    // A file as the first release wrote it: the version-1 schema and one row.
    const old = new Database(path);
    old.exec(`${MIGRATIONS[0]}
      INSERT INTO tasks (workspace_id, task_id, state, status, submitted_at_ms, registered_at_ms, next_poll_at_ms)
        VALUES ('w', 'old', 'active', 'RUNNING', 1, 2, 3);
      PRAGMA user_version = 1;`);
    old.close();
    const store = new SqliteStore(path);
    onTestFinished(() => store.close());
    expect(Number(store.db.pragma("user_version", { simple: true }))).toBe(SCHEMA_VERSION);
    // Migrated with temporary data in files, then back to memory for the sub-journals.
    expect(Number(store.db.pragma("temp_store", { simple: true }))).toBe(2);
    expect(await store.getTask("w", "old")).toMatchObject({
      status: "RUNNING",
      nextPollAtMs: 3,
      runningSinceMs: undefined,
      profile: undefined,
      videoDurationMs: undefined,
      progressParts: undefined,
    });
  });

  it("migrates a version-5 file's events and deliveries to rowid tables, every row and column kept", () => {
    const path = join(tempDir(), "v5.db");
    const old = new Database(path);
    old.exec(`${MIGRATIONS.slice(0, 5).join("\n")}
      INSERT INTO events (id, type, workspace_id, task_id, body, created_at_ms)
        VALUES ('evt_b', 'task.succeeded', 'w', 't1', '{"a":1}', 20), ('evt_a', 'task.failed', 'w', 't2', '{}', 10);
      INSERT INTO deliveries (id, event_id, webhook_id, url, status, attempts, next_attempt_at_ms,
          last_attempt_at_ms, last_status_code, last_error, last_response, lease_owner, lease_until_ms,
          created_at_ms, delivered_at_ms, attempt_log, event_type)
        VALUES ('msg_1', 'evt_b', 'wh_1', 'https://a.example/h', 'delivered', 1, 30, 25, 200, NULL, 'ok', NULL, 0,
          20, 25, '[{"atMs":25}]', 'task.succeeded'),
          ('msg_2', 'evt_a', 'wh_1', 'https://a.example/h', 'pending', 2, 40, 35, 500, 'HTTP 500', 'no', 'run-1',
          99, 10, NULL, NULL, 'task.failed');
      PRAGMA user_version = 5;`);
    const rows = (db: Database.Database) => ({
      events: db.prepare("SELECT * FROM events ORDER BY id").all(),
      deliveries: db.prepare("SELECT * FROM deliveries ORDER BY id").all(),
    });
    const before = rows(old);
    old.close();

    const store = new SqliteStore(path);
    onTestFinished(() => store.close());
    expect(Number(store.db.pragma("user_version", { simple: true }))).toBe(SCHEMA_VERSION);
    expect(rows(store.db)).toEqual(before);
    const tables = store.db.pragma("table_list") as Array<{ name: string; wr: number }>;
    for (const name of ["events", "deliveries"]) expect(tables.find((t) => t.name === name)?.wr).toBe(0);
    const indexes = (table: string) =>
      (store.db.pragma(`index_list(${table})`) as Array<{ name: string }>).map((i) => i.name).sort();
    expect(indexes("events")).toEqual(["events_by_task", "events_by_time", "sqlite_autoindex_events_1"]);
    expect(indexes("deliveries")).toEqual([
      "deliveries_by_event",
      "deliveries_by_time",
      "deliveries_by_webhook",
      "deliveries_due",
      "deliveries_failing",
      "sqlite_autoindex_deliveries_1",
    ]);
    // The id stays unique: the same event written twice is still one row.
    expect(() => store.db.exec("INSERT INTO events SELECT * FROM events WHERE id = 'evt_a'")).toThrow(/UNIQUE/);
  });

  it("migrates a version-7 file's webhooks in place: every column kept, no rate limit, and a fraction stored", async () => {
    const path = join(tempDir(), "v7.db");
    const old = new Database(path);
    old.exec(`${MIGRATIONS.slice(0, 7).join("\n")}
      INSERT INTO webhooks (id, url, secrets, events, workspace_id, headers, enabled, disabled_reason,
          failing_since_ms, created_at_ms)
        VALUES ('wh_old', 'https://a.example/h', '[{"secret":"whsec_AAAA"}]', '["video_analysis.running"]', 'llm-a',
          '{"X-Tenant":"acme"}', 0, 'by its owner', 7, 5);
      PRAGMA user_version = 7;`);
    old.close();
    const store = new SqliteStore(path);
    onTestFinished(() => store.close());
    expect(Number(store.db.pragma("user_version", { simple: true }))).toBe(SCHEMA_VERSION);
    const migrated = await store.getWebhook("wh_old");
    expect(migrated).toEqual({
      id: "wh_old",
      url: "https://a.example/h",
      secrets: [{ secret: "whsec_AAAA" }],
      events: ["video_analysis.running"],
      workspaceId: "llm-a",
      headers: { "X-Tenant": "acme" },
      enabled: false,
      disabledReason: "by its owner",
      failingSinceMs: 7,
      createdAtMs: 5,
    });
    expect(migrated?.rateLimitPerSecond).toBeUndefined();
    // Migration 11: the standard format, to the URL, as before.
    expect(migrated?.format).toBeUndefined();
    expect(migrated?.eventBridge).toBeUndefined();
    // The column is REAL: a fraction comes back as written, not rounded to an integer.
    await store.updateWebhook({ ...(migrated as NonNullable<typeof migrated>), rateLimitPerSecond: 0.25 });
    expect(store.db.prepare("SELECT typeof(rate_limit_per_second) AS t FROM webhooks").get()).toEqual({ t: "real" });
    expect((await store.getWebhook("wh_old"))?.rateLimitPerSecond).toBe(0.25);
  });

  it("two processes claiming from one file never get the same task", async () => {
    const dir = tempDir();
    const path = join(dir, "shared.db");
    const seed = new SqliteStore(path);
    for (let i = 0; i < 400; i++) await seed.registerTask({ workspaceId: "w", taskId: `t${i}`, firstPollAtMs: 0 }, 0);
    await seed.close();
    const script = `
      import { SqliteStore } from ${JSON.stringify(new URL("../../../dist/lib/store/sqlite.js", import.meta.url).pathname)};
      const store = new SqliteStore(process.argv[1]);
      const mine = [];
      for (;;) {
        const claimed = await store.claimDueTasks({ owner: process.argv[2], nowMs: 1, leaseMs: 1e9, limit: 7 });
        if (claimed.length === 0) break;
        mine.push(...claimed.map((t) => t.taskId));
      }
      process.stdout.write(JSON.stringify(mine));`;
    const run = async (owner: string) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, path, owner], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      await once(child, "exit");
      return JSON.parse(out) as string[];
    };
    const [a, b] = await Promise.all([run("a"), run("b")]);
    expect(a.length + b.length).toBe(400);
    expect(new Set([...a, ...b]).size).toBe(400);
  });
});
