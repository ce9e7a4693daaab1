import { describe, expect, it } from "vitest";
import { taskData } from "../../../dev/quanmiao-simulator/results.js";
import type { SimTask } from "../../../dev/quanmiao-simulator/workspace.js";
import { finishedParts } from "../../../lib/progress-parts.js";

const RUN_MS = 100_000;
const task = (taskId: string, request: Record<string, string> = {}): SimTask => ({
  taskId,
  workspaceId: "ws",
  submittedAtMs: 0,
  runMs: RUN_MS,
  outcome: "SUCCESSED",
  request,
  startedAtMs: 0,
  endsAtMs: RUN_MS,
});
const partsAt = (t: SimTask, nowMs: number) => finishedParts(taskData(t, "RUNNING", nowMs)).map((p) => p.part);

describe("the simulator's running answers", () => {
  it("finish the result's parts one by one while the task runs, the same way every time", () => {
    const t = task("t-progress");
    const final = finishedParts(taskData(t, "SUCCESSED", RUN_MS));
    const seen: string[][] = [];
    for (let ms = 0; ms < RUN_MS; ms += 1_000) seen.push(partsAt(t, ms));
    expect(seen[0]).toEqual([]);
    // Each poll finds at least what the one before found, and the parts finish at different times.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toEqual(expect.arrayContaining(seen[i - 1] as string[]));
    expect(new Set(seen.map((s) => s.length)).size).toBeGreaterThan(3);
    // All finished before the end, with what the final answer carries.
    expect(seen.at(-1)?.sort()).toEqual(final.map((p) => p.part).sort());
    const last = finishedParts(taskData(t, "RUNNING", RUN_MS - 1));
    for (const p of last) expect(p.result).toEqual(final.find((f) => f.part === p.part)?.result);
    expect(partsAt(t, 42_000)).toEqual(partsAt(task("t-progress"), 42_000));
  });

  it("shows the parts not yet finished as unfinished, and only the parts the request asked for", () => {
    const t = task("t-title", { generateOptions: JSON.stringify(["videoTitleGenerate"]) });
    const output = (taskData(t, "RUNNING", 1) as { payload: { output: Record<string, { generateFinished: boolean }> } })
      .payload.output;
    expect(Object.keys(output).sort()).toEqual([
      "videoAnalysisResult",
      "videoCaptionResult",
      "videoGenerateResult",
      "videoTitleGenerateResult",
    ]);
    for (const part of Object.values(output)) expect(part.generateFinished).toBe(false);
  });
});
