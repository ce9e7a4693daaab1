/**
 * Isolation from endpoints the relay has not heard from yet, and between runs that overlap: URLs
 * new to the process (per-task URLs can each be new) beside a known healthy endpoint, with real
 * loopback receivers (the hang is real; the relay's clock is fake).
 */
import { describe, expect, it, vi } from "vitest";
import { deliveriesOf, finishedTasks, timedHealthy, WS } from "../../support/isolation.js";
import { startReceiver } from "../../support/receiver.js";
import { relayHarness } from "../../support/relay.js";

describe("isolation from newcomers and overlapping runs", () => {
  it("URLs new to the relay on a host known to hang start in the struggling half, not as newcomers", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: { RELAY_DELIVERY_CONCURRENCY: "4", RELAY_DELIVERY_TIMEOUT: "1s", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    const hangingHost = await startReceiver({
      secret: () => [],
      now: () => h.clock.now(),
      reply: () => ({ hang: "silent" }),
    });
    const { origin } = new URL(hangingHost.url);
    const { healthyAt, startedAt } = await timedHealthy(h);
    // Each task names per-task URLs no task named before, on one host that never answers.
    let url = 0;
    const tasksNamingNewUrls = async (n: number, urlsEach: number) => {
      for (let i = 0; i < n; i++) {
        const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
        const webhooks = Array.from({ length: urlsEach }, () => `${origin}/hook?task=${url++}`);
        await h.register({ workspaceId: WS, taskId: task.taskId, webhooks });
      }
    };
    await tasksNamingNewUrls(1, 1);
    await h.tick();
    expect(hangingHost.received).toHaveLength(1);

    const secondAt = performance.now() - startedAt;
    await tasksNamingNewUrls(3, 2);
    await h.tick();
    const second = healthyAt.slice(1).map((at) => at - secondAt);
    expect(second).toHaveLength(3);
    // Known to hang from the first run, the host's six new URLs start with a slot each in the
    // struggling half (two workers), and the healthy endpoint's deliveries leave at once. Each a
    // newcomer, they took every worker until the first timeout (1 s), and the healthy ones waited.
    expect(Math.max(...second)).toBeLessThan(600);
    expect(hangingHost.hangs).toMatchObject({ total: 7, peak: 2 });
  });

  it("newcomers, however many and on however many hosts, leave a quarter of the workers to known endpoints", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 30 } },
      env: { RELAY_DELIVERY_CONCURRENCY: "4", RELAY_DELIVERY_TIMEOUT: "1s", RELAY_ENDPOINT_CONCURRENCY: "4" },
    });
    const { healthyAt, startedAt } = await timedHealthy(h);
    await finishedTasks(h, 1);
    await h.tick();
    expect(healthyAt).toHaveLength(1);
    // Each URL on a host (here: a port) the relay never met, every one hanging.
    const hosts = [];
    for (let i = 0; i < 6; i++)
      hosts.push(
        await startReceiver({ secret: () => [], now: () => h.clock.now(), reply: () => ({ hang: "silent" }) }),
      );
    const secondAt = performance.now() - startedAt;
    for (let i = 0; i < 3; i++) {
      const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
      const webhooks = hosts.slice(2 * i, 2 * i + 2).map((rx) => rx.url);
      await h.register({ workspaceId: WS, taskId: task.taskId, webhooks });
    }
    await h.tick();
    const second = healthyAt.slice(1).map((at) => at - secondAt);
    expect(second).toHaveLength(3);
    // Six newcomers hold at most three of the four workers: the healthy endpoint's deliveries take
    // the fourth at once. Before, newcomers took every worker until the first timeout (1 s).
    expect(Math.max(...second)).toBeLessThan(600);
    expect(hosts.reduce((n, rx) => n + rx.hangs.total, 0)).toBe(6);
  });

  it("a run beside one finishing its last attempts counts those against each endpoint's window", async () => {
    const h = await relayHarness({
      sim: { workspaces: { [WS]: 10 } },
      env: { RELAY_DELIVERY_TIMEOUT: "2s", RELAY_ENDPOINT_CONCURRENCY: "2", RELAY_CIRCUIT_FAILURES: "2" },
    });
    const arrivedAt: number[] = [];
    const rx = await h.subscriber({
      reply: () => {
        arrivedAt.push(performance.now());
        return { hang: "silent" };
      },
    });
    await finishedTasks(h, 6);
    // The first run's time is up (fake) while its two requests hang (real): it gives back the rest.
    const first = h.tick(1_000);
    await vi.waitFor(() => expect(rx.hangs.open).toBe(2), { timeout: 3_000 });
    h.clock.advance(1_000);
    await vi.waitFor(
      async () => {
        const rows = await deliveriesOf(h, rx.webhook.id);
        expect(rows.filter((d) => d.leaseOwner === undefined)).toHaveLength(4);
      },
      { timeout: 2_000, interval: 50 },
    );
    // The next run takes them up while the first still waits on its two (as `npm start` does).
    const second = h.tick();
    await Promise.all([first, second]);
    // It sent nothing until the first run's two timed out (2 s); each pass counting only its own, it
    // sent two at once beside them. Then one, the window they halved, which opened the circuit.
    const [, firstRunLast, ...secondRun] = arrivedAt.map((at) => at - (arrivedAt[0] ?? 0));
    expect(firstRunLast).toBeLessThan(500);
    expect(secondRun).toHaveLength(1);
    expect(secondRun[0]).toBeGreaterThan(1_900);
  });
});
