import { describe, expect, it } from "vitest";
import { apiHarness, subscribeAndFinishTask } from "../../support/api.js";

describe("deliveries in detail (what the console shows)", () => {
  it("keeps each attempt, filters by event type and time, and sums a subscription's last 24 hours", async () => {
    const h = await apiHarness({ RELAY_RETRY_SCHEDULE: "0,1s,1s" });
    let answer = 500;
    const { webhookId, taskId } = await subscribeAndFinishTask(h, "llm-console", () => answer);
    answer = 200;
    await new Promise((r) => setTimeout(r, 1_300));
    await h.relay.tick(5_000);

    const listed = await h.call("node", { method: "GET", path: "/v1/deliveries?eventType=video_analysis.succeeded" });
    expect(listed.json.items).toHaveLength(1);
    expect(listed.json.items[0]).toMatchObject({
      status: "delivered",
      eventType: "video_analysis.succeeded",
      attempts: 2,
    });
    expect(
      (await h.call("node", { method: "GET", path: "/v1/deliveries?eventType=video_analysis.failed" })).json.items,
    ).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await h.call("node", { method: "GET", path: `/v1/deliveries?since=${future}` })).json.items).toEqual([]);

    const detail = await h.call("node", { method: "GET", path: `/v1/deliveries/${listed.json.items[0].id}` });
    expect(detail.json.event).toMatchObject({ type: "video_analysis.succeeded", taskId });
    expect(detail.json.attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
    expect(detail.json.attemptLog[0]).toMatchObject({ failure: null, response: "ok" });
    expect(detail.json.attemptLog[1].durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(detail.json)).not.toMatch(/v1,|webhook-signature|whsec_/);
    expect((await h.call("node", { method: "GET", path: "/v1/deliveries/msg_nope" })).status).toBe(404);

    const hooks = await h.call("node", { method: "GET", path: "/v1/webhooks?expand=last24h" });
    expect(hooks.json.items[0].last24h).toMatchObject({ succeeded: 1, failed: 1, lastStatus: 200 });
    const one = await h.call("node", { method: "GET", path: `/v1/webhooks/${webhookId}?expand=last24h` });
    expect(one.json.last24h).toEqual(hooks.json.items[0].last24h);
    // Not asked for, not read.
    expect((await h.call("node", { method: "GET", path: "/v1/webhooks" })).json.items[0].last24h).toBeUndefined();
  });
});
