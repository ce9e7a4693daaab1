/** `trigger` and `events resend` below the CLI: which deliveries they write or make due again. */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { systemClock } from "../../../lib/clock.js";
import { noteResend, resendsSince } from "../../../lib/event-resends.js";
import { queueEvent, resendEvent } from "../../../lib/resend.js";
import { sampleEvent } from "../../../lib/sample-events.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { tempDir } from "../../support/relay.js";

async function setup() {
  const store = new SqliteStore(join(tempDir(), "relay.db"));
  onTestFinished(() => store.close());
  const deps = { store, clock: systemClock, allowPrivateTargets: true };
  const subscribe = async (request: Parameters<typeof createWebhook>[1]) =>
    (await createWebhook(deps, request)).webhook.id;
  return { store, subscribe };
}

describe("queueEvent and resendEvent", () => {
  it("the resend log answers the newest 100 of the last 10 minutes, deletes what ages out, and survives a row it cannot read", async () => {
    const { store } = await setup();
    await store.compareAndSetSetting("event-resend:000000000000999:x", undefined, "not json");
    expect(await resendsSince(store, 0, 1_000)).toEqual([]);
    for (let i = 0; i < 105; i++) await noteResend(store, `evt_${i}`, 1_000 + i);
    const kept = await resendsSince(store, 0, 2_000);
    expect(kept).toHaveLength(100);
    expect(kept[0]).toEqual({ eventId: "evt_5", atMs: 1_005 });
    expect((await resendsSince(store, 1_100, 2_000)).map((r) => r.eventId)).toEqual([
      "evt_100",
      "evt_101",
      "evt_102",
      "evt_103",
      "evt_104",
    ]);
    const late = 1_000 + 10 * 60_000 + 50;
    await noteResend(store, "evt_late", late);
    expect((await resendsSince(store, 0, late)).map((r) => r.eventId)).toEqual([
      ...Array.from({ length: 54 }, (_, i) => `evt_${51 + i}`),
      "evt_late",
    ]);
    // What aged out was deleted by the resend that came after it, the unreadable row too.
    expect((await store.listSettings("event-resend:", "event-resend:~", 1_000)).length).toBe(55);
  });

  it("resends at once are all logged: none loses a race for the log", async () => {
    const { store } = await setup();
    const ids = Array.from({ length: 40 }, (_, i) => `evt_${i}`);
    await Promise.all(ids.map((id) => noteResend(store, id, 5_000)));
    expect((await resendsSince(store, 0, 5_000)).map((r) => r.eventId).sort()).toEqual([...ids].sort());
  });

  it("queue a sample for the subscriptions that want it: type and workspace filters apply", async () => {
    const { store, subscribe } = await setup();
    const all = await subscribe({ url: "http://127.0.0.1:9/all" });
    await subscribe({ url: "http://127.0.0.1:9/running", events: ["video_analysis.running"] });
    const mine = await subscribe({ url: "http://127.0.0.1:9/mine", workspaceId: "llm-mine" });
    const queued = await queueEvent(store, sampleEvent("video_analysis.failed", 1_000, "aa"), 1_000);
    expect(queued.created.map((d) => d.webhookId)).toEqual([all]);
    expect(await store.getEvent(queued.event.id)).toMatchObject({ type: "video_analysis.failed", createdAtMs: 1_000 });
    const inMine = await queueEvent(store, sampleEvent("video_analysis.failed", 2_000, "bb", "llm-mine"), 2_000);
    expect(inMine.created.map((d) => d.webhookId).sort()).toEqual([all, mine].sort());
    expect(inMine.created.every((d) => d.status === "pending" && d.nextAttemptAtMs === 2_000)).toBe(true);
  });

  it("resend: each earlier delivery due again with its message id, a first one for a subscription made since", async () => {
    const { store, subscribe } = await setup();
    const early = await subscribe({ url: "http://127.0.0.1:9/early" });
    const { event, created } = await queueEvent(store, sampleEvent("video_analysis.succeeded", 1_000, "cc"), 1_000);
    const [first] = created;
    if (!first) throw new Error("no delivery");
    const claimed = await store.claimDueDeliveries({ owner: "t", nowMs: 1_000, leaseMs: 60_000, limit: 10 });
    await store.updateDelivery(claimed[0] ?? first, "t", {
      status: "delivered",
      attempts: 1,
      nextAttemptAtMs: 1_000,
      lastAttemptAtMs: 1_000,
      lastStatusCode: 200,
      lastError: undefined,
      lastResponse: undefined,
      deliveredAtMs: 1_000,
    });
    const late = await subscribe({ url: "http://127.0.0.1:9/late" });
    const resent = await resendEvent(store, event.id, 5_000);
    expect(resent.again.map((d) => [d.id, d.webhookId, d.status, d.nextAttemptAtMs])).toEqual([
      [first.id, early, "pending", 5_000],
    ]);
    expect(resent.created.map((d) => d.webhookId)).toEqual([late]);
    await expect(resendEvent(store, "evt_nope", 5_000)).rejects.toThrow("no event with id evt_nope");
    // Logged for listen sessions, which forward it again.
    expect(await resendsSince(store, 5_000, 5_000)).toEqual([{ eventId: event.id, atMs: 5_000 }]);

    // To one subscription only; one that does not take the event's type is told so.
    const only = await resendEvent(store, event.id, 6_000, early);
    expect([...only.again, ...only.created].map((d) => d.webhookId)).toEqual([early]);
    expect(await resendsSince(store, 6_000, 6_000)).toEqual([]); // to one subscription: not to listen sessions
    const running = await subscribe({ url: "http://127.0.0.1:9/running", events: ["video_analysis.running"] });
    await expect(resendEvent(store, event.id, 6_000, running)).rejects.toThrow(
      `--webhook: webhook ${running} does not receive video_analysis.succeeded events of llm-sample`,
    );
    await expect(resendEvent(store, event.id, 6_000, "wh_nope")).rejects.toThrow("no webhook with id wh_nope");
  });
});
