import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";

describe("GET /metrics", () => {
  it.each(["node", "fc"] as const)(
    "answers Prometheus's text format behind the token, the backlog read from the store (%s)",
    async (via) => {
      const h = await apiHarness();
      expect((await h.call(via, { method: "GET", path: "/metrics", auth: false })).status).toBe(401);
      // Two deliveries waiting, the older due 90 s ago.
      const nowMs = Date.now();
      await h.relay.store.createDeliveries([
        {
          id: "msg_a",
          eventId: "evt_a",
          webhookId: "wh_1",
          url: "https://x/",
          nextAttemptAtMs: nowMs - 90_000,
          createdAtMs: nowMs,
        },
        {
          id: "msg_b",
          eventId: "evt_a",
          webhookId: "wh_2",
          url: "https://x/",
          nextAttemptAtMs: nowMs + 60_000,
          createdAtMs: nowMs,
        },
      ]);
      const scraped = await h.call(via, { method: "GET", path: "/metrics" });
      expect(scraped.status).toBe(200);
      expect(scraped.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(scraped.text).toMatch(/^# HELP quanmiao_relay_pending_deliveries /m);
      expect(scraped.text).toMatch(/^quanmiao_relay_pending_deliveries 2$/m);
      const age = Number(/^quanmiao_relay_oldest_pending_delivery_age_seconds (\S+)$/m.exec(scraped.text)?.[1]);
      expect(age).toBeGreaterThanOrEqual(90);
      expect(age).toBeLessThan(120);
      for (const name of [
        "polls_total",
        "delivery_attempts_total",
        "delivery_duration_seconds",
        "detection_delay_seconds",
      ])
        expect(scraped.text).toContain(`# TYPE quanmiao_relay_${name} `);
    },
  );
});
