import { describe, expect, it } from "vitest";
import { noteResend } from "../../../lib/event-resends.js";
import { apiHarness } from "../../support/api.js";
import { seedDeliveries } from "../../support/lists.js";

const T0 = Date.parse("2026-12-01T09:00:00Z");

describe("the API's lists: newest first, {items, next}", () => {
  it("pages deliveries newest first with each filter, and lists the failures in one call", async () => {
    const h = await apiHarness();
    await seedDeliveries(h.relay.store);
    const get = async (path: string) => {
      const answer = await h.call("node", { method: "GET", path });
      expect(answer.status).toBe(200);
      return answer.json as { items: Array<Record<string, unknown>>; next: string | null };
    };
    const ids = (page: { items: Array<Record<string, unknown>> }) => page.items.map((d) => d.id);

    const first = await get("/v1/deliveries?limit=2");
    expect(ids(first)).toEqual(["msg_4", "msg_3"]);
    expect(first.items[0]).toMatchObject({
      createdAt: "2026-12-01T09:04:00.000Z",
      eventType: "video_analysis.failed",
      url: "https://main.example/hook",
      webhookId: "wh_main",
      status: "pending",
      attempts: 0,
    });
    const second = await get(`/v1/deliveries?limit=2&cursor=${first.next}`);
    expect(ids(second)).toEqual(["msg_2", "msg_1"]);
    const last = await get(`/v1/deliveries?limit=2&cursor=${second.next}`);
    expect(ids(last)).toEqual(["msg_0"]);
    expect(last.next).toBeNull();

    expect(ids(await get("/v1/deliveries?status=failed"))).toEqual(["msg_3", "msg_1"]);
    expect(ids(await get("/v1/deliveries?status=dead"))).toEqual(["msg_3"]);
    expect(ids(await get("/v1/deliveries?webhookId=wh_other"))).toEqual(["msg_2"]);
    expect(ids(await get("/v1/deliveries?eventId=evt_1"))).toEqual(["msg_1"]);
    expect(ids(await get("/v1/deliveries?status=pending&since=2026-12-01T09:02:00Z"))).toEqual(["msg_4", "msg_2"]);
    const bad = await h.call("node", { method: "GET", path: "/v1/deliveries?status=banana" });
    expect(bad.status).toBe(400);
    expect((await h.call("node", { method: "GET", path: "/v1/deliveries?cursor=nope" })).status).toBe(400);
  });

  it("lists events newest first by default, in creation order for `order=oldest` (what listen follows)", async () => {
    const h = await apiHarness();
    for (const i of [0, 1, 2])
      await h.relay.store.createEvent({
        id: `evt_${i}`,
        type: "video_analysis.succeeded",
        workspaceId: "w",
        taskId: `t${i}`,
        body: "{}",
        createdAtMs: T0 + i,
      });
    const ids = async (path: string) => {
      const answer = await h.call("node", { method: "GET", path });
      return { ids: answer.json.items.map((e: { id: string }) => e.id), next: answer.json.next };
    };
    const newest = await ids("/v1/events?limit=2");
    expect(newest.ids).toEqual(["evt_2", "evt_1"]);
    expect((await ids(`/v1/events?limit=2&cursor=${newest.next}`)).ids).toEqual(["evt_0"]);
    const oldest = await ids("/v1/events?order=oldest&limit=2");
    expect(oldest.ids).toEqual(["evt_0", "evt_1"]);
    expect((await ids(`/v1/events?order=oldest&limit=2&cursor=${oldest.next}`)).ids).toEqual(["evt_2"]);
    // `after`, as listen sent it before `order`, still follows creation order.
    expect((await ids(`/v1/events?limit=2&after=${oldest.next}`)).ids).toEqual(["evt_2"]);
    const mixed = await h.call("node", { method: "GET", path: `/v1/events?order=newest&after=${oldest.next}` });
    expect(mixed.status).toBe(400);
    expect(mixed.json.error.message).toMatch(/cursor/);
  });

  it("pages the resent events with the cursor it gives; a cursor it did not give is refused, naming the field", async () => {
    const h = await apiHarness();
    await h.relay.store.createEvent({
      id: "evt_resent",
      type: "video_analysis.succeeded",
      workspaceId: "w",
      taskId: "t",
      body: "{}",
      createdAtMs: Date.now(),
    });
    for (let i = 0; i < 101; i++) await noteResend(h.relay.store, "evt_resent", Date.now() - 200 + i);
    const first = await h.call("node", { method: "GET", path: "/v1/event-resends" });
    expect(first.json.items).toHaveLength(100);
    const next = await h.call("node", { method: "GET", path: `/v1/event-resends?cursor=${first.json.next}` });
    expect([next.json.items.length, next.json.next]).toEqual([1, null]);
    const bad = await h.call("node", { method: "GET", path: "/v1/event-resends?cursor=event-resend:9" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.error)).toContain("cursor");
    const ahead = await h.call("node", { method: "GET", path: "/v1/event-resends?since=1000000000000000" });
    expect([ahead.status, ahead.json.items]).toEqual([200, []]);
  });

  it("answers one event by its id (where a thin event points), 404 for one that is not there", async () => {
    const h = await apiHarness();
    const body = JSON.stringify({
      type: "video_analysis.succeeded",
      timestamp: "2026-12-01T09:00:00.000Z",
      data: { n: 1 },
    });
    await h.relay.store.createEvent({
      id: "evt_one",
      type: "video_analysis.succeeded",
      workspaceId: "w",
      taskId: "t1",
      body,
      createdAtMs: T0,
    });
    const one = await h.call("node", { method: "GET", path: "/v1/events/evt_one" });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: "evt_one", type: "video_analysis.succeeded" });
    expect(one.json.body).toEqual(JSON.parse(body));
    const missing = await h.call("node", { method: "GET", path: "/v1/events/evt_gone" });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("not_found");
  });

  it("lists tasks newest registration first", async () => {
    const h = await apiHarness();
    for (const [i, id] of ["t-a", "t-b", "t-c"].entries())
      await h.relay.store.registerTask({ workspaceId: "w", taskId: id }, T0 + i);
    const page = await h.call("node", { method: "GET", path: "/v1/tasks?limit=2" });
    expect(page.json.items.map((t: { taskId: string }) => t.taskId)).toEqual(["t-c", "t-b"]);
    const rest = await h.call("node", { method: "GET", path: `/v1/tasks?limit=2&cursor=${page.json.next}` });
    expect(rest.json).toMatchObject({ items: [{ taskId: "t-a" }], next: null });
  });
});
