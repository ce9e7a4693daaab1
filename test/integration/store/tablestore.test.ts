import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { TABLES, TablestoreStore } from "../../../lib/store/tablestore.js";
import { TableStore } from "../../dev/tablestore-emulator/support.js";
import { runCli } from "../../support/cli.js";
import { storeConformance } from "../../support/store-conformance.js";

/** A store on a fresh emulator; `instantRetries` makes the store's retry back-off take no time. */
async function onEmulator(options: { instantRetries?: boolean; dueShards?: number } = {}) {
  const emulator = await startTablestoreEmulator();
  const store = new TablestoreStore({
    endpoint: emulator.url,
    instance: emulator.instance,
    credentials: staticCredentials(EMULATOR_CREDENTIAL),
    dueShards: options.dueShards ?? 1,
    ...(options.instantRetries ? { sleep: async () => {} } : {}),
  });
  await store.init();
  onTestFinished(async () => {
    await store.close();
    await emulator.close();
  });
  return { store, emulator };
}

const tablestoreOnEmulator = async (): Promise<TablestoreStore> => (await onEmulator()).store;

// One shard: the contract's global soonest-first order holds. Sharded claims are tested below.
storeConformance("Tablestore on the emulator", tablestoreOnEmulator);

/** What a call that never got through says: the service's status and code, and that it may succeed later. */
const BUSY = { status: 503, code: "OTSServerBusy", retryable: true };

describe("Tablestore store specifics", () => {
  it("init creates every table once; a second run creates none (also through `quanmiao-relay init`)", async () => {
    const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL] });
    onTestFinished(() => emulator.close());
    const env = {
      RELAY_STORE: "tablestore",
      TABLESTORE_ENDPOINT: emulator.url,
      TABLESTORE_INSTANCE: emulator.instance,
      ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_CREDENTIAL.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_CREDENTIAL.accessKeySecret,
    };
    const first = await runCli(["init"], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).created).toHaveLength(Object.keys(TABLES).length);
    expect(JSON.parse((await runCli(["init"], env)).out).created).toEqual([]);
    const missing = await runCli(["init"], { RELAY_STORE: "tablestore" });
    expect(missing.code).toBe(3);
    expect(missing.err).toContain("TABLESTORE_ENDPOINT");
  });

  it("reads retry through 503 OTSServerBusy, a bounded number of times", async () => {
    const { store, emulator } = await onEmulator({ instantRetries: true });
    await store.registerTask({ workspaceId: "w", taskId: "t", submittedAtMs: 1 }, 1);
    // Seven busy answers in a row: the eighth try gets through.
    emulator.inject({ operation: "GetRow", fault: { kind: "busy" }, times: 7 });
    expect((await store.getTask("w", "t"))?.taskId).toBe("t");
    emulator.inject({ operation: "GetRange", fault: { kind: "busy" }, times: 7 });
    expect(await store.countQueuedAhead("w", 10, 5)).toBe(1);
    emulator.inject({ operation: "GetRow", fault: { kind: "busy" } });
    await expect(store.getTask("w", "t")).rejects.toMatchObject(BUSY);
  }, 60_000);

  it("writes retry through 503 OTSServerBusy, a bounded number of times", async () => {
    const { store, emulator } = await onEmulator({ instantRetries: true });
    emulator.inject({ operation: "PutRow", fault: { kind: "busy" }, times: 7 });
    await store.putWorkspace({
      workspaceId: "w",
      asyncConcurrency: 3,
      concurrencyFetchedAtMs: 1,
      backoffUntilMs: 0,
      authFailures: 0,
      lastError: undefined,
    });
    expect((await store.getWorkspace("w"))?.asyncConcurrency).toBe(3);
    emulator.inject({ operation: "PutRow", fault: { kind: "busy" } });
    await expect(
      store.putWorkspace({
        workspaceId: "x",
        asyncConcurrency: 1,
        concurrencyFetchedAtMs: 1,
        backoffUntilMs: 0,
        authFailures: 0,
        lastError: undefined,
      }),
    ).rejects.toMatchObject(BUSY);
  });

  it("events share the turn's BatchWriteRow; one with a large body is written alone", async () => {
    const { store, emulator } = await onEmulator();
    const event = (id: string, body: string) => ({
      id,
      type: "video_analysis.succeeded",
      workspaceId: "w",
      taskId: id,
      body,
      createdAtMs: 1_700_000_000_000,
    });
    const count = () => ({ ...emulator.stats().requests });
    const before = count();
    const small = await Promise.all(
      ["evt_a", "evt_b", "evt_c"].map((id) => store.createEvent(event(id, '{"ok":true}'))),
    );
    expect(small.every((r) => r.created)).toBe(true);
    const after = count();
    // One batch for the six index entries, one for the three rows; no PutRow.
    expect((after.BatchWriteRow ?? 0) - (before.BatchWriteRow ?? 0)).toBe(2);
    expect((after.PutRow ?? 0) - (before.PutRow ?? 0)).toBe(0);
    const big = "x".repeat(300 * 1024);
    expect((await store.createEvent(event("evt_big", big))).created).toBe(true);
    expect((count().PutRow ?? 0) - (after.PutRow ?? 0)).toBe(1);
    expect((await store.getEvent("evt_big"))?.body).toBe(big);
    expect((await store.getEvent("evt_b"))?.body).toBe('{"ok":true}');
  });

  it("a list whose filter matches few rows reads a bounded stretch of the index per page, and pages on", async () => {
    const { store, emulator } = await onEmulator();
    const at = 1_700_000_000_000;
    // 1,200 deliveries; only the oldest is of the type asked for.
    await store.createDeliveries(
      Array.from({ length: 1_200 }, (_, i) => ({
        id: `msg_${String(i).padStart(4, "0")}`,
        eventId: `evt_${i}`,
        webhookId: "wh",
        url: "https://a.example/hook",
        nextAttemptAtMs: at + i,
        createdAtMs: at + i,
        eventType: i === 0 ? "video_analysis.failed" : "video_analysis.succeeded",
      })),
    );
    const reads = () => emulator.stats().requests.BatchGetRow ?? 0;
    const before = reads();
    const first = await store.listDeliveries({ eventType: "video_analysis.failed", limit: 10 });
    // A short page that says there is more: the read stopped at its bound (1,000 entries, 100 rows a request).
    expect(first.items).toEqual([]);
    expect(first.cursor).toBeDefined();
    expect(reads() - before).toBe(10);
    const second = await store.listDeliveries({
      eventType: "video_analysis.failed",
      limit: 10,
      cursor: first.cursor as string,
    });
    expect(second.items.map((d) => d.id)).toEqual(["msg_0000"]);
    expect(second.cursor).toBeUndefined();
  });

  it("an upgrade's init enters the rows written before the time indexes existed", async () => {
    const { store, emulator } = await onEmulator();
    const at = 1_700_000_000_000;
    for (const id of ["t1", "t2"]) await store.registerTask({ workspaceId: "w", taskId: id }, at + Number(id[1]));
    await store.createDeliveries(
      ["msg_1", "msg_2"].map((id, i) => ({
        id,
        eventId: `evt_${i}`,
        webhookId: "wh",
        url: "https://a.example/hook",
        nextAttemptAtMs: at + i,
        createdAtMs: at + i,
      })),
    );
    // As a deployment from before them: the time indexes are not there.
    const sdk = new TableStore.Client({
      endpoint: emulator.url,
      instancename: emulator.instance,
      accessKeyId: EMULATOR_CREDENTIAL.accessKeyId,
      secretAccessKey: EMULATOR_CREDENTIAL.accessKeySecret,
      maxRetries: 0,
    });
    const indexes = [TABLES.taskTime, TABLES.deliveryTime, TABLES.deliveryByWebhook, TABLES.deliveryFailing];
    for (const t of indexes) await sdk.deleteTable({ tableName: t.name });
    expect((await store.init()).sort()).toEqual(indexes.map((t) => t.name).sort());
    expect((await store.listTasks({ limit: 10 })).items.map((t) => t.taskId)).toEqual(["t2", "t1"]);
    expect((await store.listDeliveries({ limit: 10 })).items.map((d) => d.id)).toEqual(["msg_2", "msg_1"]);
    expect((await store.listDeliveries({ webhookId: "wh", limit: 10 })).items).toHaveLength(2);
    expect(await store.init()).toEqual([]);
  });
});
