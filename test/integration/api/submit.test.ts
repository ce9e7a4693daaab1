/**
 * POST /v1/tasks/submit never leaves a billed task unwatched: the whole request is checked before
 * the API is called, a registration that fails after the submit is retried or named in the answer,
 * and a repeat with the same deduplicationId answers with the task it made.
 */
import { describe, expect, it, vi } from "vitest";
import { SUBMISSION_PREFIX } from "../../../lib/submissions.js";
import { apiHarness } from "../../support/api.js";

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const VIDEO = { videoUrl: "https://videos.example/a.mp4" };

describe("submit and register", () => {
  it("refuses deep metadata or a deep request before anything is billed", async () => {
    const h = await apiHarness();
    for (const body of [
      `{"workspaceId":"llm-a","deduplicationId":"d1","request":${JSON.stringify(VIDEO)},"metadata":${nested(10_000)}}`,
      `{"workspaceId":"llm-a","deduplicationId":"d1","request":{"videoUrl":"https://videos.example/a.mp4","x":${nested(10_000)}}}`,
    ]) {
      const answer = await h.call("node", {
        method: "POST",
        path: "/v1/tasks/submit",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(answer.status).toBe(422);
      expect(answer.json.error.code).toBe("invalid_value");
    }
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(0);
    // The same deduplicationId, now valid, is a first submission, not a duplicate.
    const ok = await h.call("node", {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { workspaceId: "llm-a", deduplicationId: "d1", request: VIDEO, metadata: { a: 1 } },
    });
    expect(ok.status).toBe(201);
    expect(await h.relay.store.getTask("llm-a", ok.json.taskId)).toBeDefined();
  });

  it("refuses a video address the API could not fetch, naming it, before anything is billed", async () => {
    const h = await apiHarness();
    for (const [request, field] of [
      [{ videoUrl: "notaurl" }, "request.videoUrl"],
      [{ videoUrl: "localhost:3000/a.mp4" }, "request.videoUrl"],
      [{ videoUrl: 42 }, "request.videoUrl"],
      [{ videoUrls: ["https://videos.example/a.mp4", "/b.mp4"] }, "request.videoUrls[1]"],
      [{ videoUrls: "https://videos.example/a.mp4" }, "request.videoUrls"],
      [{ videoUrl: "file:///etc/passwd" }, "request.videoUrl"],
      [{ videoUrl: "data:video/mp4;base64,AAAA" }, "request.videoUrl"],
    ] as const) {
      const answer = await h.call("node", {
        method: "POST",
        path: "/v1/tasks/submit",
        body: { workspaceId: "llm-a", request },
      });
      expect(answer.status, JSON.stringify(request)).toBe(422);
      expect(answer.json.error.details).toEqual([{ field, message: expect.stringContaining("absolute http(s) URL") }]);
    }
    // Control characters would have gone upstream as they are.
    const escaped = await h.call("node", {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { workspaceId: "llm-a", request: { videoUrl: "https://videos.example/a\u001b[2J.mp4" } },
    });
    expect(escaped.status).toBe(422);
    expect(escaped.json.error.details).toEqual([
      { field: "request.videoUrl", message: expect.stringContaining("control or bidirectional-override characters") },
    ]);
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(0);
  });

  it("a repeat with the same deduplicationId answers with its task (200, same shape); another request with it, 409", async () => {
    const h = await apiHarness();
    const body = { workspaceId: "llm-a", deduplicationId: "order-42", request: VIDEO, metadata: { orderId: 42 } };
    const first = await h.call("node", { method: "POST", path: "/v1/tasks/submit", body });
    expect(first.status).toBe(201);
    const again = await h.call("fc", { method: "POST", path: "/v1/tasks/submit", body });
    expect(again.status).toBe(200);
    expect(Object.keys(again.json).sort()).toEqual(Object.keys(first.json).sort());
    expect(again.json).toMatchObject({ created: false, taskId: first.json.taskId, deduplicationId: "order-42" });
    expect(again.json.task).toEqual(first.json.task);
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(1);

    const other = await h.call("node", {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { ...body, request: { videoUrl: "https://videos.example/b.mp4" } },
    });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe("duplicate_submission");
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(1);
  });

  it("a registration that fails after the submit is retried; one that keeps failing names the task, and a repeat registers it", async () => {
    const h = await apiHarness();
    const store = h.relay.store;
    const body = { workspaceId: "llm-a", deduplicationId: "d-flaky", request: VIDEO };

    const once = vi.spyOn(store, "registerTask").mockRejectedValueOnce(new Error("store briefly unavailable"));
    const retried = await h.call("node", { method: "POST", path: "/v1/tasks/submit", body });
    expect(retried.status).toBe(201);
    expect(await store.getTask("llm-a", retried.json.taskId)).toBeDefined();
    once.mockRestore();

    const down = vi.spyOn(store, "registerTask").mockRejectedValue(new Error("store down"));
    const failed = await h.call("node", {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { ...body, deduplicationId: "d-down" },
    });
    expect(failed.status).toBe(503);
    expect(failed.json.error.code).toBe("registration_failed");
    const taskId = failed.json.error.details.find((d: { field: string }) => d.field === "taskId").message;
    expect(failed.json.error.message).toContain(taskId);
    expect(failed.json.error.message).toMatch(/same deduplicationId/);
    expect(await store.getTask("llm-a", taskId)).toBeUndefined();
    down.mockRestore();

    const repeat = await h.call("node", {
      method: "POST",
      path: "/v1/tasks/submit",
      body: { ...body, deduplicationId: "d-down" },
    });
    expect(repeat.status).toBe(200);
    expect(repeat.json.taskId).toBe(taskId);
    expect(await store.getTask("llm-a", taskId)).toBeDefined();
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(2);
  });

  it("workspace `a:b` with id `c` and workspace `a` with id `b:c` are two submissions, not one and its duplicate", async () => {
    const h = await apiHarness();
    const submit = (workspaceId: string, deduplicationId: string) =>
      h.call("node", {
        method: "POST",
        path: "/v1/tasks/submit",
        body: { workspaceId, deduplicationId, request: VIDEO },
      });
    // The second also looks where an older relay would have kept its record, and finds the first's.
    const first = await submit("llm", "a:b");
    const second = await submit("llm:a", "b");
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.json.taskId).not.toBe(first.json.taskId);
    expect(await h.relay.store.getTask("llm:a", second.json.taskId)).toBeDefined();
    // Each still repeats as itself.
    expect((await submit("llm", "a:b")).json).toMatchObject({ created: false, taskId: first.json.taskId });
    expect((await submit("llm:a", "b")).json).toMatchObject({ created: false, taskId: second.json.taskId });
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(2);
  });

  it("a repeat of a submission an older relay kept under the ambiguous key answers with its task", async () => {
    const h = await apiHarness();
    const store = h.relay.store;
    const body = { workspaceId: "llm:a", deduplicationId: "b", request: VIDEO };
    const first = await h.call("node", { method: "POST", path: "/v1/tasks/submit", body });
    expect(first.status).toBe(201);
    // Moved to where a relay before the fix kept it.
    const hashed = await store.listSettings(`${SUBMISSION_PREFIX}#`, `${SUBMISSION_PREFIX}$`, 10);
    expect(hashed).toHaveLength(1);
    const { key, value } = hashed[0] as { key: string; value: string };
    expect(await store.deleteSetting(key, value)).toBe(true);
    await store.compareAndSetSetting(`${SUBMISSION_PREFIX}llm:a:b`, undefined, value);

    const repeat = await h.call("node", { method: "POST", path: "/v1/tasks/submit", body });
    expect(repeat.status).toBe(200);
    expect(repeat.json.taskId).toBe(first.json.taskId);
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(1);
  });
});
