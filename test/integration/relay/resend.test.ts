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

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `evt_${from + i}`);

/** Every page, as `listen` reads them. */
async function all(store: SqliteStore, sinceMs: number, nowMs: number): Promise<string[]> {
  const read: string[] = [];
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await resendsSince(store, sinceMs, nowMs, cursor);
    read.push(...page.items.map((r) => r.eventId));
    cursor = page.next;
  }
  return read;
}

describe("queueEvent and resendEvent", () => {
  it("the resend log answers the last 10 minutes oldest first, 100 a page; deletes what ages out; survives a row it cannot read", async () => {
    const { store } = await setup();
    await store.compareAndSetSetting("event-resend:000000000000999:x", undefined, "not json");
    expect(await resendsSince(store, 0, 1_000)).toEqual({ items: [], next: undefined });
    for (let i = 0; i < 105; i++) await noteResend(store, `evt_${i}`, 1_000 + i);
    // The row it cannot read takes a place in the first page.
    const first = await resendsSince(store, 0, 2_000);
    expect(first.items).toHaveLength(99);
    expect(first.items[0]).toEqual({ eventId: "evt_0", atMs: 1_000 });
    const second = await resendsSince(store, 0, 2_000, first.next);
    expect(second).toEqual({
      items: ids(99, 105).map((eventId, i) => ({ eventId, atMs: 1_099 + i })),
      next: undefined,
    });
    expect((await resendsSince(store, 1_100, 2_000)).items.map((r) => r.eventId)).toEqual(ids(100, 105));
    const late = 1_000 + 10 * 60_000 + 50;
    await noteResend(store, "evt_late", late);
    expect(await all(store, 0, late)).toEqual([...ids(51, 105), "evt_late"]);
    // What aged out was deleted by the resend that came after it, the unreadable row too.
    expect((await store.listSettings("event-resend:", "event-resend:~", 1_000)).length).toBe(55);
  });

  it("resends at once are all logged: none loses a race for the log", async () => {
    const { store } = await setup();
    await Promise.all(ids(0, 40).map((id) => noteResend(store, id, 5_000)));
    expect((await all(store, 0, 5_000)).sort()).toEqual(ids(0, 40).sort());
  });

  it("a burst is read whole, page by page, and a resend after it is not hidden behind it", async () => {
    const { store } = await setup();
    for (let i = 0; i < 1_000; i++) await noteResend(store, `evt_${i}`, 10_000 + i * 5);
    await noteResend(store, "evt_new", 30_000);
    const read = await all(store, 0, 30_000);
    expect(read).toHaveLength(1_001);
    expect(read.at(-1)).toBe("evt_new");
  });

  it("a resend stamped ahead by a skewed clock waits for the relay's clock; a `since` far ahead finds nothing", async () => {
    const { store } = await setup();
    await noteResend(store, "evt_ahead", 60 * 60_000);
    await noteResend(store, "evt_now", 1_000);
    expect(await all(store, 0, 1_000)).toEqual(["evt_now"]);
    expect(await all(store, 0, 60 * 60_000)).toEqual(["evt_ahead"]);
    expect(await resendsSince(store, 10 ** 15, 1_000)).toEqual({ items: [], next: undefined });
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
    expect((await resendsSince(store, 5_000, 5_000)).items).toEqual([{ eventId: event.id, atMs: 5_000 }]);

    // To one subscription only; one that does not take the event's type is told so.
    const only = await resendEvent(store, event.id, 6_000, early);
    expect([...only.again, ...only.created].map((d) => d.webhookId)).toEqual([early]);
    expect((await resendsSince(store, 6_000, 6_000)).items).toEqual([]); // to one subscription: not to listen sessions
    const running = await subscribe({ url: "http://127.0.0.1:9/running", events: ["video_analysis.running"] });
    await expect(resendEvent(store, event.id, 6_000, running)).rejects.toThrow(
      `--webhook: webhook ${running} does not receive video_analysis.succeeded events of llm-sample`,
    );
    await expect(resendEvent(store, event.id, 6_000, "wh_nope")).rejects.toThrow("no webhook with id wh_nope");
  });
});
