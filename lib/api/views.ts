/**
 * The API's response schemas: what each presenter returns, as zod. The presenters are typed from
 * them (a field added to one and not the other does not compile), the OpenAPI document publishes
 * them, and a test validates real answers against the published document.
 *
 * Words, one meaning each: a *webhook* is a subscription of one endpoint URL (`wh_…`); an *event*
 * is something that happened to a task (`evt_…`); a *delivery* is one event for one endpoint, and
 * its id is the *message id* (`msg_…`) sent as the Standard Webhooks `webhook-id` header; an
 * *attempt* is one HTTP request of a delivery.
 */
import { z } from "zod";
import { TASK_STATUSES } from "../quanmiao/task.js";
import { WEBHOOK_FORMATS } from "../store/store.js";

const time = z.iso.datetime().nullable();
const text = z.string().nullable();

export const webhookIdDoc =
  "The webhook (endpoint subscription) this went to: `wh_…`, or `task:…` for a URL given with the task itself";
export const messageIdDoc =
  "The message id `msg_…`: one event for one endpoint, sent as the `webhook-id` header, the same on every attempt";

export const taskView = z.strictObject({
  workspaceId: z.string(),
  taskId: z.string(),
  state: z.enum(["active", "done"]).describe("active: still polled; done: finished, expired or stopped"),
  status: z
    .string()
    .nullable()
    .describe(`The API's taskStatus as last seen (${TASK_STATUSES.join(", ")}); null before the first poll`),
  submittedAt: time,
  registeredAt: time,
  nextPollAt: time,
  pollCount: z.number().int(),
  lastPolledAt: time,
  lastError: text,
  webhooks: z.array(z.string()).describe("This task's own endpoint URLs, signed with the default secret"),
  metadata: z.record(z.string(), z.unknown()),
  profile: text,
  videoDurationSeconds: z
    .number()
    .nullable()
    .describe(
      "How long the video is, in seconds, as hinted at registration or read from its header; null when unknown",
    ),
  runningSince: time,
  finishedAt: time,
});

export const deliveryView = z.strictObject({
  id: z.string().describe(messageIdDoc),
  eventId: z.string().describe("The event delivered: `evt_…`"),
  webhookId: z.string().describe(webhookIdDoc),
  url: z.string().describe("The endpoint URL"),
  status: z.enum(["pending", "delivered", "dead"]),
  eventType: text,
  attempts: z.number().int().describe("HTTP requests made so far"),
  createdAt: z.iso.datetime().describe("When the delivery was made: lists are newest first by it"),
  nextAttemptAt: time,
  lastAttemptAt: time,
  lastStatusCode: z.number().int().nullable(),
  lastError: text,
  lastResponse: text,
  deliveredAt: time,
});

export const deliveryWithTask = deliveryView.extend({
  task: z.strictObject({ workspaceId: z.string(), taskId: z.string() }).nullable(),
  part: z.string().optional().describe("for video_analysis.progress: which part of the result finished"),
});

export const attemptView = z.strictObject({
  at: time,
  durationMs: z.number(),
  statusCode: z.number().int().nullable(),
  failure: text.describe(
    "Set when no HTTP answer came back (timeout, connection, tls, dns, refused_target or other), or when EventBridge refused this event alone in an accepted request (entry_failed); null when one did (statusCode says which)",
  ),
  error: text,
  response: text,
});

export const deliveryDetail = deliveryView.extend({
  attemptLog: z.array(attemptView).describe("The latest attempts, oldest first"),
  event: z
    .strictObject({
      id: z.string(),
      type: z.string(),
      workspaceId: z.string(),
      taskId: z.string(),
      part: z.string().optional().describe("for video_analysis.progress: which part of the result finished"),
      createdAt: time,
    })
    .nullable(),
});

export const circuitView = z.strictObject({
  state: z.enum(["closed", "open", "probing"]),
  consecutiveFailures: z.number().int(),
  openUntil: time,
  openedAt: time,
  cooldownMs: z.number().nullable(),
});

export const webhookView = z.strictObject({
  id: z.string().describe("The webhook's id: `wh_…`"),
  url: z
    .string()
    .describe(
      "The endpoint URL; for an EventBridge target the bus, `acs:eventbridge:<region>:<account>:eventbus/<bus>`",
    ),
  format: z
    .enum(WEBHOOK_FORMATS)
    .nullable()
    .describe("How events are framed for the URL; null for an EventBridge target (PutEvents carries CloudEvents)"),
  eventBridge: z
    .strictObject({
      busName: z.string(),
      region: z.string().nullable().describe("null: the relay's own region"),
      accountId: z.string().nullable().describe("null: the relay's own account"),
    })
    .nullable()
    .describe("The EventBridge bus events are published to; null: a URL webhook"),
  events: z.array(z.string()).nullable().describe("Event types sent; null: the four terminal types"),
  workspaceId: text.describe("Only events of this workspace; null: every workspace"),
  headers: z.array(z.string()).describe("Names of the custom headers sent (never their values)"),
  rateLimitPerSecond: z.number().nullable(),
  enabled: z.boolean(),
  disabledReason: text,
  failingSince: time,
  createdAt: time,
});

export const webhookWithSecret = webhookView.extend({
  secret: z.string().describe("The signing secret `whsec_…`, shown only in this answer"),
});

export const rotatedWebhook = webhookWithSecret.extend({ previousSecretValidUntil: z.iso.datetime() });

export const last24hView = z.strictObject({
  succeeded: z.number().int(),
  failed: z.number().int(),
  lastStatus: z.union([z.number().int(), z.string()]).nullable(),
  lastAttemptAt: time,
});

export const webhookWithCircuit = webhookView.extend({ circuit: circuitView, last24h: last24hView.optional() });

export const eventView = z.strictObject({
  id: z.string().describe("The event's id: `evt_…`"),
  type: z.string(),
  createdAt: time,
  body: z.record(z.string(), z.unknown()).describe("The event as subscribers receive it"),
});

export const timingView = z.strictObject({
  detectionTargetMs: z.number().nullable(),
  learnedFrom: z
    .enum(["prior", "profile", "workspace", "relay"])
    .describe("Whose ends the schedule rests on: the task's profile, its workspace, every workspace, or none yet"),
  perVideoMinute: z
    .boolean()
    .describe("Whether run time is learned per minute of the task's video (its videoDurationSeconds is known)"),
  failuresApart: z
    .strictObject({
      share: z.number().describe("Their share of the ends, recent ones weighing more"),
      p50Ms: z.number().nullable().describe("Their median run time"),
    })
    .nullable()
    .describe(
      "Failures that keep to a fixed run time whatever the video's length, planned in run time beside the successes per minute of video; null when not",
    ),
  profile: text,
  samples: z.number().int(),
  runTimeMs: z
    .strictObject({
      p25: z.number().nullable(),
      p50: z.number().nullable(),
      p75: z.number().nullable(),
      p95: z.number().nullable(),
    })
    .nullable(),
  densePollingMs: z.array(z.strictObject({ fromMs: z.number(), toMs: z.number() })).nullable(),
  runningForMs: z.number().nullable(),
  expectedEndAt: time,
});

export const taskDetail = z.strictObject({
  task: taskView,
  timing: timingView,
  events: z.array(eventView),
  deliveries: z.array(deliveryView),
  webhookCircuits: z
    .array(z.strictObject({ url: z.string(), circuit: circuitView }))
    .describe("This task's own endpoint URLs and their circuits (shared by every task naming the URL)"),
  lastResult: z.unknown().describe("The GetVideoAnalysisTask `data` of the latest event that carries one"),
});

/** Every list answers `{items, next}`: `next` is the cursor of the following page, null on the last. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.strictObject({
    items: z.array(item),
    next: z.string().nullable().describe("Pass as the cursor to get the next page; null on the last page"),
    cursor: z.string().nullable().meta({ deprecated: true, description: "The same as `next` (its older name)" }),
  });
}

/** A list that is never paged: `next` is always null, so a client reads every list alike. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), next: z.null() });
}

export const registered = z.strictObject({ created: z.boolean(), task: taskView });

export const batchResults = z.strictObject({
  results: z.array(
    z.union([
      z.strictObject({ index: z.number().int(), workspaceId: z.string(), taskId: z.string(), created: z.boolean() }),
      z.strictObject({
        index: z.number().int(),
        workspaceId: z.string(),
        taskId: z.string(),
        error: z.strictObject({
          code: z.string(),
          message: z.string(),
          field: z.string().describe("The field refused, as `body.tasks[2].webhooks[0]`").optional(),
        }),
      }),
    ]),
  ),
});

export const submitted = z.strictObject({
  created: z.boolean(),
  taskId: z.string(),
  deduplicationId: z.string(),
  task: taskView,
});

export const testOutcome = z.strictObject({
  delivered: z.boolean().describe("Whether the endpoint answered 2xx"),
  messageId: z.string().describe("The test message's id (`msg_test_…`), sent as the `webhook-id` header"),
  statusCode: z.number().int().nullable(),
  error: text,
  response: text.describe("The first bytes of the endpoint's answer"),
  durationMs: z.number().int(),
});

export const health = z.object({ ok: z.boolean() });

/** GET /v1: where a person who opens the base URL goes next. */
export const apiIndex = z.strictObject({
  name: z.literal("quanmiao-relay"),
  openapi: z.string(),
  healthz: z.string(),
  console: z.string(),
  endpoints: z.array(z.string()),
});

export const eventTypeList = listOf(
  z.strictObject({ type: z.string(), description: z.string(), schema: z.record(z.string(), z.unknown()) }),
);

export type TaskView = z.output<typeof taskView>;
export type DeliveryView = z.output<typeof deliveryView>;
export type DeliveryDetail = z.output<typeof deliveryDetail>;
export type WebhookView = z.output<typeof webhookView>;
export type WebhookWithCircuit = z.output<typeof webhookWithCircuit>;
export type EventView = z.output<typeof eventView>;
export type TaskDetail = z.output<typeof taskDetail>;
