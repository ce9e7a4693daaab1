/**
 * The video duration hint: taken at registration (one task, a batch, submit-and-register), stored
 * as ms, shown as seconds (null when unknown), kept from the first registration, and refused with
 * 422 naming the field when it is not a positive number of seconds under 24 h.
 */
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";

const VIDEO = { videoUrl: "https://videos.example/a.mp4" };

describe.each(["node", "fc"] as const)("video duration hints through %s", (via) => {
  it("registers a task with a hint: stored as ms, shown as seconds, kept by a repeat, null when absent", async () => {
    const h = await apiHarness();
    const post = (body: unknown) => h.call(via, { method: "POST", path: "/v1/tasks", body });
    const first = await post({ workspaceId: "llm-a", taskId: "t1", videoDurationSeconds: 93.5 });
    expect(first.status).toBe(201);
    expect(first.json.task.videoDurationSeconds).toBe(93.5);
    expect((await h.relay.store.getTask("llm-a", "t1"))?.videoDurationMs).toBe(93_500);
    // A repeat without the hint, or with another, keeps the first, as metadata and profile are kept.
    const again = await post({ workspaceId: "llm-a", taskId: "t1", videoDurationSeconds: 5 });
    expect(again.status).toBe(200);
    expect(again.json.task.videoDurationSeconds).toBe(93.5);
    // Rounded to the millisecond.
    expect((await post({ workspaceId: "llm-a", taskId: "t2", videoDurationSeconds: 1.23456 })).json.task).toMatchObject(
      {
        videoDurationSeconds: 1.235,
      },
    );
    const none = await post({ workspaceId: "llm-a", taskId: "t3" });
    expect(none.json.task.videoDurationSeconds).toBeNull();
    const shown = await h.call(via, { method: "GET", path: "/v1/tasks/llm-a/t1" });
    expect(shown.json.task.videoDurationSeconds).toBe(93.5);
    const listed = (await h.call(via, { method: "GET", path: "/v1/tasks" })).json.items;
    expect(
      Object.fromEntries(
        listed.map((t: { taskId: string; videoDurationSeconds: unknown }) => [t.taskId, t.videoDurationSeconds]),
      ),
    ).toEqual({
      t1: 93.5,
      t2: 1.235,
      t3: null,
    });
  });

  it.each([
    ["0", 0],
    ["a negative number", -1],
    ["24 h exactly", 86_400],
    ["1e308", 1e308],
    ["a numeric string", "93.5"],
    ["text", "abc"],
    ["NaN as a string", "NaN"],
    ["null", null],
    ["true", true],
    ["a list", [93]],
  ])("refuses %s as a video duration with 422 naming the field, writing nothing", async (_, value) => {
    const h = await apiHarness();
    const answer = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t", videoDurationSeconds: value },
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error.code).toBe("invalid_value");
    expect(answer.json.error.details).toEqual([{ field: "videoDurationSeconds", message: answer.json.error.message }]);
    expect(answer.json.error.message).toMatch(
      /^videoDurationSeconds: must be a number of seconds above 0 and under 86400/,
    );
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
  });

  it("refuses what JSON spells as Infinity (1e400); the largest accepted is just under 24 h", async () => {
    const h = await apiHarness();
    const infinite = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      headers: { "content-type": "application/json" },
      body: '{"workspaceId":"llm-a","taskId":"t","videoDurationSeconds":1e400}',
    });
    expect(infinite.status).toBe(422);
    expect(infinite.json.error.message).toMatch(/got Infinity$/);
    const longest = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t", videoDurationSeconds: 86_399.5 },
    });
    expect(longest.status).toBe(201);
    expect(longest.json.task.videoDurationSeconds).toBe(86_399.5);
  });

  it("a batch takes a hint per item; a bad one refuses the batch whole, the item named", async () => {
    const h = await apiHarness();
    const batch = (tasks: unknown[]) => h.call(via, { method: "POST", path: "/v1/tasks", body: { tasks } });
    const bad = await batch([
      { workspaceId: "llm-a", taskId: "a", videoDurationSeconds: 10 },
      { workspaceId: "llm-a", taskId: "b", videoDurationSeconds: -1 },
    ]);
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toBe("body.tasks[1].videoDurationSeconds");
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    const good = await batch([
      { workspaceId: "llm-a", taskId: "a", videoDurationSeconds: 10 },
      { workspaceId: "llm-a", taskId: "b" },
    ]);
    expect(good.status).toBe(200);
    expect((await h.relay.store.getTask("llm-a", "a"))?.videoDurationMs).toBe(10_000);
    expect((await h.relay.store.getTask("llm-a", "b"))?.videoDurationMs).toBeUndefined();
  });

  it("submit takes the hint for the relay only: stored, never sent to the API; a bad one bills nothing", async () => {
    const h = await apiHarness();
    const submit = (extra: Record<string, unknown>) =>
      h.call(via, {
        method: "POST",
        path: "/v1/tasks/submit",
        body: { workspaceId: "llm-a", request: VIDEO, ...extra },
      });
    const bad = await submit({ videoDurationSeconds: 0 });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toBe("videoDurationSeconds");
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(0);

    const ok = await submit({ videoDurationSeconds: 42 });
    expect(ok.status).toBe(201);
    expect(ok.json.task.videoDurationSeconds).toBe(42);
    expect((await h.relay.store.getTask("llm-a", ok.json.taskId))?.videoDurationMs).toBe(42_000);
    const form = h.sim.workspace("llm-a").tasks.get(ok.json.taskId)?.request;
    expect(form).toMatchObject({ videoUrl: VIDEO.videoUrl });
    expect(Object.keys(form ?? {}).filter((k) => /duration/i.test(k))).toEqual([]);
  });
});

describe("video duration hints in the OpenAPI document", () => {
  it("documents the hint on registration (one task and a batch's items) and submit, and in the task view", async () => {
    const h = await apiHarness();
    const doc = (await h.call("node", { method: "GET", path: "/v1/openapi.json", auth: false })).json;
    const body = (path: string) => doc.paths[path].post.requestBody.content["application/json"].schema;
    const hint = { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 86_400 };
    const [single, batch] = body("/v1/tasks").anyOf;
    expect(single.properties.videoDurationSeconds).toMatchObject(hint);
    expect(single.required).not.toContain("videoDurationSeconds");
    expect(batch.properties.tasks.items.properties.videoDurationSeconds).toMatchObject(hint);
    expect(body("/v1/tasks/submit").properties.videoDurationSeconds).toMatchObject(hint);
    const answer = doc.paths["/v1/tasks"].get.responses["200"].content["application/json"].schema;
    const task = answer.properties.items.items;
    expect(task.properties.videoDurationSeconds).toMatchObject({ type: ["number", "null"] });
    expect(task.required).toContain("videoDurationSeconds");
  });
});
