import { describe, expect, it } from "vitest";
import { relayHarness } from "../../support/relay.js";

const WS = "llm-retention";

describe("RELAY_RETENTION", () => {
  it("a run's spare time deletes events and deliveries past the retention, but not one still to be sent", async () => {
    const h = await relayHarness({ env: { RELAY_RETENTION: "1h" } });
    let status = 200;
    await h.subscriber({ reply: () => ({ status }) });
    const sent = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: sent.taskId });
    await h.tick();
    // The second task's delivery keeps failing: pending, with retries scheduled for hours.
    status = 500;
    const failing = h.sim.addTask(WS, { outcome: "FAILED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: failing.taskId });
    await h.tick();
    expect((await h.store.listEvents({ limit: 10 })).items).toHaveLength(2);

    h.clock.advance(30 * 60_000);
    expect((await h.tick()).purged).toBe(0);
    h.clock.advance(31 * 60_000);
    const summary = await h.tick();
    expect(summary.purged).toBe(1);
    expect(await h.store.listEventsForTask(WS, sent.taskId)).toEqual([]);
    const kept = await h.store.listEventsForTask(WS, failing.taskId);
    expect(kept).toHaveLength(1);
    expect((await h.store.listDeliveries({ eventId: kept[0]?.id as string, limit: 10 })).items[0]?.status).toBe(
      "pending",
    );
    // The tasks themselves stay: only payloads age out.
    expect((await h.store.getTask(WS, sent.taskId))?.state).toBe("done");
  });

  it("is off unless set, and refuses what is not a duration", async () => {
    const h = await relayHarness();
    expect(h.config.retentionMs).toBeUndefined();
    await expect(relayHarness({ env: { RELAY_RETENTION: "a month" } })).rejects.toThrow(/RELAY_RETENTION/);
  });
});
