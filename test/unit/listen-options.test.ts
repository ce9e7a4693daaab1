import { describe, expect, it } from "vitest";
import { eventSelection, forwardTarget } from "../../lib/cli/listen-options.js";
import { TERMINAL_EVENT_TYPES } from "../../lib/events.js";

describe("listen's options", () => {
  it("takes a local --forward-to without a scheme as http://, and any other host only with one", () => {
    expect(forwardTarget("localhost:3000/hook").href).toBe("http://localhost:3000/hook");
    expect(forwardTarget("127.0.0.1:3000").href).toBe("http://127.0.0.1:3000/");
    expect(forwardTarget("[::1]:8080/h?x=1").href).toBe("http://[::1]:8080/h?x=1");
    expect(forwardTarget("3000/hook").href).toBe("http://localhost:3000/hook");
    expect(forwardTarget(":3000").href).toBe("http://localhost:3000/");
    expect(forwardTarget("https://example.com/hook").href).toBe("https://example.com/hook");
    expect(forwardTarget("http://localhost:3000/hook").href).toBe("http://localhost:3000/hook");
    for (const text of ["example.com/hook", "10.0.0.1:3000/hook", "localhost.evil.com/x", "", "ftp://localhost/"])
      expect(() => forwardTarget(text), text).toThrow(/--forward-to/);
  });

  it("forwards what a default subscription gets unless told --events or --all-events", () => {
    expect([...(eventSelection({}).types ?? [])]).toEqual(TERMINAL_EVENT_TYPES);
    expect(eventSelection({ allEvents: true }).types).toBeUndefined();
    expect([
      ...(eventSelection({ events: ["video_analysis.running, video_analysis.failed", "video_analysis.running"] })
        .types ?? []),
    ]).toEqual(["video_analysis.running", "video_analysis.failed"]);
    expect(() => eventSelection({ events: ["video_analysis.done,nope"] })).toThrow(
      '--events: "video_analysis.done", "nope" is not an event type; the types are video_analysis.succeeded,',
    );
    expect(() => eventSelection({ events: [","] })).toThrow(/--events: name at least one of/);
    expect(() => eventSelection({ events: ["video_analysis.failed"], allEvents: true })).toThrow(/not both/);
  });
});
