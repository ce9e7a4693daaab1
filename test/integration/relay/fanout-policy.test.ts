/**
 * Fan-out's hand-off policy on a real SQLite store and a fake clock, with an invoker that records
 * (or refuses) what it is given: each due delivery handed off once per run, in bounded batches,
 * small pages inline, and a refused hand-off turning the run inline.
 */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL } from "../../../dev/quanmiao-simulator/server.js";
import { type AsyncInvoker, FanOut, type FanOutCounts } from "../../../lib/delivery/fanout.js";
import { InvokeError } from "../../../lib/fc/invoke.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { openRelay } from "../../../lib/relay.js";
import { runTick } from "../../../lib/run/run.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { FakeClock } from "../../support/fake-clock.js";
import { relayHarness, tempDir } from "../../support/relay.js";

async function setup(due: number, invoke?: (batch: string[], n: number) => void) {
  const store = new SqliteStore(join(tempDir(), "fanout.db"));
  onTestFinished(() => store.close());
  const clock = new FakeClock();
  const rows = Array.from({ length: due }, (_, i) => ({
    id: `msg_${String(i).padStart(5, "0")}`,
    eventId: "evt",
    webhookId: "wh",
    url: "https://example.com/hook",
    nextAttemptAtMs: clock.now() - due + i,
    createdAtMs: clock.now(),
  }));
  await store.createDeliveries(rows);
  const batches: string[][] = [];
  const invoker: AsyncInvoker = {
    async invokeAsync(functionName, payload) {
      expect(functionName).toBe("deliver");
      const batch = (JSON.parse(payload) as { deliveryIds: string[] }).deliveryIds;
      invoke?.(batch, batches.length);
      batches.push(batch);
      return { requestId: `req-${batches.length}` };
    },
  };
  const logged: Array<Record<string, unknown>> = [];
  const fanOut = new FanOut(
    { store, clock, invoker, log: (e) => logged.push(e) },
    { functionName: "deliver", batchSize: 100, inlineMax: 16 },
  );
  const counts: FanOutCounts = { handedOff: 0, invocations: 0 };
  const inline: string[][] = [];
  const handOff = () =>
    fanOut.handOff(
      counts,
      () => true,
      async (ids) => void inline.push([...ids]),
    );
  return { store, clock, fanOut, counts, batches, inline, logged, handOff };
}

describe("fan-out hand-off", () => {
  it("hands each due delivery off once per run, in batches, although the rows stay due until claimed", async () => {
    const f = await setup(2_550);
    expect(await f.handOff()).toBe(true);
    const handed = f.batches.flat();
    expect(handed).toHaveLength(2_550);
    expect(new Set(handed).size).toBe(2_550);
    expect(Math.max(...f.batches.map((b) => b.length))).toBe(100);
    expect(f.counts).toEqual({ handedOff: 2_550, invocations: f.batches.length });
    // Nothing was claimed by handing off: the deliver function claims them.
    expect(await f.store.dueDeliveries(f.clock.now(), 10_000)).toHaveLength(2_550);

    // Later in the same run: only what became due since is handed off (here: a small page, inline).
    expect(await f.handOff()).toBe(true);
    expect(f.inline).toEqual([]);
    f.clock.advance(1_000);
    await f.store.createDeliveries([
      { id: "msg_new", eventId: "e2", webhookId: "wh", url: "u", nextAttemptAtMs: f.clock.now(), createdAtMs: 0 },
    ]);
    await f.handOff();
    expect(f.inline).toEqual([["msg_new"]]);
    expect(f.batches.flat()).toHaveLength(2_550);
  });

  it("goes back for deliveries written later in the run in the same millisecond (regression: skipped until the next run)", async () => {
    const f = await setup(150);
    await f.handOff();
    expect(f.batches.flat()).toHaveLength(150);
    // Written now, due in the same millisecond as the last one read, with an id that sorts before it.
    const last = (await f.store.dueDeliveries(f.clock.now(), 1_000)).at(-1) as { dueMs: number };
    await f.store.createDeliveries(
      Array.from({ length: 120 }, (_, i) => ({
        id: `msg_0000${i}a`,
        eventId: "e3",
        webhookId: "wh",
        url: "u",
        nextAttemptAtMs: last.dueMs,
        createdAtMs: 0,
      })),
    );
    f.fanOut.noteNew(last.dueMs);
    await f.handOff();
    const handed = f.batches.flat();
    expect(handed).toHaveLength(270);
    expect(new Set(handed).size).toBe(270); // nothing handed off twice
  });

  it("delivers a small backlog inline: an invocation costs more than it saves", async () => {
    const f = await setup(16);
    await f.handOff();
    expect(f.batches).toEqual([]);
    expect(f.inline.flat()).toHaveLength(16);
  });

  it("a refused hand-off stops fan-out for the run and says so; what was handed off stays counted", async () => {
    const f = await setup(1_000, (_, n) => {
      if (n === 2) throw new InvokeError("invoking deliver failed: 403", false, 403, "AccessDenied");
    });
    expect(await f.handOff()).toBe(false);
    expect(f.fanOut.usable).toBe(false);
    expect(f.counts.handedOff).toBe(f.batches.flat().length);
    expect(f.counts.invocations).toBe(f.batches.length);
    expect(f.logged).toContainEqual(expect.objectContaining({ level: "error", batch: 100 }));
    // Later calls in the run do not try again.
    const before = f.batches.length;
    expect(await f.handOff()).toBe(false);
    expect(f.batches).toHaveLength(before);
  });

  it("stops handing off when the run's time is up", async () => {
    const f = await setup(500);
    expect(
      await f.fanOut.handOff(
        f.counts,
        () => false,
        async () => {},
      ),
    ).toBe(true);
    expect(f.batches).toEqual([]);
  });
});

describe("a handed-off batch, delivered", () => {
  it("relay.deliver attempts every id of a batch larger than one claim, each once", async () => {
    const env = { RELAY_DELIVERY_CONCURRENCY: "4", RELAY_DISPATCH: "fc", FC_ACCOUNT_ID: "1", FC_REGION: "cn-beijing" };
    const h = await relayHarness({ env, sim: { workspaces: { "llm-batch": 60 }, runMs: 0 } });
    const rx = await h.subscriber();
    for (let i = 0; i < 60; i++) {
      const task = h.sim.addTask("llm-batch", { outcome: "SUCCESSED", runMs: 0 });
      await h.register({ workspaceId: "llm-batch", taskId: task.taskId });
    }
    const batches: string[][] = [];
    const invoker: AsyncInvoker = {
      async invokeAsync(_fn, payload) {
        batches.push((JSON.parse(payload) as { deliveryIds: string[] }).deliveryIds);
        return { requestId: undefined };
      },
    };
    const summary = await runTick({ ...h.deps, invoker }, { budgetMs: 30_000 });
    expect(summary.events).toBe(60);
    expect(summary.handedOff).toBeGreaterThan(0);
    expect(rx.received).toHaveLength(summary.delivered);

    // The deliver function's side, in one call: far more ids than one claim (2 × concurrency = 8).
    const ids = [...batches.flat(), batches.flat()[0] as string]; // a repeated id is attempted once
    const relay = await openRelay({
      env,
      config: h.config,
      store: h.store,
      clock: h.clock,
      credentials: staticCredentials(SIM_CREDENTIAL),
    });
    onTestFinished(() => relay.close());
    const counts = await relay.deliver(ids, 30_000);
    expect(counts).toEqual({ delivered: summary.handedOff, retried: 0, dead: 0, errors: 0, deferred: 0, released: 0 });
    const webhookIds = rx.received.map((r) => r.headers["webhook-id"]);
    expect(webhookIds).toHaveLength(60);
    expect(new Set(webhookIds).size).toBe(60);
  });
});
