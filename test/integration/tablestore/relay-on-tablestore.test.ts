import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { relayOnEmulatorsEnv, tickProcess } from "../../../dev/tick-process.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { TablestoreStore } from "../../../lib/store/tablestore.js";
import { registerTask } from "../../../lib/tasks.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { startReceiver } from "../../support/receiver.js";
import { relayHarness } from "../../support/relay.js";

const CLI = fileURLToPath(new URL("../../../bin/quanmiao-relay.js", import.meta.url));

describe("the relay on Tablestore", () => {
  it("10 % of writes answered 503 OTSServerBusy: nothing lost, nothing created twice", async () => {
    const h = await relayHarness({ store: "tablestore", sim: { defaultConcurrency: 50 } });
    const a = await h.subscriber();
    const b = await h.subscriber();
    h.emulator?.inject({ fault: { kind: "busy" }, rate: 0.1, writesOnly: true });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = h.sim.addTask("llm-busy", {
        outcome: i % 4 === 0 ? "FAILED" : "SUCCESSED",
        runMs: 0,
        submittedAtMs: h.clock.now() + i,
      });
      await h.register({ workspaceId: "llm-busy", taskId: t.taskId, submittedAtMs: h.clock.now() + i });
      ids.push(t.taskId);
    }
    await h.runUntil(async () => a.received.length >= 40 && b.received.length >= 40, 10_000, 50);
    expect(h.emulator?.stats().faults).toBeGreaterThan(20);
    for (const r of [a, b]) {
      expect(new Set(r.received.map((q) => (q.verified?.data as { taskId?: string } | undefined)?.taskId))).toEqual(
        new Set(ids),
      );
    }
    for (const id of ids) expect(await h.store.listEventsForTask("llm-busy", id)).toHaveLength(1);
    const delivered = await h.store.listDeliveries({ status: "delivered", limit: 1_000 });
    expect(delivered.items).toHaveLength(80);
  }, 120_000);

  it("four relay processes on one emulator, 2,000 tasks: every event delivered, none sent twice", async () => {
    const TASKS = 2_000;
    const sim = await startSimulator({ defaultConcurrency: 100, runMs: 0 });
    // One key for the API and Tablestore, as a function's RAM role provides on FC.
    const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL, SIM_CREDENTIAL] });
    onTestFinished(async () => {
      await sim.close();
      await emulator.close();
    });
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const env = relayOnEmulatorsEnv({ tablestore: emulator, quanmiaoUrl: sim.url });
    const store = new TablestoreStore({
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    });
    await store.init();
    const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
    secret = (await createWebhook(deps, { url: rx.url })).secret;
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const ws = `llm-four-${i % 20}`;
      const t = sim.addTask(ws, { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 60_000 });
      await registerTask(deps, { workspaceId: ws, taskId: t.taskId, submittedAtMs: Date.now() - 60_000 + i });
      ids.push(t.taskId);
    }
    const before = emulator.stats().requests;
    const tick = () => tickProcess(CLI, env);
    const started = performance.now();
    // Rounds until every task is delivered: some are scheduled a little later at registration (their
    // workspace's concurrency is not known yet), so a fast round can end before they are due.
    while (rx.received.length < TASKS && performance.now() - started < 200_000)
      await Promise.all([tick(), tick(), tick(), tick()]);
    const seconds = (performance.now() - started) / 1000;
    const ids1 = rx.received.map((r) => String(r.headers["webhook-id"]));
    expect(new Set(ids1).size).toBe(TASKS);
    expect(ids1.length).toBe(TASKS); // none twice
    expect(rx.received.every((r) => r.verified !== undefined)).toBe(true);
    const after = emulator.stats().requests;
    const requests = Object.entries(after).reduce((n, [op, c]) => n + c - (before[op] ?? 0), 0);
    console.log(
      JSON.stringify({
        tasks: TASKS,
        processes: 4,
        seconds: +seconds.toFixed(1),
        tablestoreRequestsPerTask: +(requests / TASKS).toFixed(1),
        byOperation: Object.fromEntries(
          Object.entries(after).map(([op, c]) => [op, +((c - (before[op] ?? 0)) / TASKS).toFixed(2)]),
        ),
      }),
    );
  }, 300_000);
});
