/**
 * Review finding (issue 29): a pass that learned an endpoint is a bus keeps taking its rows 16 at a
 * time after the subscription is re-pointed to a URL, and then sends them one after another in one
 * worker, past the pass's time. `it.fails` while the finding stands.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { seededRandom } from "../../../dev/seeded-random.js";
import { loadConfig } from "../../../lib/config.js";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { deliverDue, emptyCounts } from "../../../lib/delivery/loop.js";
import { WebhookSender } from "../../../lib/delivery/send.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import type { Store, WebhookRow } from "../../../lib/store/store.js";
import { busWebhook, seedDeliveries } from "../../support/eventbridge.js";
import { FakeClock } from "../../support/fake-clock.js";

describe("a bus re-pointed to a URL during a pass", () => {
  it.fails("starts no request after the pass's time is up", async () => {
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
    const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "true" });
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
  });
});
