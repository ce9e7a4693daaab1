import { describe, expect, it } from "vitest";
import { viewOf } from "../../../lib/quanmiao/schema.js";
import { isTerminalStatus, looseNumber, parseTaskData } from "../../../lib/quanmiao/task.js";

// The documentation's own sample (shared/seed/GetVideoAnalysisTask.zh.md), trimmed to what matters.
const docSample = {
  header: { errorCode: "success", event: "TIMEOUT_CLOSE_ORDER", taskId: "6e223291-729b-4e84-9271-c13ada1a776b" },
  payload: {
    output: {
      videoAnalysisResult: {
        generateFinished: true,
        text: "xxx",
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        videoShotAnalysisResults: [{ endTime: 1710432000000, startTime: 0, text: "广东丽诺" }],
      },
      videoCaptionResult: {
        generateFinished: true,
        videoCaptions: [
          {
            endTime: 1736129678000,
            endTimeFormat: "00:01",
            startTime: 0,
            startTimeFormat: "2025-01-07 11:52:06",
            text: "xxxx",
          },
        ],
      },
      resultJsonFileUrl: "",
    },
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  },
  taskRunInfo: { concurrentChargeEnable: true, responseTime: 1 },
  taskStatus: "SUCCESSED",
  taskId: "3feb69ed02d9b1a17d0f1a942675d300",
  errorMessage: "Access was denied, message: No such namespace namespaces/mjp-test-default.",
};

describe("viewOf", () => {
  it("parses the documentation's sample", () => {
    const view = viewOf(parseTaskData(docSample));
    expect(view.taskStatus).toBe("SUCCESSED");
    expect(view.payload?.output?.videoAnalysisResult?.videoShotAnalysisResults?.[0]?.endTime).toBe(1710432000000);
    expect(view.payload?.output?.videoCaptionResult?.videoCaptions?.[0]?.startTimeFormat).toBe("2025-01-07 11:52:06");
  });

  it("accepts numbers and booleans sent as strings in the typed view, and leaves raw untouched", () => {
    const raw = {
      taskStatus: "SUCCESSED",
      taskRunInfo: { responseTime: "1234", concurrentChargeEnable: "true" },
      payload: {
        usage: { totalTokens: " 42 " },
        output: { videoCaptionResult: { videoCaptions: [{ startTime: "1500" }] } },
      },
    };
    const copy = structuredClone(raw);
    const task = parseTaskData(raw);
    const view = viewOf(task);
    const kept = task.raw;
    expect(view.taskRunInfo?.responseTime).toBe(1234);
    expect(view.taskRunInfo?.concurrentChargeEnable).toBe(true);
    expect(view.payload?.usage?.totalTokens).toBe(42);
    expect(view.payload?.output?.videoCaptionResult?.videoCaptions?.[0]?.startTime).toBe(1500);
    expect(kept).toBe(raw);
    expect(raw).toEqual(copy);
  });

  it("keeps unknown fields and turns a malformed field into undefined instead of failing", () => {
    const view = viewOf(
      parseTaskData({
        taskStatus: "RUNNING",
        brandNewField: { a: 1 },
        taskRunInfo: { responseTime: "00:01" },
        header: "not an object",
        payload: { output: { videoGenerateResult: { modelReduce: "qwen-plus-latest", text: 7 }, futureResult: [1] } },
      }),
    );
    expect(view.brandNewField).toEqual({ a: 1 });
    expect(view.taskRunInfo?.responseTime).toBeUndefined();
    expect(view.header).toBeUndefined();
    expect(view.payload?.output?.videoGenerateResult?.modelReduce).toBeUndefined();
    expect(view.payload?.output?.videoGenerateResult?.text).toBeUndefined();
    expect(view.payload?.output?.futureResult).toEqual([1]);
  });

  it("reads the status from the raw data", () => {
    expect(parseTaskData({ taskStatus: "RUNNING" }).status).toBe("RUNNING");
    expect(parseTaskData({ taskStatus: 3 }).status).toBeUndefined();
  });

  it("parses an empty object (every field is optional)", () => {
    expect(viewOf(parseTaskData({}))).toEqual({});
  });

  it("reads loose numbers as the API sends them: numbers or numeric text", () => {
    expect(looseNumber(4)).toBe(4);
    expect(looseNumber(" 12 ")).toBe(12);
    expect(looseNumber("1.5e2")).toBe(150);
    expect(looseNumber("twelve")).toBeUndefined();
    expect(looseNumber("")).toBeUndefined();
    expect(looseNumber(null)).toBeUndefined();
    expect(looseNumber(Number.NaN)).toBeUndefined();
  });

  it("terminal statuses use the API's spelling; SUSPENDED and unknown ones are not terminal", () => {
    expect(["SUCCESSED", "FAILED", "CANCELED"].every(isTerminalStatus)).toBe(true);
    expect(["PENDING", "RUNNING", "SUSPENDED", "SUCCEEDED", "CANCELLED", undefined].some(isTerminalStatus)).toBe(false);
  });
});
