/** The Store contract's event history: listing events in order, retention, erasing a task. */
import { describe, expect, it } from "vitest";
import type { DeliveryRow, Store } from "../../lib/store/store.js";

export const T0 = Date.parse("2026-11-25T12:00:00Z");

export function eventHistoryConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store contract, event history: ${name}`, () => {
    it("lists every event in creation order, from a time on, page by page", async () => {
      const store = await open();
      const event = (id: string, atMs: number) => ({
        id,
        type: "video_analysis.succeeded",
        workspaceId: "w",
        taskId: id,
        body: `{"id":"${id}"}`,
        createdAtMs: atMs,
      });
      // Out of order, and two in the same millisecond (then ordered by id).
      for (const [id, at] of [
        ["evt_c", T0 + 2],
        ["evt_a", T0],
        ["evt_e", T0 + 3],
        ["evt_b2", T0 + 1],
        ["evt_b1", T0 + 1],
      ] as const)
        await store.createEvent(event(id, at));
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listEvents({ limit: 2, ...(cursor ? { cursor } : {}) });
        all.push(...page.items.map((e) => e.id));
        cursor = page.cursor;
      } while (cursor);
      expect(all).toEqual(["evt_a", "evt_b1", "evt_b2", "evt_c", "evt_e"]);
      const since = await store.listEvents({ limit: 10, sinceMs: T0 + 2 });
      expect(since.items.map((e) => e.id)).toEqual(["evt_c", "evt_e"]);
      expect(since.cursor).toBeUndefined();
      expect(since.items[0]?.body).toBe('{"id":"evt_c"}');
      await expect(store.listEvents({ limit: 10, cursor: "not-ours" })).rejects.toThrow(/cursor/);
    });

    it("retention deletes old events with their deliveries, never one with a pending delivery; erasing forgets a task", async () => {
      const store = await open();
      const { task } = await store.registerTask({ workspaceId: "w", taskId: "t1" }, T0);
      const event = (id: string, taskId: string, atMs: number) => ({
        id,
        type: "video_analysis.succeeded",
        workspaceId: "w",
        taskId,
        body: "{}",
        createdAtMs: atMs,
      });
      const delivery = (id: string, eventId: string) => ({
        id,
        eventId,
        webhookId: "wh",
        url: "u",
        nextAttemptAtMs: T0,
        createdAtMs: T0,
      });
      await store.createEvent(event("evt_old_done", "t0", T0));
      await store.createEvent(event("evt_old_pending", "t0", T0 + 1));
      await store.createEvent(event("evt_new", "t0", T0 + 100_000));
      await store.createDeliveries([
        delivery("msg_done", "evt_old_done"),
        delivery("msg_pending", "evt_old_pending"),
        delivery("msg_new", "evt_new"),
      ]);
      const [claimed] = await store.claimDueDeliveries({
        owner: "o",
        nowMs: T0,
        leaseMs: 1_000,
        limit: 1,
        ids: ["msg_done"],
      });
      await store.updateDelivery(claimed as DeliveryRow, "o", {
        status: "delivered",
        attempts: 1,
        nextAttemptAtMs: T0,
        lastAttemptAtMs: T0,
        lastStatusCode: 200,
        lastError: undefined,
        lastResponse: undefined,
        deliveredAtMs: T0,
      });
      expect(await store.purgeBefore(T0 + 50_000, 100)).toEqual({ events: 1, deliveries: 1 });
      expect(await store.getEvent("evt_old_done")).toBeUndefined();
      expect(await store.getDelivery("msg_done")).toBeUndefined();
      expect(await store.getEvent("evt_old_pending")).toBeDefined();
      expect(await store.getDelivery("msg_pending")).toBeDefined();
      expect(await store.getEvent("evt_new")).toBeDefined();
      expect((await store.listEvents({ limit: 10 })).items.map((e) => e.id)).toEqual(["evt_old_pending", "evt_new"]);
      expect(await store.purgeBefore(T0 + 50_000, 100)).toEqual({ events: 0, deliveries: 0 });

      await store.createEvent(event("evt_t1", "t1", T0 + 2));
      await store.createDeliveries([delivery("msg_t1", "evt_t1")]);
      expect(await store.eraseTask("w", "t1")).toBe(true);
      expect(await store.getTask("w", task.taskId)).toBeUndefined();
      expect(await store.listEventsForTask("w", "t1")).toEqual([]);
      expect(await store.getDelivery("msg_t1")).toBeUndefined();
      // The erased pending delivery is not claimed later, and the task is not polled.
      expect(
        await store.claimDueDeliveries({ owner: "p", nowMs: T0 + 10, leaseMs: 1_000, limit: 10, ids: ["msg_t1"] }),
      ).toEqual([]);
      expect(await store.claimDueTasks({ owner: "p", nowMs: T0 + 10, leaseMs: 1_000, limit: 10 })).toEqual([]);
      expect(await store.eraseTask("w", "t1")).toBe(false);
    });

    it("writes an event with its deliveries; again, it keeps the first event and creates only the missing deliveries", async () => {
      const store = await open();
      const event = { id: "evt_e", type: "video_analysis.succeeded", workspaceId: "w", taskId: "t", createdAtMs: T0 };
      const delivery = (id: string, webhookId: string) => ({
        id,
        eventId: "evt_e",
        webhookId,
        url: `http://127.0.0.1:9/${webhookId}`,
        nextAttemptAtMs: T0,
        createdAtMs: T0,
        eventType: "video_analysis.succeeded",
        leaseOwner: "run",
        leaseUntilMs: T0 + 60_000,
      });
      const first = await store.createEventWithDeliveries({ ...event, body: '{"n":1}' }, [delivery("msg_a", "wh_a")]);
      expect(first).toEqual({ event: { ...event, body: '{"n":1}' }, created: true, deliveryIds: ["msg_a"] });
      const again = await store.createEventWithDeliveries({ ...event, body: '{"n":2}', createdAtMs: T0 + 1 }, [
        delivery("msg_a", "wh_a"),
        delivery("msg_b", "wh_b"),
      ]);
      expect(again).toEqual({ event: { ...event, body: '{"n":1}' }, created: false, deliveryIds: ["msg_b"] });
      expect((await store.createEventWithDeliveries({ ...event, body: "{}" }, [])).deliveryIds).toEqual([]);
      const rows = (await store.listDeliveries({ eventId: "evt_e", limit: 10 })).items;
      expect(rows.map((d) => [d.id, d.status, d.leaseOwner, d.leaseUntilMs]).sort()).toEqual([
        ["msg_a", "pending", "run", T0 + 60_000],
        ["msg_b", "pending", "run", T0 + 60_000],
      ]);
      // Leased to the run that wrote them: nobody else claims them before the lease ends.
      expect(await store.claimDueDeliveries({ owner: "other", nowMs: T0 + 1, leaseMs: 1_000, limit: 10 })).toEqual([]);
    });
  });
}
