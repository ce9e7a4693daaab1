/** Every stored record's fields and how each is stored: the one declaration both stores read rows through. */
import { record } from "./columns.js";
import type { DeliveryRow, EventRow, TaskRow, WebhookRow, WorkspaceRow } from "./store.js";

export const TASK_FIELDS = record<TaskRow>()({
  str: ["workspaceId", "taskId", "state"],
  int: ["submittedAtMs", "registeredAtMs", "nextPollAtMs", "pollCount", "pollsInStatus", "leaseUntilMs"],
  json: ["webhookUrls", "metadata"],
  optional: {
    str: ["status", "lastError", "leaseOwner", "profile"],
    int: ["lastPolledAtMs", "terminalAtMs", "runningSinceMs", "videoDurationMs"],
    json: ["progressParts"],
  },
});

export const WORKSPACE_FIELDS = record<WorkspaceRow>()({
  str: ["workspaceId"],
  int: ["backoffUntilMs", "authFailures"],
  optional: { str: ["lastError"], int: ["asyncConcurrency", "concurrencyFetchedAtMs"] },
});

export const WEBHOOK_FIELDS = record<WebhookRow>()({
  str: ["id", "url"],
  int: ["createdAtMs"],
  bool: ["enabled"],
  json: ["secrets", "headers"],
  optional: {
    str: ["workspaceId", "disabledReason", "format"],
    int: ["failingSinceMs"],
    num: ["rateLimitPerSecond"],
    json: ["events", "eventBridge"],
  },
});

export const EVENT_FIELDS = record<EventRow>()({
  str: ["id", "type", "workspaceId", "taskId", "body"],
  int: ["createdAtMs"],
});

export const DELIVERY_FIELDS = record<DeliveryRow>()({
  str: ["id", "eventId", "webhookId", "url", "status"],
  int: ["attempts", "nextAttemptAtMs", "leaseUntilMs", "createdAtMs"],
  optional: {
    str: ["lastError", "lastResponse", "leaseOwner", "eventType"],
    int: ["lastAttemptAtMs", "lastStatusCode", "deliveredAtMs"],
    json: ["attemptLog"],
  },
});
