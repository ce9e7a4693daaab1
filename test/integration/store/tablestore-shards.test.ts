import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import type { DeliveryRow, TaskRow } from "../../../lib/store/store.js";
import { TablestoreClient } from "../../../lib/store/tablestore/client.js";
import { INF_MAX, INF_MIN, type Pk } from "../../../lib/store/tablestore/wire/values.js";
import { TABLES, TablestoreStore } from "../../../lib/store/tablestore.js";

const T0 = 1_700_000_000_000;

async function emulatorWithStores() {
  const emulator = await startTablestoreEmulator();
  const options = {
    endpoint: emulator.url,
    instance: emulator.instance,
    credentials: staticCredentials(EMULATOR_CREDENTIAL),
  };
  const stores: TablestoreStore[] = [];
  const open = async (dueShards: number, random = Math.random) => {
    const store = new TablestoreStore({ ...options, dueShards, random });
    stores.push(store);
    return store;
  };
  await (await open(1)).init();
  onTestFinished(async () => {
    for (const s of stores) await s.close();
    await emulator.close();
  });
  /** The due index's entries, shard by shard, read directly. */
  const entries = async (table: { name: string }, shards: number) => {
    const client = new TablestoreClient(options);
    const out = new Map<string, number>();
    try {
      for (let i = 0; i < shards; i++) {
        const shard = String(i);
        const rows = await client.range(table, [{ shard }, ...infMin(table)], [{ shard }, ...infMax(table)], 10_000);
        if (rows.length > 0) out.set(shard, rows.length);
      }
    } finally {
      await client.close();
    }
    return out;
  };
  return { open, entries };
}

const rest = (table: { name: string }) =>
  table.name === TABLES.taskDue.name ? ["due_at", "ws", "task"] : ["due_at", "id"];
const infMin = (table: { name: string }): Pk => rest(table).map((c) => ({ [c]: INF_MIN }));
const infMax = (table: { name: string }): Pk => rest(table).map((c) => ({ [c]: INF_MAX }));

const done = (store: TablestoreStore, task: TaskRow, owner: string) =>
  store.updateTask(task, owner, {
    state: "done",
    status: "SUCCESSED",
    nextPollAtMs: task.nextPollAtMs,
    pollCount: 1,
    pollsInStatus: 0,
    terminalAtMs: T0,
  });

describe("Tablestore due indexes over shards", () => {
  it("registering an existing task merges its webhooks; the entry it wrote first is repaired by the next claim", async () => {
    const { open, entries } = await emulatorWithStores();
    const store = await open(1);
    const first = { workspaceId: "w", taskId: "t", firstPollAtMs: T0 + 60_000, webhookUrls: ["https://a.example/"] };
    expect((await store.registerTask(first, T0)).created).toBe(true);
    const again = await store.registerTask({ ...first, firstPollAtMs: T0, webhookUrls: ["https://b.example/"] }, T0);
    expect(again.created).toBe(false);
    expect(again.task).toMatchObject({
      nextPollAtMs: T0 + 60_000,
      webhookUrls: ["https://a.example/", "https://b.example/"],
    });
    // The live entry, and the one the second registration wrote before it found the row.
    expect((await entries(TABLES.taskDue, 1)).get("0")).toBe(2);
    expect(await store.claimDueTasks({ owner: "x", nowMs: T0 + 1, leaseMs: 60_000, limit: 10 })).toEqual([]);
    expect((await entries(TABLES.taskDue, 1)).get("0")).toBe(1);
    const claimed = await store.claimDueTasks({ owner: "x", nowMs: T0 + 60_000, leaseMs: 60_000, limit: 10 });
    expect(claimed.map((t) => t.taskId)).toEqual(["t"]);
  });

  it("spread tasks over the shards; claims from two processes take every due task once, none early", async () => {
    const { open, entries } = await emulatorWithStores();
    const one = await open(4, () => 0);
    const two = await open(4, () => 0.5);
    for (let i = 0; i < 40; i++)
      await one.registerTask({ workspaceId: `w${i % 3}`, taskId: `t${i}`, firstPollAtMs: T0 + i }, T0);
    for (let i = 0; i < 5; i++)
      await one.registerTask({ workspaceId: "w0", taskId: `later${i}`, firstPollAtMs: T0 + 10_000 }, T0);
    const spread = await entries(TABLES.taskDue, 4);
    expect(spread.size).toBe(4);
    for (const n of spread.values()) expect(n).toBeGreaterThan(3);

    const claimed: string[] = [];
    for (let round = 0; round < 20; round++) {
      for (const [store, owner] of [
        [one, "one"],
        [two, "two"],
      ] as const) {
        const rows = await store.claimDueTasks({ owner, nowMs: T0 + 100, leaseMs: 60_000, limit: 5 });
        expect(rows.map((r) => r.nextPollAtMs)).toEqual(rows.map((r) => r.nextPollAtMs).sort((a, b) => a - b));
        for (const r of rows) expect(await done(store, r, owner)).toBe(true);
        claimed.push(...rows.map((r) => r.taskId));
      }
    }
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed).size).toBe(40);
    expect(claimed.some((id) => id.startsWith("later"))).toBe(false);
    // Finished tasks left no due entries behind: only the five not yet due remain.
    expect([...(await entries(TABLES.taskDue, 4)).values()].reduce((a, b) => a + b, 0)).toBe(5);
  });

  it("after the count is lowered, entries in the shards no longer written are still claimed", async () => {
    const { open, entries } = await emulatorWithStores();
    const wide = await open(8);
    for (let i = 0; i < 24; i++) await wide.registerTask({ workspaceId: "w", taskId: `t${i}` }, T0);
    await wide.claimDueTasks({ owner: "probe", nowMs: T0 - 1, leaseMs: 1, limit: 1 }); // records 8
    expect((await entries(TABLES.taskDue, 8)).size).toBeGreaterThan(4);

    const narrow = await open(2);
    const claimed = await narrow.claimDueTasks({ owner: "n", nowMs: T0, leaseMs: 60_000, limit: 100 });
    expect(claimed).toHaveLength(24);
    // Moved back a minute, each goes to one of the two shards now written.
    for (const t of claimed) expect(await narrow.releaseTask(t, "n", T0 + 60_000)).toBe(true);
    const after = await entries(TABLES.taskDue, 8);
    expect([...after.keys()].every((shard) => shard === "0" || shard === "1")).toBe(true);
    expect([...after.values()].reduce((a, b) => a + b, 0)).toBe(24);
  });

  it("deliveries: claims over the shards take each once; fan-out pages are in (due, id) order across shards", async () => {
    const { open } = await emulatorWithStores();
    const store = await open(4, () => 0.25);
    const rows = Array.from({ length: 30 }, (_, i) => ({
      id: `msg_${String(i).padStart(2, "0")}`,
      eventId: "evt_1",
      webhookId: "wh_1",
      url: "https://x/",
      nextAttemptAtMs: T0 + (i % 7),
      createdAtMs: T0,
    }));
    await store.createDeliveries(rows);
    const expected = [...rows]
      .sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs || (a.id < b.id ? -1 : 1))
      .map((r) => r.id);
    const paged: string[] = [];
    let after: { id: string; dueMs: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const due = await store.dueDeliveries(T0 + 100, 4, after);
      if (due.length === 0) break;
      paged.push(...due.map((d) => d.id));
      after = due[due.length - 1];
    }
    expect(paged).toEqual(expected);

    const claimed: DeliveryRow[] = [];
    for (let i = 0; i < 10; i++)
      claimed.push(...(await store.claimDueDeliveries({ owner: "o", nowMs: T0 + 100, leaseMs: 60_000, limit: 7 })));
    expect(claimed.map((d) => d.id).sort()).toEqual([...expected].sort());
    expect(await store.pendingDeliveries(T0 + 100, 100)).toEqual({ count: 30, oldestDueMs: T0 });
  });
});
