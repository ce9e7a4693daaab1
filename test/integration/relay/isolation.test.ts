/**
 * Isolation between subscribers: endpoints that never answer beside a healthy one, with real
 * loopback receivers (the hang is real; the relay's clock is fake). The healthy endpoint's
 * deliveries must not wait behind the stuck ones, an open circuit must cost one probe per
 * cool-down, and a run must not start attempts after its budget.
 */
import { describe, expect, it, vi } from "vitest";
import { readCircuit } from "../../../lib/delivery/circuit.js";
import { deliveriesOf, finishedTasks, stuck, timedHealthy, WS } from "../../support/isolation.js";
import { startReceiver } from "../../support/receiver.js";
import { relayHarness } from "../../support/relay.js";

describe("isolation between subscribers", () => {
  it("a healthy endpoint's deliveries all leave while two stuck endpoints hold their slots", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: { RELAY_DELIVERY_TIMEOUT: "3s", RELAY_CIRCUIT_FAILURES: "2", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    const [a, b] = [await stuck(h), await stuck(h)];
    const { healthy, healthyAt } = await timedHealthy(h);
    await finishedTasks(h, 10);
    const summary = await h.tick();

    expect(healthy.received).toHaveLength(10);
    // Every healthy delivery left before the first stuck request could time out (3 s): none waited for one.
    expect(Math.max(...healthyAt)).toBeLessThan(3_000);
    // Each stuck endpoint got one round (its 4 slots) and no more: by then its circuit was open.
    for (const rx of [a, b]) {
      expect(rx.received.length).toBeLessThanOrEqual(4);
      // Failures stop counting once it is open: the stragglers of the same round do not extend it.
      expect(await readCircuit(h.store, rx.webhook.id)).toMatchObject({ failures: 2, cooldownMs: 30_000 });
      const rows = await deliveriesOf(h, rx.webhook.id);
      const untried = rows.filter((d) => d.attempts === 0);
      expect(untried).toHaveLength(10 - rx.received.length);
      // Deferred, not failed: pending, unleased, due when the cool-down ends.
      for (const d of untried) expect(d).toMatchObject({ status: "pending", leaseOwner: undefined });
      expect(Math.min(...untried.map((d) => d.nextAttemptAtMs))).toBeGreaterThanOrEqual(h.clock.now() + 29_000);
    }
    expect(summary.deferred).toBe(20 - a.received.length - b.received.length);
    expect(summary.delivered).toBe(10);
  });

  it("endpoints on one host share no connections: stuck ones leave their neighbour's deliveries untouched", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: { RELAY_DELIVERY_TIMEOUT: "3s", RELAY_CIRCUIT_FAILURES: "2", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    // One server, five endpoints on it (a multi-tenant hook host, or one app's routes).
    const secrets: string[] = [];
    const startedAt = performance.now();
    const healthyAt: number[] = [];
    const rx = await startReceiver({
      secret: () => secrets,
      now: () => h.clock.now(),
      reply: (r) => {
        if (r.path.startsWith("/stuck")) return { delayMs: 60_000 };
        healthyAt.push(performance.now() - startedAt);
        return { status: 204 };
      },
    });
    const { origin } = new URL(rx.url);
    for (const path of ["/stuck-1", "/stuck-2", "/stuck-3", "/stuck-4", "/healthy"])
      secrets.push((await h.webhook({ url: `${origin}${path}` })).secret);
    await finishedTasks(h, 10);
    const summary = await h.tick();

    expect(rx.received.filter((r) => r.path === "/healthy")).toHaveLength(10);
    // None waited for a stuck request to time out (3 s), nor for a connection one held.
    expect(Math.max(...healthyAt)).toBeLessThan(3_000);
    // The stuck ones had their first windows (2 each), held all at once: 8 connections to the host,
    // as many as a pool per host used to allow, and the healthy endpoint's came on top.
    expect(rx.received.filter((r) => r.path.startsWith("/stuck"))).toHaveLength(8);
    expect(summary.delivered).toBe(10);
  });

  it("a row that falls due while a slow attempt is in flight leaves within about a second, not behind it", async () => {
    const h = await relayHarness({ sim: { workspaces: { [WS]: 10 } }, env: { RELAY_DELIVERY_TIMEOUT: "5s" } });
    const { healthy, healthyAt } = await timedHealthy(h);
    // A replay (or a retry coming due) for the healthy endpoint, made once the pass has found nothing more.
    const replayHealthy = async () => {
      const [row] = (await h.store.listDeliveries({ webhookId: healthy.webhook.id, limit: 1 })).items;
      await h.store.replayDelivery(row?.id as string, h.clock.now());
    };
    const slow = await h.subscriber({
      reply: (_, i) => {
        if (i === 0) setTimeout(() => void replayHealthy(), 300);
        return { delayMs: 3_000 };
      },
    });
    await finishedTasks(h, 1);
    await h.tick();
    expect(slow.received).toHaveLength(1);
    expect(healthy.received).toHaveLength(2);
    // It went out while the slow answer (3 s) was still awaited: the pass claimed again meanwhile.
    expect(healthyAt[1]).toBeLessThan(2_500);
  });

  it("endpoints that answer slowly share half the workers: a prompt one's deliveries do not wait for theirs", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      // 4 workers, so at most 2 for struggling endpoints; an answer after 1 s (a quarter of 4 s) is slow.
      env: { RELAY_DELIVERY_CONCURRENCY: "4", RELAY_DELIVERY_TIMEOUT: "4s", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    const { healthy, healthyAt } = await timedHealthy(h);
    // Slow (1.2 s) until the healthy endpoint has all it is owed, then prompt, so the run ends soon after.
    const slowly = () => (healthy.received.length < 12 ? { status: 200, delayMs: 1_200 } : { status: 200 });
    const slow = [];
    for (let i = 0; i < 3; i++) slow.push(await h.subscriber({ reply: slowly }));
    await finishedTasks(h, 12);
    await h.tick();

    expect(healthy.received).toHaveLength(12);
    // A slow endpoint is known as such a second into a request: from then on the slow ones hold two
    // workers together and the healthy endpoint takes the others. Before, it waited for a slow answer
    // between most of its deliveries. First contact is the exception: endpoints not yet tried take
    // their first windows, so it may wait up to two slow rounds (2.4 s) before that.
    expect(Math.max(...healthyAt)).toBeLessThan(4_000);
    for (const rx of slow) expect(rx.received).toHaveLength(12);
  });

  it("what a run learned of slow endpoints holds in the next: they start in the struggling half, not as newcomers", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: { RELAY_DELIVERY_CONCURRENCY: "4", RELAY_DELIVERY_TIMEOUT: "4s", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    const { healthy, healthyAt, startedAt } = await timedHealthy(h);
    // Slow (1.2 s) until the second run's healthy deliveries are all in, then prompt.
    const slowly = () => (healthy.received.length < 5 ? { status: 200, delayMs: 1_200 } : { status: 200 });
    for (let i = 0; i < 3; i++) await h.subscriber({ reply: slowly });
    await finishedTasks(h, 2);
    await h.tick();
    expect(healthy.received).toHaveLength(2);

    const secondAt = performance.now() - startedAt;
    await finishedTasks(h, 3);
    await h.tick();
    const second = healthyAt.slice(2).map((at) => at - secondAt);
    expect(second).toHaveLength(3);
    // Known slow from the first run, the three hold two workers from the start, and the healthy
    // endpoint's deliveries leave at once. As newcomers they took all four until their first answers.
    expect(Math.max(...second)).toBeLessThan(900);
  });

  it("rows a run will not attempt go back when its time is up, not when its last attempt ends", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 10 } },
      // One worker: once the hanging endpoint holds it, the healthy endpoint's rows wait in the queue.
      env: { RELAY_DELIVERY_CONCURRENCY: "1", RELAY_DELIVERY_TIMEOUT: "3s", RELAY_ENDPOINT_CONCURRENCY: "1" },
    });
    const hanging = await stuck(h);
    const { healthy } = await timedHealthy(h);
    await finishedTasks(h, 3);
    // A 2 s budget: attempts start until 1.6 s in (fake time); its end is looked at 1.6 s in (real time).
    const ticking = h.tick(2_000);
    await vi.waitFor(() => expect(hanging.received.length).toBeGreaterThan(0), { timeout: 5_000 });
    const heldBefore = (await deliveriesOf(h, healthy.webhook.id)).filter((d) => d.status === "pending");
    // The run's time runs out while the hanging request is in flight (it ends 3 s after it started).
    h.clock.advance(2_000);
    await vi.waitFor(
      async () => {
        const rows = (await deliveriesOf(h, healthy.webhook.id)).filter((d) => d.status === "pending");
        expect(rows.length).toBeGreaterThan(0);
        for (const d of rows) expect(d.leaseOwner).toBeUndefined();
      },
      { timeout: 2_500, interval: 50 },
    );
    expect(heldBefore.length).toBeGreaterThan(0);
    const summary = await ticking;
    expect(summary.released).toBeGreaterThan(0);
  });

  it("an open circuit costs one attempt per cool-down; an answered probe closes it and the rest follow", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 10 } },
      env: {
        RELAY_DELIVERY_TIMEOUT: "1s",
        RELAY_CIRCUIT_FAILURES: "1",
        RELAY_ENDPOINT_CONCURRENCY: "1",
        RELAY_CIRCUIT_COOLDOWN: "30s",
      },
    });
    let hanging = true;
    const rx = await h.subscriber({ reply: () => (hanging ? { delayMs: 60_000 } : { status: 200 }) });
    await finishedTasks(h, 5);
    await h.tick();
    expect(rx.received).toHaveLength(1);
    expect(await readCircuit(h.store, rx.webhook.id)).toMatchObject({ cooldownMs: 30_000 });

    // Runs during the cool-down attempt nothing.
    for (let i = 0; i < 3; i++) {
      h.clock.advance(9_000);
      await h.tick();
    }
    expect(rx.received).toHaveLength(1);

    // Past it: one probe, which fails; the next cool-down is twice as long.
    h.clock.advance(5_000);
    await h.tick();
    expect(rx.received).toHaveLength(2);
    expect(await readCircuit(h.store, rx.webhook.id)).toMatchObject({ cooldownMs: 60_000, probing: undefined });
    h.clock.advance(59_000);
    await h.tick();
    expect(rx.received).toHaveLength(2);

    // The endpoint is back; the probe is answered and every deferred delivery goes.
    hanging = false;
    h.clock.advance(2_000);
    await h.tick();
    expect(rx.received).toHaveLength(2 + 4);
    // The first delivery made two real attempts (the round that opened it, and the failed probe):
    // its own retry schedule puts its third 5 minutes (±20 %) after the probe.
    const waiting = (await deliveriesOf(h, rx.webhook.id)).filter((d) => d.status !== "delivered");
    expect(waiting).toMatchObject([{ status: "pending", attempts: 2 }]);
    h.clock.advance(6 * 60_000);
    await h.tick();
    const rows = await deliveriesOf(h, rx.webhook.id);
    expect(rows.every((d) => d.status === "delivered")).toBe(true);
    expect(rx.received).toHaveLength(2 + 5);
    // Deferral did not use up the retry schedule: only the attempts actually made are counted.
    expect(rows.map((d) => d.attempts).sort()).toEqual([1, 1, 1, 1, 3]);
    expect(await readCircuit(h.store, rx.webhook.id)).toEqual({ failures: 0 });
  });

  it("a run starts no attempt after its budget: what it holds then goes back, untried and due", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 10 } },
      env: { RELAY_DELIVERY_TIMEOUT: "1s", RELAY_ENDPOINT_CONCURRENCY: "1", RELAY_CIRCUIT_FAILURES: "100" },
    });
    let hang = true;
    const rx = await h.subscriber({
      reply: () => {
        if (!hang) return { status: 200 };
        // While the first request hangs, the run's budget (10 s) runs out.
        h.clock.advance(20_000);
        return { delayMs: 60_000 };
      },
    });
    await finishedTasks(h, 5);
    const summary = await h.tick(10_000);
    expect(rx.received).toHaveLength(1);
    expect(summary.released).toBe(4);
    const rows = await deliveriesOf(h, rx.webhook.id);
    const untried = rows.filter((d) => d.attempts === 0);
    expect(untried).toHaveLength(4);
    for (const d of untried) {
      expect(d).toMatchObject({ status: "pending", leaseOwner: undefined, leaseUntilMs: 0 });
      expect(d.nextAttemptAtMs).toBeLessThanOrEqual(h.clock.now());
    }

    // The next run takes them at once, without waiting for a lease to run out.
    hang = false;
    await h.tick(10_000);
    expect((await deliveriesOf(h, rx.webhook.id)).filter((d) => d.status === "delivered")).toHaveLength(5);
  });

  it("endpoints that failed before hold at most half the workers: a healthy one is never starved by many", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: {
        RELAY_DELIVERY_TIMEOUT: "2s",
        RELAY_DELIVERY_CONCURRENCY: "4",
        RELAY_ENDPOINT_CONCURRENCY: "4",
        // Never open: this is about the workers they hold while still being tried.
        RELAY_CIRCUIT_FAILURES: "1000",
      },
    });
    // As many black holes as workers: without a bound, one request to each holds every worker.
    // Once the healthy endpoint has everything, they answer 500 at once, so the run ends soon.
    let holesHang = true;
    const hole = () => h.subscriber({ reply: () => (holesHang ? { delayMs: 60_000 } : { status: 500 }) });
    const holes = [await hole(), await hole(), await hole(), await hole()];
    await finishedTasks(h, 1);
    await h.tick();
    for (const hole of holes) expect((await readCircuit(h.store, hole.webhook.id)).failures).toBeGreaterThan(0);

    let startedAt = 0;
    const healthyAt: number[] = [];
    const healthy = await h.subscriber({
      reply: () => {
        healthyAt.push(performance.now() - startedAt);
        if (healthyAt.length === 6) holesHang = false;
        return { status: 204 };
      },
    });
    await finishedTasks(h, 6);
    h.clock.advance(2_000);
    startedAt = performance.now();
    const summary = await h.tick();
    expect(healthy.received).toHaveLength(6);
    // None waited for a black hole's timeout (2 s).
    expect(Math.max(...healthyAt)).toBeLessThan(1_500);
    expect(summary.delivered).toBe(6);
  });
});
