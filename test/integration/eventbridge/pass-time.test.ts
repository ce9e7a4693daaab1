/**
 * A bus's work keeps to the pass's time: a batch starts no request after it (the rest go back), and
 * a subscription re-pointed to a URL mid-pass has its batched rows taken one at a time again, through
 * the pass's gate, rather than sent by one worker past the time and the rows' leases.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { seededRandom } from "../../../dev/seeded-random.js";
import { loadConfig } from "../../../lib/config.js";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { deliverDue } from "../../../lib/delivery/loop.js";
import { emptyCounts } from "../../../lib/delivery/pass-counts.js";
import { WebhookSender } from "../../../lib/delivery/send.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import type { Store, WebhookRow } from "../../../lib/store/store.js";
import { busWebhook, seedDeliveries } from "../../support/eventbridge.js";
import { FakeClock } from "../../support/fake-clock.js";

describe("a bus's batch and the pass's time", () => {
  it("starts no PutEvents request after the pass's time is up", async () => {
    const clock = new FakeClock();
    const deadlineMs = clock.now() + 30_000;
    const late: number[] = [];
    const store = new SqliteStore(":memory:");
    const sender = new WebhookSender({ timeoutMs: 5_000 });
    onTestFinished(async () => {
      await sender.close();
      store.close();
    });
    await store.createWebhook(busWebhook("wh_bus", "orders"));
    // 16 events of 40 kB: three requests (256 KiB each at most), each answered after 14 s.
    await seedDeliveries(store, "wh_bus", 16, clock.now(), () => ({ pad: "p".repeat(40_000) }));
    const publisher = {
      async putEvents(_address: unknown, body: string) {
        if (clock.now() >= deadlineMs) late.push(clock.now());
        clock.advance(14_000);
        const n = (JSON.parse(body) as unknown[]).length;
        return {
          kind: "answered" as const,
          statusCode: 200,
          requestId: "r",
          entries: Array.from({ length: n }, (_, i) => ({
            eventId: `e${i}`,
            traceId: undefined,
            errorCode: undefined,
            errorMessage: undefined,
          })),
          durationMs: 14_000,
        };
      },
      close: async () => {},
    };
    const run = openDeliveryRun({
      store,
      clock,
      sleep: clock.sleep,
      random: seededRandom("slow-bus"),
      config: loadConfig({}).delivery,
      sender,
      owner: "pass",
      eventBridge: { publisher, region: "cn-hangzhou", accountId: "42" },
    });
    // The pass starts 20 s before its time is up: one 14 s request fits, a second starts at 14 s.
    clock.advance(10_000);
    await deliverDue(run, emptyCounts(), { leaseMs: 60_000, concurrency: 16, startBeforeMs: deadlineMs });
    expect(late).toEqual([]);
    // The rows not sent in time were given back for the next run, not left leased.
    expect((await store.listDeliveries({ limit: 100, status: "pending" })).items.length).toBeGreaterThan(0);
  });
});

describe("a bus re-pointed to a URL during a pass", () => {
  it("starts no request after the pass's time is up", async () => {
    const clock = new FakeClock();
    const deadlineMs = clock.now() + 30_000;
    const late: number[] = [];
    // A slow endpoint: each request takes 10 s of the (fake) clock.
    const server = await listenOnLoopback((_req, res) => {
      if (clock.now() >= deadlineMs) late.push(clock.now());
      clock.advance(10_000);
      res.writeHead(200).end("ok");
    });
    const real = new SqliteStore(":memory:");
    const sender = new WebhookSender({ timeoutMs: 5_000 });
    onTestFinished(async () => {
      await sender.close();
      real.close();
      await server.close();
    });
    const bus = busWebhook("wh_moved", "orders");
    await real.createWebhook(bus);
    await seedDeliveries(real, "wh_moved", 16, clock.now());
    // The pass's first read sees the bus; the PATCH to a URL lands just after, and the run's
    // webhook cache (5 s) has expired by the time the rows are attempted.
    const url: WebhookRow = { ...bus, url: server.url, eventBridge: undefined };
    let reads = 0;
    const store = new Proxy(real, {
      get(target, name, receiver) {
        if (name !== "getWebhook") return Reflect.get(target, name, receiver);
        return async (id: string) => {
          reads++;
          if (reads > 1) return url;
          const row = await target.getWebhook(id);
          clock.advance(6_000);
          return row;
        };
      },
    }) as Store;
    // One request at a time: the handler moves the fake clock, so requests in flight together would
    // each see the others' 10 s, and arrive "late" though they started in time.
    const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "true", RELAY_ENDPOINT_CONCURRENCY: "1" });
    const run = openDeliveryRun({
      store,
      clock,
      sleep: clock.sleep,
      random: seededRandom("repointed"),
      config: config.delivery,
      sender,
      owner: "pass",
      quickRetries: 0,
      eventBridge: {
        publisher: { putEvents: async () => Promise.reject(new Error("not a bus")), close: async () => {} },
      },
    });
    await deliverDue(run, emptyCounts(), { leaseMs: 60_000, concurrency: 16, startBeforeMs: deadlineMs });
    expect(late).toEqual([]);
    // The rows not sent in time were given back for the next run, not left leased.
    expect((await real.listDeliveries({ limit: 100, status: "pending" })).items.length).toBeGreaterThan(0);
  });
});
