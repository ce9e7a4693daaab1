/** Stored rows built whole for tests that write or encode them directly: every field set, `over` wins. */
import type { WebhookRow } from "../../lib/store/store.js";

export const webhookRow = (id: string, over: Partial<WebhookRow> = {}): WebhookRow => ({
  id,
  url: `https://example.com/${id}`,
  secrets: [],
  events: undefined,
  workspaceId: undefined,
  headers: {},
  enabled: true,
  disabledReason: undefined,
  failingSinceMs: undefined,
  rateLimitPerSecond: undefined,
  format: undefined,
  eventBridge: undefined,
  createdAtMs: 0,
  ...over,
});
