import { describe, expect, it } from "vitest";
import { deliveryId, eventId, randomHex } from "../../lib/ids.js";

describe("ids", () => {
  it("event and delivery ids are derived, so a re-run makes the same ones", () => {
    expect(eventId("ws", "t", "video_analysis.succeeded")).toBe(eventId("ws", "t", "video_analysis.succeeded"));
    expect(eventId("ws", "t1", "x")).not.toBe(eventId("ws", "t", "1x"));
    expect(deliveryId("evt_a", "wh_b")).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  it("a progress event's id includes its part; ids without one are as they always were", () => {
    const type = "video_analysis.progress";
    expect(eventId("ws", "t", type, "videoCaptionResult")).toBe(eventId("ws", "t", type, "videoCaptionResult"));
    expect(eventId("ws", "t", type, "videoCaptionResult")).not.toBe(eventId("ws", "t", type, "videoAnalysisResult"));
    expect(eventId("ws", "t", type, "")).not.toBe(eventId("ws", "t", type));
    // Fixed: ids stored before parts existed must not change.
    expect(eventId("ws", "t", "video_analysis.succeeded")).toBe("evt_b125fb40ef83337546dc9cc4b1f9eb8a");
  });

  it("randomHex draws fresh bytes across refills of its pool", () => {
    // 2,000 span ids are 16 KB: the 4 KiB pool is refilled several times on the way.
    const ids = Array.from({ length: 2_000 }, () => randomHex(8));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(randomHex(256)).toHaveLength(512);
    expect(() => randomHex(257)).toThrow(RangeError);
  });
});
