/**
 * Sample events, for `quanmiao-relay trigger`: a body of the requested type, shaped as the relay
 * builds real ones (events.ts) and valid against the published event schema, about a task that
 * does not exist. Each has a new task id, so each trigger is a new event (ids are per task and type).
 */

import { InputError } from "./errors.js";
import { buildEvent, EVENT_TYPES, type EventType, isEventType } from "./events.js";
import type { FinishedPart } from "./progress-parts.js";
import type { JsonObject } from "./quanmiao/task.js";
import type { EventRow } from "./store/store.js";

export const SAMPLE_WORKSPACE = "llm-sample";

/** The type named on the command line, or an error that lists the types there are. */
export function checkEventType(type: string, field?: string): EventType {
  if (isEventType(type)) return type;
  throw new InputError(`"${type}" is not an event type; the types are ${EVENT_TYPES.join(", ")}`, { field });
}

function sampleAnswer(
  type: EventType,
  taskId: string,
): { raw?: JsonObject; taskStatus: string | null; reason?: JsonObject; progress?: FinishedPart } {
  switch (type) {
    case "video_analysis.succeeded":
      return {
        taskStatus: "SUCCESSED",
        raw: {
          taskId,
          taskStatus: "SUCCESSED",
          payload: {
            output: {
              videoAnalysisResult: { generateFinished: true, text: "A sample result from `quanmiao-relay trigger`." },
            },
            usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120 },
          },
        },
      };
    case "video_analysis.failed":
      return { taskStatus: "FAILED", raw: { taskId, taskStatus: "FAILED", errorMessage: "a sample failure" } };
    case "video_analysis.canceled":
      return { taskStatus: "CANCELED", raw: { taskId, taskStatus: "CANCELED" } };
    case "video_analysis.running":
      return { taskStatus: "RUNNING", raw: { taskId, taskStatus: "RUNNING" } };
    case "video_analysis.progress":
      return {
        taskStatus: "RUNNING",
        progress: {
          part: "videoCaptionResult",
          result: {
            generateFinished: true,
            videoCaptions: [{ startTime: 0, endTime: 3500, text: "A sample caption from `quanmiao-relay trigger`." }],
          },
        },
      };
    case "video_analysis.expired":
      return {
        taskStatus: "RUNNING",
        reason: { code: "Expired", message: "a sample: the task did not end within RELAY_TASK_MAX_AGE" },
      };
  }
}

/** A sample event of `type` at `nowMs`, for a made-up task `sample-<hex>` in `workspaceId`. */
export function sampleEvent(type: EventType, nowMs: number, hex: string, workspaceId = SAMPLE_WORKSPACE): EventRow {
  const taskId = `sample-${hex}`;
  const answer = sampleAnswer(type, taskId);
  return buildEvent({
    type,
    nowMs,
    task: { workspaceId, taskId, status: answer.taskStatus ?? undefined, metadata: { sample: true } },
    raw: answer.raw,
    taskStatus: answer.taskStatus ?? undefined,
    reason: answer.reason,
    progress: answer.progress,
  });
}
