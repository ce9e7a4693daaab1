/**
 * Deliveries to an EventBridge bus through the delivery pass, against the emulator on a fake clock:
 * batching, per-entry failures, auth refusals, throttling, no answer, replay.
 */
import { describe, expect, it } from "vitest";
import { readCircuit } from "../../../lib/delivery/circuit.js";
import { eventBridgeId } from "../../../lib/eventbridge/put-event.js";
import { busWebhook, deliveryRig, seedDeliveries } from "../../support/eventbridge.js";

const rowsOf = async (store: Awaited<ReturnType<typeof deliveryRig>>["store"], ids: readonly string[]) =>
  Promise.all(ids.map(async (id) => store.getDelivery(id)));

describe("delivering to an EventBridge bus", () => {
  it("publishes an endpoint's due deliveries up to 16 a request, each event once, as CloudEvents on the bus", async () => {
    const r = await deliveryRig();
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { ids, events } = await seedDeliveries(r.store, "wh_bus", 40, r.clock.now());
    const counts = await r.pass();
    expect(counts).toMatchObject({ delivered: 40, retried: 0, dead: 0, errors: 0 });
    expect(r.emulator.events.map((e) => e.id).sort()).toEqual(ids.map(eventBridgeId).sort());
    // Batched: with the pass's default 16 workers the claim brings 16 rows at a time, and each
    // request takes every row waiting for the bus, up to 16.
    expect(r.emulator.requests.map((q) => q.events)).toEqual([16, 16, 8]);
    const first = r.emulator.events.find((e) => e.id === eventBridgeId(ids[0] as string));
    expect(first).toMatchObject({
      bus: "relay-events",
      source: "urn:quanmiao-relay:workspace:llm-eb",
      type: "video_analysis.succeeded",
      subject: "task-000",
      data: JSON.parse(events[0]?.body ?? "").data,
    });
    for (const row of await rowsOf(r.store, ids)) {
      expect(row).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 200 });
      expect(JSON.parse(row?.lastResponse ?? "{}")).toMatchObject({ EventId: eventBridgeId(row?.id ?? "") });
    }
  });

  it("retries only the entries that failed (FailedEntryCount > 0), on the schedule", async () => {
    const r = await deliveryRig();
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { ids } = await seedDeliveries(r.store, "wh_bus", 5, r.clock.now());
    const failing = new Set([ids[1], ids[3]].map((id) => eventBridgeId(id as string)));
    r.emulator.failEntries((id) => failing.has(id), "InternalError", 1);
    expect(await r.pass()).toMatchObject({ delivered: 3, retried: 2 });
    const after = await rowsOf(r.store, ids);
    expect(after.map((d) => d?.status)).toEqual(["delivered", "pending", "delivered", "pending", "delivered"]);
    const retry = after[1];
    expect(retry?.lastError).toBe("EventBridge InternalError: injected failure");
    expect(retry?.attemptLog?.at(-1)).toMatchObject({
      failure: "entry_failed",
      error: "EventBridge InternalError: injected failure",
    });
    // The schedule's second step (5 s ± 20 %), not at once.
    const waitMs = (retry?.nextAttemptAtMs ?? 0) - r.clock.now();
    expect(waitMs).toBeGreaterThanOrEqual(4_000);
    expect(waitMs).toBeLessThanOrEqual(6_000);
    expect(await r.pass()).toMatchObject({ delivered: 0, retried: 0 });
    r.clock.advance(6_000);
    expect(await r.pass()).toMatchObject({ delivered: 2, retried: 0 });
    // Only the two went again: 5 entries, then 2.
    expect(r.emulator.requests.map((q) => q.events).reduce((a, b) => a + b, 0)).toBe(7);
    expect(r.emulator.events.map((e) => e.id).sort()).toEqual(ids.map(eventBridgeId).sort());
  });

  it("records an auth refusal's code on each delivery and opens the circuit: no request storm", async () => {
    const r = await deliveryRig();
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { ids } = await seedDeliveries(r.store, "wh_bus", 64, r.clock.now());
    r.emulator.failRequests({ kind: "status", status: 403, code: "AccessDenied" }, 1_000);
    const counts = await r.pass();
    expect(counts.delivered).toBe(0);
    // The first answer opened the circuit: the rest were deferred, not sent.
    expect(r.emulator.requests.length).toBeLessThanOrEqual(2);
    expect(counts.deferred).toBeGreaterThan(0);
    const circuit = await readCircuit(r.store, "wh_bus");
    expect(circuit.openUntilMs).toBe(r.clock.now() + r.config.delivery.circuit.cooldownMs);
    const tried = (await rowsOf(r.store, ids)).filter((d) => (d?.attempts ?? 0) > 0);
    expect(tried.length).toBeGreaterThan(0);
    for (const d of tried) {
      expect(d).toMatchObject({ status: "pending", lastStatusCode: 403 });
      expect(d?.lastError).toBe("EventBridge AccessDenied: injected AccessDenied");
      expect(d?.nextAttemptAtMs).toBeGreaterThanOrEqual(r.clock.now() + 4_000);
    }
    expect(r.logs.some((l) => String(l.msg).includes("EventBridge refused the credentials"))).toBe(true);
    // Ten minutes of passes every second: one probe per cool-down (30 s, 60 s, 120 s, 240 s …), not a loop.
    for (let i = 0; i < 600; i++) {
      r.clock.advance(1_000);
      await r.pass();
    }
    expect(r.emulator.requests.length).toBeLessThanOrEqual(8);
    const later = await readCircuit(r.store, "wh_bus");
    expect(later.cooldownMs).toBeGreaterThan(r.config.delivery.circuit.cooldownMs);
    // Fixed credentials: the next probe is taken, the circuit closes and the backlog drains (rows
    // tried during the outage wait for their own next step of the schedule).
    r.emulator.clearFaults();
    const delivered = async () => (await rowsOf(r.store, ids)).filter((d) => d?.status === "delivered").length;
    for (let i = 0; i < 800 && (await delivered()) < ids.length; i++) {
      r.clock.advance(10_000);
      await r.pass();
    }
    expect(await delivered()).toBe(ids.length);
    expect((await readCircuit(r.store, "wh_bus")).openUntilMs).toBeUndefined();
  });

  it("honours 429 Retry-After within the schedule's bounds, without opening the circuit", async () => {
    const r = await deliveryRig();
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { ids } = await seedDeliveries(r.store, "wh_bus", 3, r.clock.now());
    r.emulator.failRequests({ kind: "status", status: 429, code: "TooManyRequests", retryAfterS: 8 }, 10);
    expect(await r.pass()).toMatchObject({ retried: 3 });
    for (const d of await rowsOf(r.store, ids)) {
      expect(d).toMatchObject({
        lastStatusCode: 429,
        lastError: "EventBridge TooManyRequests: injected TooManyRequests",
      });
      // Retry-After 8 s, between the step (5 s ± 20 %) and twice it.
      expect((d?.nextAttemptAtMs ?? 0) - r.clock.now()).toBe(8_000);
    }
    expect((await readCircuit(r.store, "wh_bus")).openUntilMs).toBeUndefined();
  });

  it("retries a 500 and a request nobody answered in time", async () => {
    const r = await deliveryRig({ timeoutMs: 300 });
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { ids } = await seedDeliveries(r.store, "wh_bus", 2, r.clock.now());
    r.emulator.failRequests({ kind: "hang" }, 10);
    expect(await r.pass()).toMatchObject({ retried: 2 });
    const hung = await r.store.getDelivery(ids[0] as string);
    expect(hung?.attemptLog?.[0]).toMatchObject({ failure: "timeout" });
    expect(hung?.lastStatusCode).toBeUndefined();
    r.emulator.clearFaults();
    r.emulator.failRequests({ kind: "status", status: 500, code: "InternalError" }, 10);
    r.clock.advance(6_000);
    expect(await r.pass()).toMatchObject({ retried: 2 });
    expect(await r.store.getDelivery(ids[0] as string)).toMatchObject({ lastStatusCode: 500, attempts: 2 });
    r.emulator.clearFaults();
    r.clock.advance(400_000);
    expect(await r.pass()).toMatchObject({ delivered: 2 });
  });

  it("makes a delivery dead after its last attempt, and a replay publishes it again with the same id", async () => {
    const r = await deliveryRig({ env: { RELAY_RETRY_SCHEDULE: "0,5s" } });
    await r.store.createWebhook(busWebhook("wh_bus", "missing-bus"));
    const { ids } = await seedDeliveries(r.store, "wh_bus", 1, r.clock.now());
    const id = ids[0] as string;
    await r.pass();
    r.clock.advance(6_000);
    expect(await r.pass()).toMatchObject({ dead: 1 });
    const dead = await r.store.getDelivery(id);
    expect(dead?.status).toBe("dead");
    expect(dead?.lastError).toMatch(/^EventBridge EventBusNotExist: .*; no attempts left after 2$/);
    r.emulator.addBus("missing-bus");
    await r.store.replayDelivery(id, r.clock.now());
    expect(await r.pass()).toMatchObject({ delivered: 1 });
    expect(r.emulator.events.map((e) => [e.id, e.bus])).toEqual([[eventBridgeId(id), "missing-bus"]]);
  });

  it("sends an event over 64 KiB thin, next to whole ones in the same request", async () => {
    const r = await deliveryRig();
    await r.store.createWebhook(busWebhook("wh_bus"));
    const { events } = await seedDeliveries(r.store, "wh_bus", 2, r.clock.now(), (i) =>
      i === 0 ? { task: { result: "r".repeat(100 * 1024) } } : {},
    );
    expect(await r.pass()).toMatchObject({ delivered: 2 });
    const [thin, whole] = [...r.emulator.events].sort((a, b) => (a.subject ?? "").localeCompare(b.subject ?? ""));
    expect(thin?.data).toEqual({
      workspaceId: "llm-eb",
      taskId: "task-000",
      taskStatus: "SUCCESSED",
      eventId: events[0]?.id,
      type: "video_analysis.succeeded",
      thin: true,
      href: `/v1/events/${events[0]?.id}`,
    });
    expect(whole?.data).toEqual(JSON.parse(events[1]?.body ?? "").data);
  });
});
