import { describe, expect, it } from "vitest";
import { EVENT_SCHEMAS, eventTypes } from "../../lib/event-schemas.js";
import { buildEvent, EVENT_TYPES } from "../../lib/events.js";
import { finishedParts } from "../../lib/progress-parts.js";
import type { TaskRow } from "../../lib/store/store.js";
import { eventSchemaErrors } from "../support/event-schemas.js";

const task = {
  workspaceId: "llm-a",
  taskId: "t-1",
  status: "RUNNING",
  metadata: { orderId: 42 },
} as unknown as TaskRow;

// A `data` object as the API sends it: numbers sometimes as strings, fields the docs do not list.
const raw = (taskStatus: string) => ({
  taskId: "t-1",
  taskStatus,
  taskRunInfo: { responseTime: "183000", concurrentChargeEnable: true },
  payload: {
    output: { videoTitleGenerateResult: { text: "A title", generateFinished: true } },
    usage: { totalTokens: 10 },
  },
  fieldAddedLater: { anything: [1, "2"] },
});

// A running task's answer with a caption and one item of a multi-task list finished.
const progressAnswer = {
  taskId: "t-1",
  taskStatus: "RUNNING",
  payload: {
    output: {
      videoCaptionResult: { generateFinished: true, videoCaptions: [{ startTime: "0", endTime: 3500, text: "hi" }] },
      videoGenerateResults: [{ generateFinished: "true", index: "2", text: "two", usage: { totalTokens: "9" } }],
      videoAnalysisResult: { generateFinished: false },
    },
  },
};

describe("event schemas", () => {
  it("has one per event type, plus the test event", () => {
    expect(Object.keys(EVENT_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort());
    expect(eventTypes().map((t) => t.type)).toEqual([...EVENT_TYPES, "webhook.test"]);
    for (const t of eventTypes()) expect(t.description.length).toBeGreaterThan(10);
  });

  it("accepts every event the builder makes", () => {
    const nowMs = Date.parse("2026-12-02T12:00:00Z");
    const bodies = [
      buildEvent({ type: "video_analysis.succeeded", task, nowMs, raw: raw("SUCCESSED"), taskStatus: "SUCCESSED" }),
      buildEvent({ type: "video_analysis.failed", task, nowMs, raw: raw("FAILED"), taskStatus: "FAILED" }),
      buildEvent({
        type: "video_analysis.failed",
        task,
        nowMs,
        reason: { code: "DataNotExists", message: "no such task", requestId: null },
      }),
      buildEvent({ type: "video_analysis.canceled", task, nowMs, raw: raw("CANCELED"), taskStatus: "CANCELED" }),
      buildEvent({
        type: "video_analysis.expired",
        task,
        nowMs,
        reason: { code: "Expired", message: "not within 26h" },
      }),
      buildEvent({ type: "video_analysis.running", task, nowMs, raw: raw("RUNNING"), taskStatus: "RUNNING" }),
      ...finishedParts(progressAnswer).map((progress) =>
        buildEvent({ type: "video_analysis.progress", task, nowMs, progress, taskStatus: "RUNNING" }),
      ),
    ].map((e) => JSON.parse(e.body));
    for (const body of bodies) expect(eventSchemaErrors(body), body.type).toBeUndefined();
  });

  it("refuses what a subscriber must not be sent", () => {
    const ok = JSON.parse(
      buildEvent({ type: "video_analysis.succeeded", task, nowMs: 0, raw: raw("SUCCESSED"), taskStatus: "SUCCESSED" })
        .body,
    );
    expect(eventSchemaErrors({ ...ok, data: { ...ok.data, taskStatus: "FAILED" } })).toMatch(/taskStatus/);
    expect(eventSchemaErrors({ ...ok, data: { ...ok.data, task: undefined } })).toMatch(/task/);
    expect(eventSchemaErrors({ ...ok, timestamp: "yesterday" })).toMatch(/timestamp/);
    expect(eventSchemaErrors({ ...ok, type: "video_analysis.exploded" })).toMatch(/no published schema/);
  });

  it("describes a progress event by its part, and refuses one that names no part or an unfinished result", () => {
    const [progress] = finishedParts(progressAnswer);
    const body = JSON.parse(
      buildEvent({ type: "video_analysis.progress", task, nowMs: 0, progress, taskStatus: "RUNNING" }).body,
    );
    expect(body.data).toMatchObject({ part: "videoCaptionResult", result: { generateFinished: true } });
    expect(body.data.task).toBeUndefined();
    expect(eventSchemaErrors({ ...body, data: { ...body.data, part: "videoSomethingElse" } })).toMatch(/part/);
    expect(eventSchemaErrors({ ...body, data: { ...body.data, part: undefined } })).toMatch(/part/);
    expect(eventSchemaErrors({ ...body, data: { ...body.data, result: { generateFinished: false } } })).toMatch(
      /result/,
    );
  });
});
