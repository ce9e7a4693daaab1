import { describe, expect, it } from "vitest";
import { finishedParts, newParts, PART_PATTERN } from "../../lib/progress-parts.js";

const answer = (output: Record<string, unknown>) => ({ taskStatus: "RUNNING", payload: { output } });

describe("finished parts of an answer", () => {
  it("names each finished sub-result, and carries it as the API sent it", () => {
    const caption = { generateFinished: true, videoCaptions: [{ text: "a", startTime: "0" }], extra: 1 };
    const parts = finishedParts(
      answer({
        videoCaptionResult: caption,
        videoAnalysisResult: { generateFinished: false, text: "partial" },
        videoTitleGenerateResult: { generateFinished: "true", text: "标题" },
        videoMindMappingGenerateResult: { generateFinished: "false" },
        resultJsonFileUrl: "https://x/y.json",
        videoRoleRecognitionResult: { generateFinished: true, videoRoles: [] },
      }),
    );
    expect(parts).toEqual([
      { part: "videoCaptionResult", result: caption },
      { part: "videoTitleGenerateResult", result: { generateFinished: "true", text: "标题" } },
    ]);
    // The same object, not a copy: a subscriber gets exactly what the API said.
    expect(parts[0]?.result).toBe(caption);
  });

  it("makes each item of videoGenerateResults its own part, by its index or else its place", () => {
    const parts = finishedParts(
      answer({
        videoGenerateResult: { generateFinished: true, index: 1 },
        videoGenerateResults: [
          { generateFinished: true, index: 2, text: "b" },
          { generateFinished: false, index: 1 },
          { generateFinished: true, text: "no index" },
          { generateFinished: true, index: "3", text: "text index" },
          { generateFinished: true, index: 2, text: "a repeat" },
          "not an object",
          { generateFinished: true, index: 0, text: "bad index" },
        ],
      }),
    );
    expect(parts.map((p) => [p.part, p.result.text])).toEqual([
      ["videoGenerateResult", undefined],
      ["videoGenerateResults[2]", "b"],
      ["videoGenerateResults[3]", "no index"],
      ["videoGenerateResults[7]", "bad index"],
    ]);
    expect(parts.every((p) => PART_PATTERN.test(p.part))).toBe(true);
  });

  it("finds none in an answer without an output, or with one of the wrong shape", () => {
    expect(finishedParts(undefined)).toEqual([]);
    expect(finishedParts({ taskStatus: "RUNNING" })).toEqual([]);
    expect(finishedParts({ payload: "x" })).toEqual([]);
    expect(finishedParts({ payload: { output: [] } })).toEqual([]);
    expect(finishedParts(answer({ videoGenerateResults: { generateFinished: true } }))).toEqual([]);
    expect(finishedParts(answer({ videoCaptionResult: [{ generateFinished: true }] }))).toEqual([]);
  });
});

describe("new parts", () => {
  const part = (name: string) => ({ part: name, result: { generateFinished: true } });

  it("keeps only parts not reported before, and the grown list of names", () => {
    const now = [part("videoCaptionResult"), part("videoAnalysisResult")];
    expect(newParts(now, undefined)).toEqual({ fresh: now, names: ["videoCaptionResult", "videoAnalysisResult"] });
    expect(newParts(now, ["videoCaptionResult"])).toEqual({
      fresh: [now[1]],
      names: ["videoCaptionResult", "videoAnalysisResult"],
    });
  });

  it("says nothing changed when every finished part was reported, so the row is not rewritten", () => {
    expect(newParts([part("videoCaptionResult")], ["videoCaptionResult", "videoAnalysisResult"])).toEqual({
      fresh: [],
      names: undefined,
    });
    expect(newParts([], undefined)).toEqual({ fresh: [], names: undefined });
  });
});
