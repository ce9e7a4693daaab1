import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../lib/events.js";
import { eventId } from "../../lib/ids.js";
import { checkEventType, SAMPLE_WORKSPACE, sampleEvent } from "../../lib/sample-events.js";
import { eventSchemaErrors } from "../support/event-schemas.js";

describe("sample events (trigger)", () => {
  it("builds, for every type, a body that its published schema accepts, about a made-up task", () => {
    for (const type of EVENT_TYPES) {
      const event = sampleEvent(type, Date.UTC(2026, 11, 6), "00ff");
      const body = JSON.parse(event.body);
      expect(eventSchemaErrors(body), type).toBeUndefined();
      expect(body).toMatchObject({ type, data: { workspaceId: SAMPLE_WORKSPACE, taskId: "sample-00ff" } });
      expect(body.data.metadata).toEqual({ sample: true });
      expect(event.id).toBe(eventId(SAMPLE_WORKSPACE, "sample-00ff", type, body.data.part));
    }
    expect(sampleEvent("video_analysis.failed", 0, "01", "llm-mine").workspaceId).toBe("llm-mine");
  });

  it("refuses an unknown type, listing the ones there are", () => {
    expect(() => checkEventType("video_analysis.done")).toThrow(
      '"video_analysis.done" is not an event type; the types are video_analysis.succeeded, video_analysis.failed, video_analysis.canceled, video_analysis.expired, video_analysis.running, video_analysis.progress',
    );
  });
});
