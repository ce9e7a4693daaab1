import { describe, expect, it } from "vitest";
import {
  cutToFit,
  eventBridgeId,
  eventHref,
  LIMITS,
  putEvent,
  requestBody,
  requestsOf,
} from "../../../lib/eventbridge/put-event.js";
import type { EventRow } from "../../../lib/store/store.js";

const event = (over: Partial<EventRow> = {}, data: Record<string, unknown> = {}): EventRow => ({
  id: "evt_0123456789abcdef0123456789abcdef",
  type: "video_analysis.succeeded",
  workspaceId: "llm-ws",
  taskId: "task-1",
  body: JSON.stringify({
    type: "video_analysis.succeeded",
    timestamp: "2026-12-06T05:00:00.000Z",
    data: { workspaceId: "llm-ws", taskId: "task-1", taskStatus: "SUCCESSED", ...data },
  }),
  createdAtMs: Date.UTC(2026, 11, 6, 5),
  ...over,
});

describe("an event as a PutEvents entry", () => {
  it("maps the message id to an EventBridge id, stably and within the id rules", () => {
    expect(eventBridgeId("msg_0123abcd")).toBe("msg-0123abcd");
    expect(eventBridgeId("msg_0123abcd")).toBe(eventBridgeId("msg_0123abcd"));
    expect(eventBridgeId("_x.y")).toBe("m-x-y");
    const long = eventBridgeId(`msg_${"a".repeat(200)}`);
    expect(long).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/);
    expect(long).not.toBe(eventBridgeId(`msg_${"a".repeat(199)}b`));
  });

  it("carries the CloudEvents attributes, the bus and the standard body's data", () => {
    const e = putEvent(event(), "msg_00ff", "my-bus");
    const json = JSON.parse(e.json);
    expect(json).toEqual({
      specversion: "1.0",
      id: "msg-00ff",
      source: "urn:quanmiao-relay:workspace:llm-ws",
      type: "video_analysis.succeeded",
      subject: "task-1",
      time: "2026-12-06T05:00:00.000Z",
      datacontenttype: "application/json",
      aliyuneventbusname: "my-bus",
      data: { workspaceId: "llm-ws", taskId: "task-1", taskStatus: "SUCCESSED" },
    });
    expect(e.bytes).toBe(Buffer.byteLength(e.json));
    expect(e.thin).toBe(false);
  });

  it("cuts a long source or subject deterministically, keeping the whole ids in data", () => {
    const ws = `llm-${"w".repeat(200)}`;
    const task = "t".repeat(600);
    const json = JSON.parse(putEvent(event({ workspaceId: ws, taskId: task }, { workspaceId: ws }), "msg_1", "b").json);
    expect(json.source.length).toBe(LIMITS.source);
    expect(json.subject.length).toBe(LIMITS.subject);
    expect(json.source).toBe(JSON.parse(putEvent(event({ workspaceId: ws, taskId: task }), "msg_2", "b").json).source);
    expect(json.data.workspaceId).toBe(ws);
    expect(cutToFit("abc", 3)).toBe("abc");
    expect(cutToFit("abcd", 12)).toBe("abcd");
    expect(cutToFit("a".repeat(20), 12)).toMatch(/^aaa~[0-9a-f]{8}$/);
  });

  it("sends an event over 64 KiB thin: ids, status and the API path of the whole event", () => {
    const big = event({}, { task: { text: "x".repeat(70 * 1024) } });
    const e = putEvent(big, "msg_2", "bus");
    expect(e.thin).toBe(true);
    expect(e.bytes).toBeLessThanOrEqual(LIMITS.eventBytes);
    expect(JSON.parse(e.json).data).toEqual({
      workspaceId: "llm-ws",
      taskId: "task-1",
      taskStatus: "SUCCESSED",
      eventId: big.id,
      type: "video_analysis.succeeded",
      thin: true,
      href: `/v1/events/${big.id}`,
    });
    expect(eventHref("evt_1")).toBe("/v1/events/evt_1");
    // Just under the limit stays whole.
    const fits = event({}, { task: { text: "x".repeat(60 * 1024) } });
    expect(putEvent(fits, "msg_3", "bus").thin).toBe(false);
  });
});

describe("splitting entries into PutEvents requests", () => {
  const sized = (bytes: number[]) => bytes.map((b, i) => ({ i, bytes: b }));
  const shape = (requests: Array<Array<{ i: number }>>) => requests.map((r) => r.map((e) => e.i));

  it("puts at most 16 events in a request", () => {
    const requests = requestsOf(sized(Array(40).fill(100)));
    expect(requests.map((r) => r.length)).toEqual([16, 16, 8]);
    expect(requestsOf([])).toEqual([]);
  });

  it("keeps each request's JSON array within 256 KiB, in order", () => {
    const k = 60 * 1024;
    // Four of 60 KiB and their commas and brackets fit (245,765 bytes); a fifth would not.
    expect(shape(requestsOf(sized([k, k, k, k, k, 10])))).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
    // Exactly at the limit: 2 brackets + 1 comma + the two entries.
    const half = (LIMITS.requestBytes - 3) / 2;
    expect(shape(requestsOf(sized([Math.floor(half), Math.ceil(half)])))).toEqual([[0, 1]]);
    expect(shape(requestsOf(sized([Math.floor(half), Math.ceil(half) + 1])))).toEqual([[0], [1]]);
  });

  it("builds the body as the JSON array of the entries", () => {
    const a = putEvent(event(), "msg_a", "bus");
    const b = putEvent(event({ taskId: "task-2" }), "msg_b", "bus");
    const body = requestBody([a, b]);
    expect(JSON.parse(body).map((e: { id: string }) => e.id)).toEqual(["msg-a", "msg-b"]);
    expect(Buffer.byteLength(body)).toBe(a.bytes + b.bytes + 3);
  });
});
