/**
 * The API's request schemas. They validate every body and query, and the OpenAPI document is
 * generated from them, so the two cannot drift apart.
 */
import { z } from "zod";
import { EVENT_TYPES } from "../events.js";
import { TASK_STATUSES } from "../quanmiao/task.js";
import { WEBHOOK_FORMATS } from "../store/store.js";
import { MAX_VIDEO_DURATION_SECONDS } from "../tasks.js";
import { MAX_BUS_NAME_LENGTH } from "../webhook-targets.js";
import { MAX_RATE_LIMIT_PER_SECOND, MIN_RATE_LIMIT_PER_SECOND } from "../webhooks.js";

const id = z.string().min(1).max(256);
const url = z.string().min(1).max(2048);
const metadata = z.record(z.string(), z.unknown());
const headers = z.record(z.string(), z.string());

/**
 * What a video duration hint must be, for the document only: any value passes the schema and
 * tasks.ts checks it, so a bad one is refused alike from every route, item and the CLI (422, the
 * field named), as rate limits are.
 */
const videoDurationSeconds = z
  .custom<number>()
  .meta({
    type: "number",
    exclusiveMinimum: 0,
    exclusiveMaximum: MAX_VIDEO_DURATION_SECONDS,
    description:
      "How long the video is, in seconds (a fraction allowed, under 24 h): the relay learns run times as a function of it. Kept from the task's first registration.",
  })
  .optional();

export const registerTaskBody = z.strictObject({
  workspaceId: id,
  taskId: id,
  webhooks: z.array(url).max(10).optional(),
  metadata: metadata.optional(),
  submittedAtMs: z.number().int().nonnegative().optional(),
  /** The kind of work (e.g. its generateOptions and models): run times are learned per profile. */
  profile: z.string().min(1).max(200).optional(),
  videoDurationSeconds,
});

export const registerTasksBody = z.union([
  registerTaskBody,
  z.strictObject({ tasks: z.array(registerTaskBody).min(1).max(1000) }),
]);

export const submitTaskBody = z.strictObject({
  workspaceId: id,
  /** SubmitVideoAnalysisTask's fields (videoUrl, generateOptions, …), passed through. */
  request: z.record(z.string(), z.unknown()),
  deduplicationId: id.optional(),
  webhooks: z.array(url).max(10).optional(),
  metadata: metadata.optional(),
  /** The relay's hint, not sent to the API; without it the relay may read the video's header. */
  videoDurationSeconds,
});

const eventType = z.enum(EVENT_TYPES);

/**
 * What a rate limit must be, for the document only: the schemas below let any value through and
 * webhooks.ts checks it, so a bad one is refused alike from the API, the CLI and the library (422,
 * naming the field), whatever was wrong with it.
 */
const rateLimitDoc = (type: "number" | ["number", "null"]) => ({
  type,
  minimum: MIN_RATE_LIMIT_PER_SECOND,
  maximum: MAX_RATE_LIMIT_PER_SECOND,
  description: `Requests per second this endpoint accepts; a fraction is slower than one a second (0.5: one every 2 s). Absent: no limit beyond the per-endpoint concurrency.${type === "number" ? "" : " null removes the limit."}`,
});

/**
 * A format and a bus, for the document only, as rate limits are: webhook-targets.ts checks them, so
 * a bad one is refused alike from the API and the CLI (422, naming the field).
 */
const formatDoc = (nullable: boolean) => ({
  type: nullable ? ["string", "null"] : "string",
  enum: nullable ? [...WEBHOOK_FORMATS, null] : [...WEBHOOK_FORMATS],
  description: `How a URL webhook's events are framed: \`standard\` (Standard Webhooks JSON, the default), \`cloudevents-structured\` (\`application/cloudevents+json\`) or \`cloudevents-binary\` (the data as the body, the attributes as \`ce-*\` headers); signed alike. Not for an EventBridge target.${nullable ? " null: back to standard." : ""}`,
});

const eventBridgeDoc = {
  type: "object",
  additionalProperties: false,
  required: ["busName"],
  properties: {
    busName: {
      type: "string",
      maxLength: MAX_BUS_NAME_LENGTH,
      pattern: "^[A-Za-z0-9][A-Za-z0-9-]*$",
      description: "A custom event bus (not `default`, which is the cloud services' own; not `eventbridge-reserved-…`)",
    },
    region: { type: "string", description: "e.g. cn-hangzhou; absent: the relay's own (FC_REGION)" },
    accountId: { type: "string", pattern: "^[0-9]{1,20}$", description: "absent: the relay's own (FC_ACCOUNT_ID)" },
  },
  description:
    "Publish to this Alibaba Cloud EventBridge bus (PutEvents, CloudEvents) instead of POSTing to a URL: give `url` or `eventBridge`, not both. No custom headers and no format.",
};

export const createWebhookBody = z
  .strictObject({
    url: url.optional(),
    format: z.custom<string>().meta(formatDoc(false)).optional(),
    eventBridge: z.custom<{ busName: string; region?: string; accountId?: string }>().meta(eventBridgeDoc).optional(),
    events: z.array(eventType).min(1).optional(),
    workspaceId: id.optional(),
    headers: headers.optional(),
    rateLimitPerSecond: z.custom<number>().meta(rateLimitDoc("number")).optional(),
  })
  .meta({ oneOf: [{ required: ["url"] }, { required: ["eventBridge"] }] });

export const patchWebhookBody = z
  .strictObject({
    url: url.optional(),
    format: z.custom<string | null>().meta(formatDoc(true)).optional(),
    eventBridge: z.custom<{ busName: string; region?: string; accountId?: string }>().meta(eventBridgeDoc).optional(),
    events: z.array(eventType).min(1).nullable().optional(),
    workspaceId: id.nullable().optional(),
    headers: headers.optional(),
    rateLimitPerSecond: z
      .custom<number | null>()
      .meta(rateLimitDoc(["number", "null"]))
      .optional(),
    enabled: z.boolean().optional(),
  })
  .meta({ not: { required: ["url", "eventBridge"] } });

/**
 * A query's whole number, written in decimal digits: `z.coerce` took `limit=` for 0, `0x10` for 16,
 * `1e2` for 100 and ` 5` for 5, none of which a client means.
 */
export const decimal = (bounds: { min: number; max: number }) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number in decimal digits")
    .transform(Number)
    .pipe(z.number().int().min(bounds.min).max(bounds.max));

const limit = decimal({ min: 1, max: 1000 }).optional();
const cursor = z.string().min(1).max(2048).optional();

export const listTasksQuery = z.strictObject({
  status: z.enum(TASK_STATUSES).describe("The API's taskStatus as last seen").optional(),
  state: z.enum(["active", "done"]).describe("active: still polled; done: finished").optional(),
  workspaceId: id.optional(),
  limit,
  cursor,
});

/** An ISO time or epoch milliseconds, as epoch milliseconds. */
const time = z.union([
  decimal({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);

export const listDeliveriesQuery = z.strictObject({
  /** `failed`: the dead and the retrying after a failed attempt, what a person means by failures. */
  status: z.enum(["pending", "delivered", "dead", "failed"]).optional(),
  webhookId: id.describe("Only deliveries to this webhook (`wh_…`)").optional(),
  eventId: id.describe("Only deliveries of this event (`evt_…`)").optional(),
  eventType: eventType.optional(),
  /** Created at or after this time. */
  since: time.optional(),
  /** `task`: each item names its event's task (one event read per distinct event). */
  expand: z.literal("task").optional(),
  limit,
  cursor,
});

export const listEventsQuery = z.strictObject({
  since: time.optional(),
  /** `newest` (the default) lists newest first; `oldest` follows creation order, as `listen` does. */
  order: z.enum(["newest", "oldest"]).optional(),
  cursor,
  /** The cursor in creation order: the same as `order=oldest&cursor=…` (what `listen` sent before `order`). */
  after: cursor,
  limit,
});

/** `last24h`: each webhook with its last 24 hours of attempts (a read of its latest deliveries). */
export const webhooksQuery = z.strictObject({ expand: z.literal("last24h").optional() });

export const emptyQuery = z.strictObject({});
