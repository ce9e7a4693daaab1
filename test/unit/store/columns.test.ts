import { describe, expect, it } from "vitest";
import { snakeCase } from "../../../lib/store/columns.js";
import * as sqlite from "../../../lib/store/sqlite/codecs.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import type { WebhookRow } from "../../../lib/store/store.js";
import * as tablestore from "../../../lib/store/tablestore/codecs.js";
import { Int64 } from "../../../lib/store/tablestore/wire/values.js";
import { webhookRow } from "../../support/rows.js";

const names = (cols: ReadonlyArray<{ name: string }>) => cols.map((c) => c.name).sort();

describe("each record's columns, declared once", () => {
  it("name SQLite's columns after the fields: exactly the columns each table has", () => {
    const store = new SqliteStore(":memory:");
    const tableColumns = (table: string) =>
      (store.db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name).sort();
    expect(names(sqlite.TASK)).toEqual(tableColumns("tasks"));
    expect(names(sqlite.WORKSPACE)).toEqual(tableColumns("workspaces"));
    expect(names(sqlite.WEBHOOK)).toEqual(tableColumns("webhooks"));
    expect(names(sqlite.EVENT)).toEqual(tableColumns("events"));
    expect(names(sqlite.DELIVERY)).toEqual(tableColumns("deliveries"));
    store.db.close();
  });

  it("name Tablestore's columns as its tables were created: short keys, times without _ms", () => {
    expect(names(tablestore.TASK)).toEqual(
      [
        "ws",
        "task",
        "state",
        "status",
        "submitted_at",
        "registered_at",
        "next_poll_at",
        "poll_count",
        "polls_in_status",
        "last_polled_at",
        "last_error",
        "lease_owner",
        "lease_until",
        "webhook_urls",
        "metadata",
        "terminal_at",
        "running_since",
        "profile",
        "video_duration",
        "progress_parts",
      ].sort(),
    );
    expect(names(tablestore.EVENT)).toEqual(["created_at", "id", "task", "type", "ws"]);
    expect(names(tablestore.WEBHOOK)).toContain("workspace_id");
    expect(names(tablestore.DELIVERY)).toContain("next_attempt_at");
  });

  it("round-trips a row through a store's codec", () => {
    const webhook: WebhookRow = {
      id: "wh_1",
      url: "https://example.com/hook",
      secrets: [{ secret: "whsec_x" }],
      events: undefined,
      workspaceId: "llm-a",
      headers: { "x-a": "1" },
      enabled: false,
      disabledReason: "by its owner",
      failingSinceMs: undefined,
      rateLimitPerSecond: 0.5,
      format: "cloudevents-binary",
      eventBridge: { busName: "bus-1", region: "cn-hangzhou" },
      createdAtMs: 5,
    };
    const row = Object.fromEntries(sqlite.WEBHOOK.map((c, i) => [c.name, sqlite.values(sqlite.WEBHOOK, webhook)[i]]));
    expect(sqlite.toWebhook(row)).toEqual(webhook);
    expect(snakeCase("nextPollAtMs")).toBe("next_poll_at_ms");
  });

  it("keeps a number's fraction in Tablestore (a double), where an int column would truncate it", () => {
    const attrs = Object.fromEntries(tablestore.attributesOf(tablestore.WEBHOOK, webhookWithRate(0.5), ["id"]));
    expect(attrs.rate_limit_per_second).toBe(0.5);
    expect(attrs.created_at).toBeInstanceOf(Int64);
    const back = tablestore.read(tablestore.WEBHOOK, { ...attrs, id: "wh_1" } as tablestore.Attrs);
    expect(back.rateLimitPerSecond).toBe(0.5);
    const unset = Object.fromEntries(tablestore.attributesOf(tablestore.WEBHOOK, webhookWithRate(undefined), ["id"]));
    expect(unset.rate_limit_per_second).toBeUndefined();
  });
});

function webhookWithRate(rateLimitPerSecond: number | undefined): WebhookRow {
  return webhookRow("wh_1", { url: "https://example.com/hook", rateLimitPerSecond, createdAtMs: 5 });
}
