import { describe, expect, it } from "vitest";
import { circuitKey } from "../../../lib/delivery/circuit.js";
import { apiHarness } from "../../support/api.js";
import { webhookRow } from "../../support/rows.js";

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
      // A webhook whose circuit is open, and one with a closed circuit.
      const hook = (id: string) =>
        webhookRow(id, { secrets: [{ secret: "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }], createdAtMs: nowMs });
      await h.relay.store.createWebhook(hook("wh_open"));
      await h.relay.store.createWebhook(hook("wh_fine"));
      const open = { failures: 5, openUntilMs: nowMs + 30_000, cooldownMs: 30_000, openedAtMs: nowMs };
      await h.relay.store.compareAndSetSetting(circuitKey("wh_open"), undefined, JSON.stringify(open));
      const scraped = await h.call(via, { method: "GET", path: "/metrics" });
      expect(scraped.text).toMatch(/^quanmiao_relay_endpoint_circuit_open\{webhook_id="wh_open"\} 1$/m);
      expect(scraped.text).toMatch(/^quanmiao_relay_endpoint_circuit_open\{webhook_id="wh_fine"\} 0$/m);
      expect(scraped.text).toMatch(/^quanmiao_relay_endpoint_consecutive_failures\{webhook_id="wh_open"\} 5$/m);
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
        "deliveries_deferred_total",
      ])
        expect(scraped.text).toContain(`# TYPE quanmiao_relay_${name} `);
    },
  );
});
