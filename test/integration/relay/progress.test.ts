import { describe, expect, it } from "vitest";
import { finishedParts } from "../../../lib/progress-parts.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { eventSchemaErrors } from "../../support/event-schemas.js";
import { relayHarness, type StoreKind } from "../../support/relay.js";

const WS = "llm-progress";
const PROGRESS = "video_analysis.progress";
const RUN_MS = 10 * 60_000;

async function progressHarness(store: StoreKind) {
  const h = await relayHarness({ store });
  const progress = await h.subscriber({ request: { events: [PROGRESS, "video_analysis.succeeded"] } });
  const terminal = await h.subscriber();
  const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: RUN_MS });
  await h.register({ workspaceId: WS, taskId: task.taskId });
  const startMs = h.clock.now();
  const row = async () => (await h.store.getTask(WS, task.taskId)) as TaskRow;
  /** What the API would say now: the parts finished so far. */
  const finishedNow = () => finishedParts(h.sim.taskData(WS, task.taskId)).map((p) => p.part);
  /** One run at `atMs` of the task's run time, or when the task is next due if that is later. */
  const pollAt = async (atMs: number) => {
    h.clock.set(Math.max(startMs + atMs, (await row()).nextPollAtMs));
    return h.tick();
  };
  const parts = (received: typeof progress.received) =>
    received
      .filter((r) => r.verified?.type === PROGRESS)
      .map((r) => (r.verified?.data as { part?: string } | undefined)?.part ?? "?")
      .sort();
  return { ...h, progress, terminal, task, row, finishedNow, pollAt, parts, startMs };
}

describe.each(["sqlite", "tablestore"] as const)("progress events on %s", (store) => {
  it("sends each part newly finished while running once, to its subscriber only; none for parts first seen at the end", async () => {
    const h = await progressHarness(store);
    await h.pollAt(0);
    expect((await h.row()).status).toBe("RUNNING");
    expect(h.finishedNow()).toEqual([]);

    // At 60 % of the run: the captions and the analysis are done, the title and mind map not yet.
    await h.pollAt(0.6 * RUN_MS);
    const first = h.finishedNow();
    expect(first).toEqual(expect.arrayContaining(["videoCaptionResult", "videoAnalysisResult"]));
    expect(h.parts(h.progress.received)).toEqual([...first].sort());

    // The next poll, as scheduled: what it finds newly finished, and nothing twice.
    const calls = h.sim.stats().calls.GetVideoAnalysisTask;
    await h.pollAt(0);
    expect(h.sim.stats().calls.GetVideoAnalysisTask).toBe(calls + 1);
    const second = h.finishedNow();
    expect(h.parts(h.progress.received)).toEqual([...second].sort());
    expect((await h.row()).progressParts?.slice().sort()).toEqual([...second].sort());

    // Past the end: the final answer carries every part, and the parts not seen before get no event.
    await h.pollAt(RUN_MS + 1_000);
    expect((await h.row()).state).toBe("done");
    const final = finishedParts(h.sim.taskData(WS, h.task.taskId)).map((p) => p.part);
    const atTheEnd = final.filter((p) => !second.includes(p));
    expect(atTheEnd).toEqual(expect.arrayContaining(["videoTitleGenerateResult", "videoMindMappingGenerateResult"]));
    await h.runUntil(
      () => h.progress.received.some((r) => r.verified?.type === "video_analysis.succeeded"),
      10_000,
      20,
    );
    expect(h.parts(h.progress.received)).toEqual([...second].sort());

    for (const r of h.progress.received) expect(eventSchemaErrors(r.verified), r.verified?.type).toBeUndefined();
    const caption = h.progress.received.find(
      (r) => (r.verified?.data as { part?: string } | undefined)?.part === "videoCaptionResult",
    );
    const finalOutput = (h.sim.taskData(WS, h.task.taskId) as { payload: { output: Record<string, unknown> } }).payload
      .output;
    expect(caption?.verified?.data).toMatchObject({
      workspaceId: WS,
      taskId: h.task.taskId,
      taskStatus: "RUNNING",
      result: finalOutput.videoCaptionResult,
    });
    expect(h.terminal.received.map((r) => r.verified?.type)).toEqual(["video_analysis.succeeded"]);
    // One event per part, whatever the number of polls.
    const events = await h.store.listEventsForTask(WS, h.task.taskId);
    expect(events.filter((e) => e.type === PROGRESS)).toHaveLength(second.length);
  }, 60_000);

  it("a run that dies after writing the events, before the task's row, is repeated: nothing lost or sent twice", async () => {
    const h = await progressHarness(store);
    await h.pollAt(0);
    const update = h.store.updateTask.bind(h.store);
    let crashes = 0;
    h.store.updateTask = async (task, owner, u) => {
      if (u.progressParts !== undefined && crashes++ === 0) throw new Error("the run died here");
      return update(task, owner, u);
    };
    await h.pollAt(0.6 * RUN_MS);
    expect(crashes).toBe(1);
    const first = h.finishedNow();
    expect(h.parts(h.progress.received)).toEqual([...first].sort());
    expect((await h.row()).progressParts).toBeUndefined();

    // Another run, once the dead run's lease is over, polls again and writes the same events.
    h.clock.advance(h.config.tick.budgetMs + 61_000);
    await h.tick();
    expect((await h.row()).progressParts?.length).toBeGreaterThanOrEqual(first.length);
    const now = h.finishedNow();
    await h.runUntil(async () => (await h.row()).state === "done", 30_000, 100);
    const received = h.parts(h.progress.received);
    expect(new Set(received).size).toBe(received.length);
    expect(received).toEqual(expect.arrayContaining(now));
    const events = await h.store.listEventsForTask(WS, h.task.taskId);
    expect(events.filter((e) => e.type === PROGRESS)).toHaveLength(received.length);
  }, 60_000);
});
