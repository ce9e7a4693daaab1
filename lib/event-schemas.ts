/**
 * What subscribers receive, as zod definitions: one per event type (and the test event). The event
 * builder (events.ts) is typed by them, the API publishes them as JSON Schema (`GET /v1/event-types`
 * and the OpenAPI document's `webhooks`), and the tests check real deliveries against that JSON
 * Schema. `data.task` is the API's `data` object verbatim: its schema is the loose one the relay
 * parses answers with, so fields Alibaba adds later pass, and numbers sent as strings are allowed.
 */
import { z } from "zod";
import type { EventType } from "./events.js";
import { PART_PATTERN } from "./progress-parts.js";
import { taskDataSchema } from "./quanmiao/schema.js";

const metadata = z.record(z.string(), z.unknown()).describe("the metadata given when the task was registered");
const reason = z
  .object({
    code: z.string().describe("Expired, or the API's code (e.g. DataNotExists)"),
    message: z.string(),
    requestId: z.string().nullable().optional().describe("the API request that said so, when one did"),
  })
  .describe("why the relay ended the task itself");
const task = taskDataSchema.describe("the GetVideoAnalysisTask `data` object, exactly as the API returned it");

const ids = {
  workspaceId: z.string().describe("the Bailian workspace (llm-…)"),
  taskId: z.string(),
  metadata,
};

function envelope<T extends string, D extends z.ZodRawShape>(type: T, description: string, data: D) {
  return z
    .object({
      type: z.literal(type),
      timestamp: z.iso.datetime().describe("when the relay created the event (the same on every attempt)"),
      data: z.object(data),
    })
    .describe(description);
}

export const EVENT_SCHEMAS = {
  "video_analysis.succeeded": envelope("video_analysis.succeeded", "A task ended with taskStatus SUCCESSED.", {
    ...ids,
    taskStatus: z.literal("SUCCESSED"),
    task,
  }),
  "video_analysis.failed": envelope(
    "video_analysis.failed",
    "A task ended with taskStatus FAILED; or the API says it does not exist (then `reason` says so and there is no `task`).",
    { ...ids, taskStatus: z.string().nullable(), task: task.optional(), reason: reason.optional() },
  ),
  "video_analysis.canceled": envelope("video_analysis.canceled", "A task ended with taskStatus CANCELED.", {
    ...ids,
    taskStatus: z.literal("CANCELED"),
    task,
  }),
  "video_analysis.expired": envelope(
    "video_analysis.expired",
    "A task did not end within RELAY_TASK_MAX_AGE of its submission; the relay stopped polling it.",
    { ...ids, taskStatus: z.string().nullable().describe("the last status seen, if any"), reason },
  ),
  "video_analysis.running": envelope(
    "video_analysis.running",
    "A task was first seen RUNNING (opt-in: only webhooks that list this type receive it).",
    { ...ids, taskStatus: z.literal("RUNNING"), task },
  ),
  "video_analysis.progress": envelope(
    "video_analysis.progress",
    "A sub-result of a RUNNING task's payload.output was first seen finished (generateFinished true); one event per task and part, none for parts first seen finished in the task's final answer (its terminal event carries them). Opt-in: only webhooks that list this type receive it.",
    {
      ...ids,
      taskStatus: z.literal("RUNNING"),
      part: z
        .string()
        .regex(PART_PATTERN)
        .describe(
          "which sub-result: videoAnalysisResult, videoCaptionResult, videoGenerateResult, videoMindMappingGenerateResult, videoTitleGenerateResult, or videoGenerateResults[n] (one per item of the multi-task list, by its 1-based index)",
        ),
      result: z
        .looseObject({ generateFinished: z.union([z.literal(true), z.literal("true")]) })
        .describe(
          "the sub-result exactly as the API returned it (payload.output[part], or that item of videoGenerateResults)",
        ),
    },
  ),
} satisfies Record<EventType, z.ZodType>;

/** Sent by `POST /v1/webhooks/{id}/test`, signed like every delivery. */
export const TEST_EVENT_SCHEMA = envelope("webhook.test", "A test event, sent on request to check an endpoint.", {
  webhookId: z.string().describe("The webhook (endpoint subscription, `wh_…`) tested"),
});

export type EventBody = z.input<(typeof EVENT_SCHEMAS)[EventType]>;

/** As JSON Schema (draft 2020-12): what a receiver accepts, so `io: input` (numbers as strings, extra fields). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

export interface EventTypeInfo {
  readonly type: string;
  readonly description: string;
  readonly schema: Record<string, unknown>;
}

let cached: EventTypeInfo[] | undefined;

/** Every event type a subscriber can receive, with its JSON Schema; computed once. */
export function eventTypes(): readonly EventTypeInfo[] {
  cached ??= [...Object.values(EVENT_SCHEMAS), TEST_EVENT_SCHEMA].map((schema) => {
    const json = jsonSchemaOf(schema);
    const type = (schema.shape.type as z.ZodLiteral<string>).value;
    return { type, description: schema.description ?? "", schema: json };
  });
  return cached;
}
