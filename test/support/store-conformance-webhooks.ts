/** The Store contract's small records: webhooks (with every optional field) and settings. */
import { describe, expect, it } from "vitest";
import type { Store, WebhookRow } from "../../lib/store/store.js";
import { webhookRow } from "./rows.js";
import { T0 } from "./store-conformance-events.js";

const webhook = (id: string, extra: Partial<WebhookRow> = {}): WebhookRow =>
  webhookRow(id, { secrets: [{ secret: "whsec_AAAA" }], createdAtMs: T0, ...extra });

export function webhookConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store contract, webhooks and settings: ${name}`, () => {
    it("stores webhooks and settings; compare-and-set settles races", async () => {
      const store = await open();
      await store.createWebhook(webhook("wh_1", { events: ["video_analysis.running"], headers: { "x-a": "1" } }));
      await store.createWebhook(webhook("wh_2", { createdAtMs: T0 + 1 }));
      expect((await store.listWebhooks()).map((w) => w.id)).toEqual(["wh_1", "wh_2"]);
      expect(await store.getWebhook("wh_1")).toEqual(
        webhook("wh_1", { events: ["video_analysis.running"], headers: { "x-a": "1" } }),
      );
      expect(await store.updateWebhook(webhook("wh_1", { enabled: false, disabledReason: "r" }))).toBe(true);
      expect((await store.getWebhook("wh_1"))?.enabled).toBe(false);
      expect(await store.updateWebhook(webhook("wh_none"))).toBe(false);
      expect(await store.deleteWebhook("wh_2")).toBe(true);
      expect(await store.deleteWebhook("wh_2")).toBe(false);
      const sets = await Promise.all([
        store.compareAndSetSetting("k", undefined, "a"),
        store.compareAndSetSetting("k", undefined, "b"),
      ]);
      expect(sets.filter(Boolean)).toHaveLength(1);
      const value = await store.getSetting("k");
      expect(await store.compareAndSetSetting("k", "wrong", "c")).toBe(false);
      expect(await store.compareAndSetSetting("k", value, "c")).toBe(true);
      expect(await store.getSetting("k")).toBe("c");
    });

    it("lists settings by key range in key order, and deletes one only while it holds the expected value", async () => {
      const store = await open();
      for (const key of ["m:003", "m:001", "m:002", "m;", "l:9", "m:004"])
        await store.compareAndSetSetting(key, undefined, `v-${key}`);
      expect(await store.listSettings("m:", "m:004", 10)).toEqual([
        { key: "m:001", value: "v-m:001" },
        { key: "m:002", value: "v-m:002" },
        { key: "m:003", value: "v-m:003" },
      ]);
      expect((await store.listSettings("m:", "m;", 2)).map((s) => s.key)).toEqual(["m:001", "m:002"]);
      expect(await store.listSettings("m:002", "m:002", 10)).toEqual([]);
      expect(await store.listSettings("m;", "m:", 10)).toEqual([]);
      expect(await store.deleteSetting("m:001", "stale")).toBe(false);
      expect(await store.getSetting("m:001")).toBe("v-m:001");
      expect(await store.deleteSetting("m:001", "v-m:001")).toBe(true);
      expect(await store.deleteSetting("m:001", "v-m:001")).toBe(false);
      expect(await store.getSetting("m:001")).toBeUndefined();
      expect(await store.deleteSetting("never", "x")).toBe(false);
      expect((await store.listSettings("m:", "m;", 10)).map((s) => s.key)).toEqual(["m:002", "m:003", "m:004"]);
    });

    it("keeps a webhook's format and EventBridge target, and their absence; an update clears them", async () => {
      const store = await open();
      const bus = { busName: "video-results", region: "cn-hangzhou", accountId: "1234567890123456" };
      await store.createWebhook(webhook("wh_ce", { format: "cloudevents-binary" }));
      await store.createWebhook(
        webhook("wh_eb", { format: "cloudevents-structured", eventBridge: bus, createdAtMs: T0 + 1 }),
      );
      await store.createWebhook(webhook("wh_plain", { createdAtMs: T0 + 2 }));
      expect((await store.getWebhook("wh_ce"))?.format).toBe("cloudevents-binary");
      expect((await store.getWebhook("wh_eb"))?.eventBridge).toEqual(bus);
      const plain = await store.getWebhook("wh_plain");
      expect(plain?.format).toBeUndefined();
      expect(plain?.eventBridge).toBeUndefined();
      expect(await store.updateWebhook(webhook("wh_eb", { createdAtMs: T0 + 1 }))).toBe(true);
      expect(await store.getWebhook("wh_eb")).toEqual(webhook("wh_eb", { createdAtMs: T0 + 1 }));
    });

    it("keeps a webhook's rate limit, fractions included, and its absence; an update clears it", async () => {
      const store = await open();
      await store.createWebhook(webhook("wh_slow", { rateLimitPerSecond: 0.5 }));
      await store.createWebhook(webhook("wh_fast", { rateLimitPerSecond: 10_000, createdAtMs: T0 + 1 }));
      await store.createWebhook(webhook("wh_free", { createdAtMs: T0 + 2 }));
      expect((await store.getWebhook("wh_slow"))?.rateLimitPerSecond).toBe(0.5);
      expect((await store.getWebhook("wh_fast"))?.rateLimitPerSecond).toBe(10_000);
      const free = await store.getWebhook("wh_free");
      expect(free).toEqual(webhook("wh_free", { createdAtMs: T0 + 2 }));
      // Absent, not null or 0: no limit.
      expect(free?.rateLimitPerSecond).toBeUndefined();
      expect((await store.listWebhooks()).map((w) => [w.id, w.rateLimitPerSecond])).toEqual([
        ["wh_slow", 0.5],
        ["wh_fast", 10_000],
        ["wh_free", undefined],
      ]);
      // A whole-row replace: a limit set then removed is gone, not left behind.
      expect(await store.updateWebhook(webhook("wh_free", { rateLimitPerSecond: 1 / 3, createdAtMs: T0 + 2 }))).toBe(
        true,
      );
      expect((await store.getWebhook("wh_free"))?.rateLimitPerSecond).toBe(1 / 3);
      expect(await store.updateWebhook(webhook("wh_slow", { rateLimitPerSecond: undefined }))).toBe(true);
      expect((await store.getWebhook("wh_slow"))?.rateLimitPerSecond).toBeUndefined();
    });
  });
}
