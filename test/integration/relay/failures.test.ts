import { describe, expect, it } from "vitest";
import { WEBHOOK_CACHE_MS } from "../../../lib/delivery/deliver.js";
import { InputError } from "../../../lib/errors.js";
import { setWebhookEnabled } from "../../../lib/webhooks.js";
import { startReceiver } from "../../support/receiver.js";
import { relayHarness } from "../../support/relay.js";

const WS = "llm-fail";

/** One finished task registered, and a webhook at `url`; returns the webhook's id. */
async function oneFinishedTask(h: Awaited<ReturnType<typeof relayHarness>>) {
  const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
  await h.register({ workspaceId: WS, taskId: task.taskId });
  return task;
}

const pending = async (h: Awaited<ReturnType<typeof relayHarness>>) =>
  (await h.store.listDeliveries({ status: "pending", limit: 1 })).items.length > 0;

describe("delivery failures on a fake clock", () => {
  it("a receiver that fails, then recovers, gets the event on schedule with the same webhook-id", async () => {
    const h = await relayHarness();
    let secret = "";
    const rx = await startReceiver({
      secret: () => secret,
      now: () => h.clock.now(),
      reply: (_r, i) => ({ status: i < 2 ? 500 : 200 }),
    });
    secret = (await h.webhook({ url: rx.url })).secret;
    await oneFinishedTask(h);
    await h.runUntil(async () => rx.received.length >= 3 && !(await pending(h)), 1_000, 2_000);

    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(rx.received.every((r) => r.verified !== undefined)).toBe(true);
    const [a, b, c] = rx.received.map((r) => r.atMs) as [number, number, number];
    // Schedule 0, 5 s, 5 min with ±20 % jitter; the runs here are 1 s apart.
    expect(b - a).toBeGreaterThanOrEqual(4_000);
    expect(b - a).toBeLessThanOrEqual(7_000);
    expect(c - b).toBeGreaterThanOrEqual(240_000);
    expect(c - b).toBeLessThanOrEqual(361_000);
    const [delivery] = (await h.store.listDeliveries({ limit: 10 })).items;
    expect(delivery).toMatchObject({ status: "delivered", attempts: 3, lastStatusCode: 200 });
  });

  it("a receiver that always fails: dead after the last attempt, with the reason; replay delivers it", async () => {
    const h = await relayHarness({ env: { RELAY_RETRY_SCHEDULE: "0,5s,1m" } });
    let failing = true;
    let secret = "";
    const rx = await startReceiver({
      secret: () => secret,
      now: () => h.clock.now(),
      reply: () => (failing ? { status: 500, body: "boom" } : { status: 204 }),
    });
    secret = (await h.webhook({ url: rx.url })).secret;
    await oneFinishedTask(h);
    await h.runUntil(async () => rx.received.length >= 3 && !(await pending(h)), 5_000, 200);
    expect(rx.received).toHaveLength(3);
    const [dead] = (await h.store.listDeliveries({ status: "dead", limit: 10 })).items;
    expect(dead).toMatchObject({ attempts: 3, lastStatusCode: 500, lastResponse: "boom" });
    expect(dead?.lastError).toMatch(/HTTP 500; no attempts left after 3/);

    failing = false;
    await h.store.replayDelivery(dead?.id ?? "", h.clock.now());
    await h.tick();
    expect(rx.received).toHaveLength(4);
    expect(rx.received[3]?.headers["webhook-id"]).toBe(dead?.id);
    expect(await h.store.getDelivery(dead?.id ?? "")).toMatchObject({ status: "delivered", attempts: 4 });
  });

  it("410 Gone disables that endpoint; other subscribers are unaffected", async () => {
    const h = await relayHarness();
    const gone = await h.subscriber({ reply: () => ({ status: 410 }) });
    const fine = await h.subscriber();
    await oneFinishedTask(h);
    await h.tick();
    expect(gone.received).toHaveLength(1);
    expect(fine.received).toHaveLength(1);
    const stored = await h.store.getWebhook(gone.webhook.id);
    expect(stored?.enabled).toBe(false);
    expect(stored?.disabledReason).toMatch(/410/);
    // The next finished task goes only to the live endpoint.
    await oneFinishedTask(h);
    h.clock.advance(60_000);
    await h.runUntil(async () => fine.received.length === 2, 10_000, 50);
    expect(gone.received).toHaveLength(1);
  });

  it("a receiver slower than the timeout is a failed attempt, retried", async () => {
    const h = await relayHarness({ env: { RELAY_DELIVERY_TIMEOUT: "300ms" } });
    await h.subscriber({ reply: (_r, i) => ({ delayMs: i === 0 ? 1_500 : 0 }) });
    await oneFinishedTask(h);
    await h.tick();
    const [first] = (await h.store.listDeliveries({ limit: 1 })).items;
    expect(first).toMatchObject({ status: "pending", attempts: 1 });
    expect(first?.lastError).toMatch(/timed out after 300 ms/);
    h.clock.advance(10_000);
    await h.tick();
    expect(await h.store.getDelivery(first?.id ?? "")).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("a redirect is not followed: it is a failure that names the reason", async () => {
    const h = await relayHarness();
    // Not subscribed: it must receive nothing.
    const target = await startReceiver({ secret: () => [], now: () => h.clock.now() });
    const redirecting = await h.subscriber({ reply: () => ({ status: 302, headers: { location: target.url } }) });
    await oneFinishedTask(h);
    await h.tick();
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    const [d] = (await h.store.listDeliveries({ limit: 1 })).items;
    expect(d).toMatchObject({ status: "pending", lastStatusCode: 302 });
    expect(d?.lastError).toMatch(/redirects are not followed/);
  });

  it("429 with Retry-After is honoured within bounds (not sooner than the step, at most twice it)", async () => {
    const h = await relayHarness();
    await h.subscriber({
      reply: (_r, i) => (i === 0 ? { status: 429, headers: { "retry-after": "3600" } } : { status: 200 }),
    });
    await oneFinishedTask(h);
    const before = h.clock.now();
    await h.tick();
    const [d] = (await h.store.listDeliveries({ limit: 1 })).items;
    // The step is 5 s ±20 %: the hour asked for is capped at twice the step.
    expect((d?.nextAttemptAtMs ?? 0) - before).toBeGreaterThanOrEqual(8_000);
    expect((d?.nextAttemptAtMs ?? 0) - before).toBeLessThanOrEqual(12_100);
  });

  it("an endpoint failing without a success for the disable period is disabled", async () => {
    const h = await relayHarness({
      env: { RELAY_ENDPOINT_DISABLE_AFTER: "10m", RELAY_RETRY_SCHEDULE: "0,5m,5m,5m,5m" },
    });
    const rx = await h.subscriber({ reply: () => ({ status: 503 }) });
    const { webhook } = rx;
    await oneFinishedTask(h);
    await h.runUntil(async () => !(await h.store.getWebhook(webhook.id))?.enabled, 60_000, 60);
    const stored = await h.store.getWebhook(webhook.id);
    expect(stored?.enabled).toBe(false);
    expect(stored?.disabledReason).toMatch(/failing without a success since/);
    expect(rx.received.length).toBeGreaterThanOrEqual(3);
    // Its remaining deliveries are not attempted while it is disabled.
    const count = rx.received.length;
    h.clock.advance(3_600_000);
    await h.tick();
    expect(rx.received).toHaveLength(count);
  });
});

describe("an endpoint disabled while a run is delivering to it", () => {
  it("gets nothing more within a few seconds: the run reads the webhook again, not once", async () => {
    const h = await relayHarness({ env: { RELAY_DELIVERY_CONCURRENCY: "1" }, sim: { workspaces: { [WS]: 40 } } });
    let disabledAtMs: number | undefined;
    const rx = await h.subscriber({
      reply: (_r, i) => {
        // Each answer takes a second of the run's time; the owner disables the endpoint at the 5th.
        h.clock.advance(1_000);
        if (i === 4) {
          disabledAtMs = h.clock.now();
          void setWebhookEnabled(h.store, rx.webhook.id, false);
        }
        return {};
      },
    });
    for (let i = 0; i < 40; i++) await oneFinishedTask(h);
    const summary = await h.tick(600_000);
    expect(summary.events).toBe(40);
    expect(disabledAtMs).toBeDefined();
    const late = rx.received.filter((r) => r.atMs > (disabledAtMs as number) + WEBHOOK_CACHE_MS + 1_000);
    expect(late).toEqual([]);
    expect(rx.received.length).toBeLessThan(15);
    const dead = (await h.store.listDeliveries({ status: "dead", limit: 100 })).items;
    expect(dead.length).toBe(40 - rx.received.length);
    expect(dead.every((d) => /disabled/.test(d.lastError ?? ""))).toBe(true);
  });
});

describe("SSRF guard", () => {
  const refused = [
    "http://127.0.0.1/h",
    "http://10.0.0.1/h",
    "http://169.254.169.254/latest/meta-data",
    "http://100.100.100.200/latest/meta-data",
    "http://[::1]/h",
    "http://[::ffff:127.0.0.1]/h",
    "http://[::127.0.0.1]/h",
    "http://[::ffff:0:127.0.0.1]/h",
    "http://localhost/h",
    "http://192.168.1.1/",
    "http://[fd00:ec2::254]/",
    "ftp://example.com/",
  ];

  it.each(refused)("refuses %s at registration without RELAY_ALLOW_PRIVATE_TARGETS", async (url) => {
    const h = await relayHarness({ env: { RELAY_ALLOW_PRIVATE_TARGETS: "false" } });
    await expect(h.webhook({ url })).rejects.toThrow(InputError);
    await expect(h.register({ workspaceId: WS, taskId: "t1", webhooks: [url] })).rejects.toThrow(InputError);
    expect(await h.store.listWebhooks()).toEqual([]);
    expect(await h.store.getTask(WS, "t1")).toBeUndefined();
  });

  it.each([
    ["127.0.0.1", /loopback address;/],
    ["::ffff:0:7f00:1", /loopback address, in IPv6 form/],
    ["::7f00:1", /loopback address, in IPv6 form/],
    ["64:ff9b::a00:1", /private address, in IPv6 form/],
  ])(
    "refuses at delivery too: a host that now resolves to %s gets no request; callers see only the kind of address",
    async (address, kind) => {
      const h = await relayHarness({ env: { RELAY_ALLOW_PRIVATE_TARGETS: "false" } });
      // Not subscribed through the harness: it must receive nothing.
      const rx = await startReceiver({ secret: () => [], now: () => h.clock.now() });
      const port = new URL(rx.url).port;
      // At registration the name resolves to a public address; by delivery time it points inside.
      let answer: { address: string; family: 4 | 6 } = { address: "93.184.216.34", family: 4 };
      const resolve = async () => [answer];
      const { webhook } = await (await import("../../../lib/webhooks.js")).createWebhook(
        { store: h.store, clock: h.clock, allowPrivateTargets: false, resolve },
        { url: `http://hooks.example.test:${port}/hook` },
      );
      expect(webhook.enabled).toBe(true);
      answer = { address, family: address.includes(":") ? 6 : 4 };
      await oneFinishedTask(h);
      const logged: Array<Record<string, unknown>> = [];
      const log = (entry: Record<string, unknown>) => logged.push(entry);
      await (await import("../../../lib/run/run.js")).runTick({ ...h.deps, resolve, log }, { budgetMs: 30_000 });
      expect(rx.received).toHaveLength(0);
      const [d] = (await h.store.listDeliveries({ limit: 1 })).items;
      expect(d?.status).toBe("dead");
      expect(d?.lastError).toMatch(/^refused target: hooks\.example\.test resolves to a/);
      expect(d?.lastError).toMatch(kind);
      // The row is what API callers read: the address that the name resolves to stays out of it.
      expect(JSON.stringify(d)).not.toContain(address);
      expect(logged).toContainEqual(expect.objectContaining({ level: "warn", deliveryId: d?.id, address }));
    },
  );
});
