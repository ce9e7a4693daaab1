/**
 * POST /v1/tasks/submit without a hint: the relay reads the one video's MP4 header and registers
 * the task with its duration; with a hint, several videos, or an unreadable header, it reads
 * nothing or gives nothing, and the submission goes on as before.
 */
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";
import { moovFirst, moovLast, serveVideo } from "../../support/mp4.js";

describe.each(["node", "fc"] as const)("submit reads the video's header through %s", (via) => {
  it("a loopback MP4 with moov after its media: the task row has the duration, the API was sent no hint", async () => {
    const h = await apiHarness();
    const video = await serveVideo(moovLast(754.5));
    const answer = await h.call(via, {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { workspaceId: "llm-a", request: { videoUrl: video.url } },
    });
    expect(answer.status).toBe(201);
    expect(answer.json.task.videoDurationSeconds).toBe(754.5);
    expect((await h.relay.store.getTask("llm-a", answer.json.taskId))?.videoDurationMs).toBe(754_500);
    expect(video.ranges).toHaveLength(2);
    const form = h.sim.workspace("llm-a").tasks.get(answer.json.taskId)?.request ?? {};
    expect(Object.keys(form).sort()).toEqual(["deduplicationId", "videoUrl"]);
  });

  it("reads nothing when a hint is given or several videos are merged; an unreadable header changes nothing", async () => {
    const h = await apiHarness();
    const video = await serveVideo(moovFirst(30));
    const submit = (request: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      h.call(via, { method: "POST", path: "/v1/tasks/submit", body: { workspaceId: "llm-a", request, ...extra } });

    const hinted = await submit({ videoUrl: video.url }, { videoDurationSeconds: 31 });
    expect(hinted.json.task.videoDurationSeconds).toBe(31);
    const merged = await submit({ videoUrls: [video.url, `${video.url}?b`] });
    expect(merged.status).toBe(201);
    expect(merged.json.task.videoDurationSeconds).toBeNull();
    expect(video.ranges).toEqual([]);
    // One of videoUrls is one video.
    const single = await submit({ videoUrls: [video.url] });
    expect(single.json.task.videoDurationSeconds).toBe(30);

    const page = await serveVideo(Buffer.from("<!DOCTYPE html><p>moved</p>"));
    const missing = await submit({ videoUrl: page.url });
    expect(missing.status).toBe(201);
    expect(missing.json.task.videoDurationSeconds).toBeNull();
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(4);
  });
});
