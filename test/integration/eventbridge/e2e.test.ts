/** A task that finishes on the simulator becomes an event on the emulated bus, on both stores, and through openRelay's own wiring. */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { EVENTBRIDGE_EMULATOR_CREDENTIAL, startEventBridgeEmulator } from "../../../dev/eventbridge-emulator/server.js";
import { eventBridgeId } from "../../../lib/eventbridge/put-event.js";
import { openRelay } from "../../../lib/relay.js";
import { busWebhook, eventBridgeRig, seedDeliveries } from "../../support/eventbridge.js";
import { relayHarness, type StoreKind, tempDir } from "../../support/relay.js";

const WS = "llm-eb-e2e";

describe.each<StoreKind>(["sqlite", "tablestore"])("EventBridge end to end, %s store", (store) => {
  it("publishes each finished task's event to the bus once, with the subscription's filters", async () => {
    const h = await relayHarness({ store, sim: { workspaces: { [WS]: 4 } } });
    const { emulator, eventBridge } = await eventBridgeRig(h.clock, { buses: ["orders"] });
    Object.assign(h.deps, { eventBridge });
    await h.store.createWebhook(busWebhook("wh_all", "orders"));
    await h.store.createWebhook(busWebhook("wh_failed", "orders", { events: ["video_analysis.failed"] }));
    const outcomes = ["SUCCESSED", "FAILED", "SUCCESSED"] as const;
    const tasks = outcomes.map((outcome, i) => h.sim.addTask(WS, { outcome, runMs: 20_000 + i * 5_000 }));
    for (const [i, t] of tasks.entries())
      await h.register({ workspaceId: WS, taskId: t.taskId, submittedAtMs: h.clock.now() + i });
    await h.runUntil(async () => (await h.store.listTasks({ state: "active", limit: 1 })).items.length === 0);
    await h.runUntil(async () => emulator.events.length >= 4, 10_000, 20);

    const seen = emulator.events.map((e) => `${e.subject}:${e.type}`).sort();
    expect(seen).toEqual(
      [
        `${tasks[0]?.taskId}:video_analysis.succeeded`,
        `${tasks[1]?.taskId}:video_analysis.failed`,
        `${tasks[1]?.taskId}:video_analysis.failed`,
        `${tasks[2]?.taskId}:video_analysis.succeeded`,
      ].sort(),
    );
    expect(new Set(emulator.events.map((e) => e.id)).size).toBe(4);
    const deliveries = (await h.store.listDeliveries({ limit: 50 })).items;
    expect(deliveries.map((d) => d.status)).toEqual(Array(4).fill("delivered"));
    for (const d of deliveries) {
      const onBus = emulator.events.find((e) => e.id === eventBridgeId(d.id));
      const event = await h.store.getEvent(d.eventId);
      expect(onBus?.data).toEqual(JSON.parse(event?.body ?? "").data);
      expect(onBus?.source).toBe(`urn:quanmiao-relay:workspace:${WS}`);
    }
  });
});

describe("EventBridge through openRelay", () => {
  it("publishes with the configured credentials to RELAY_EVENTBRIDGE_ENDPOINT, the bus's account from FC_ACCOUNT_ID", async () => {
    const emulator = await startEventBridgeEmulator({ buses: ["relay-bus"] });
    onTestFinished(() => emulator.close());
    const relay = await openRelay({
      env: {
        RELAY_STORE: `sqlite:${join(tempDir(), "relay.db")}`,
        ALIBABA_CLOUD_ACCESS_KEY_ID: EVENTBRIDGE_EMULATOR_CREDENTIAL.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: EVENTBRIDGE_EMULATOR_CREDENTIAL.accessKeySecret,
        RELAY_EVENTBRIDGE_ENDPOINT: emulator.url,
        FC_ACCOUNT_ID: "1234567890",
        FC_REGION: "cn-shanghai",
      },
    });
    onTestFinished(() => relay.close());
    await relay.store.createWebhook(busWebhook("wh_bus", "relay-bus"));
    const { ids } = await seedDeliveries(relay.store, "wh_bus", 3, Date.now());
    const counts = await relay.deliver(ids, 10_000);
    expect(counts).toMatchObject({ delivered: 3 });
    expect(emulator.requests).toEqual([{ events: 3, status: 200 }]);
    expect(emulator.events.map((e) => e.id).sort()).toEqual(ids.map(eventBridgeId).sort());
  });

  it("records a wrong secret as SignatureDoesNotMatch on the delivery", async () => {
    const emulator = await startEventBridgeEmulator({ buses: ["relay-bus"] });
    onTestFinished(() => emulator.close());
    const relay = await openRelay({
      env: {
        RELAY_STORE: `sqlite:${join(tempDir(), "relay.db")}`,
        ALIBABA_CLOUD_ACCESS_KEY_ID: EVENTBRIDGE_EMULATOR_CREDENTIAL.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: "not-the-secret",
        RELAY_EVENTBRIDGE_ENDPOINT: emulator.url,
        FC_ACCOUNT_ID: "1234567890",
        FC_REGION: "cn-shanghai",
      },
    });
    onTestFinished(() => relay.close());
    await relay.store.createWebhook(busWebhook("wh_bus", "relay-bus"));
    const { ids } = await seedDeliveries(relay.store, "wh_bus", 1, Date.now());
    expect(await relay.deliver(ids, 10_000)).toMatchObject({ retried: 1 });
    expect(await relay.store.getDelivery(ids[0] as string)).toMatchObject({
      status: "pending",
      lastStatusCode: 403,
      lastError: "EventBridge SignatureDoesNotMatch: The request signature does not match.",
    });
  });
});
