/**
 * What the API refuses as a value it cannot accept (422, `invalid_value`, the field named) before
 * anything is written: metadata nested too deep or too large (alone or in a batch, whose every item
 * is checked first), and control or bidi characters in ids, URLs, profiles and header values.
 */
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";

/** `{"a":{"a":…1…}}`, `depth` objects deep, as text (a value this deep cannot be stringified). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const path = (depth: number) => `metadata${".a".repeat(depth - 1)}`;

describe.each(["node", "fc"] as const)("input limits through %s", (via) => {
  it("metadata deeper than 32 levels or over 16 KiB: 422 naming where, nothing written", async () => {
    const h = await apiHarness();
    const post = (metadata: string, taskId = "t") =>
      h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        headers: { "content-type": "application/json" },
        body: `{"workspaceId":"llm-a","taskId":"${taskId}","metadata":${metadata}}`,
      });
    for (const depth of [33, 10_000, 100_000]) {
      const answer = await post(nested(depth));
      expect(answer.status).toBe(422);
      expect(answer.json.error.code).toBe("invalid_value");
      expect(answer.json.error.details[0].field).toBe(path(33));
    }
    const large = await post(JSON.stringify({ blob: "x".repeat(16 * 1024) }));
    expect(large.status).toBe(422);
    expect(large.json.error.code).toBe("invalid_value");
    expect(large.json.error.details[0].field).toBe("metadata");
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    // The limits are the limits: 32 deep and 16 KiB exactly are taken.
    expect((await post(nested(32), "deep-enough")).status).toBe(201);
    const fits = JSON.stringify({ blob: "x".repeat(16 * 1024 - '{"blob":""}'.length) });
    expect((await post(fits, "large-enough")).status).toBe(201);
  });

  it("a key named __proto__, which every copy of the object drops, is 422 naming where, nothing written", async () => {
    const h = await apiHarness();
    const bodies: Array<[string, string, string]> = [
      [
        "/v1/tasks",
        '{"workspaceId":"llm-a","taskId":"t","metadata":{"a":[{"__proto__":{"x":1}}]}}',
        "body.metadata.a[0].__proto__",
      ],
      [
        "/v1/tasks",
        '{"tasks":[{"workspaceId":"llm-a","taskId":"t"},{"workspaceId":"llm-a","taskId":"u","metadata":{"__proto__":1}}]}',
        "body.tasks[1].metadata.__proto__",
      ],
      ["/v1/webhooks", '{"url":"http://127.0.0.1:9/h","headers":{"__proto__":"x"}}', "body.headers.__proto__"],
      // A key on the way there is named as the other 422s name it: quoted, its bidi override escaped.
      [
        "/v1/tasks",
        '{"workspaceId":"llm-a","taskId":"t","metadata":{"a\\u202eb":{"__proto__":1}}}',
        'body.metadata["a\\\\u202eb"].__proto__',
      ],
      [
        "/v1/tasks/submit",
        '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example.com/a.mp4","__proto__":{}}}',
        "body.request.__proto__",
      ],
    ];
    for (const [path, body, field] of bodies) {
      const answer = await h.call(via, { method: "POST", path, headers: { "content-type": "application/json" }, body });
      expect(answer.status, body).toBe(422);
      expect(answer.json.error.code).toBe("invalid_value");
      expect(answer.json.error.details).toEqual([{ field, message: "a key named __proto__ cannot be kept" }]);
    }
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    expect(await h.relay.store.listWebhooks()).toEqual([]);
    // Only that key: one that merely contains it, or the text as a value, is kept as sent.
    const kept = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t", metadata: { __proto__x: "__proto__" } },
    });
    expect(kept.status).toBe(201);
    expect(kept.json.task.metadata).toEqual({ __proto__x: "__proto__" });
  });

  it("a number JSON cannot hold (1e400, read as Infinity and written back as null) is 422 naming where", async () => {
    const h = await apiHarness();
    const register = (metadata: string) =>
      h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        headers: { "content-type": "application/json" },
        body: `{"workspaceId":"llm-a","taskId":"t","metadata":${metadata}}`,
      });
    const infinite = await register('{"order":{"total":1e400}}');
    expect(infinite.status).toBe(422);
    expect(infinite.json.error.details).toEqual([
      { field: "metadata.order.total", message: expect.stringContaining("a number JSON cannot hold") },
    ]);
    const bigInt = await register('{"orderId":1234567890123456789}');
    expect(bigInt.status).toBe(422);
    expect(bigInt.json.error.details).toEqual([
      { field: "metadata.orderId", message: expect.stringContaining("send it as a string") },
    ]);
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    // Up to 2^53 an integer is exact, and is taken.
    expect((await register('{"orderId":9007199254740991}')).status).toBe(201);
  });

  it("a query parameter named as an object's own property (toString) is unknown, not repeated", async () => {
    const h = await apiHarness();
    for (const name of ["toString", "constructor", "__proto__"]) {
      const answer = await h.call(via, { method: "GET", path: `/v1/tasks?${name}=1` });
      expect(answer.status, name).toBe(400);
      expect(answer.json.error.message, name).toBe("the query does not match the schema");
    }
  });

  it("a submission time in seconds (or before 2001-09-09, as Date.parse reads Jan 1) is 422 naming it, not a task expired at once unpolled", async () => {
    const h = await apiHarness();
    for (const submittedAtMs of [0, 1_765_000_000, 978_307_200_000]) {
      const answer = await h.call(via, {
        method: "POST",
        path: "/v1/tasks",
        body: { workspaceId: "llm-a", taskId: "t", submittedAtMs },
      });
      expect(answer.status, String(submittedAtMs)).toBe(422);
      expect(answer.json.error.details).toEqual([
        { field: "submittedAtMs", message: expect.stringContaining("give an epoch time in milliseconds") },
      ]);
    }
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    const ms = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t", submittedAtMs: 1_765_000_000_000 },
    });
    expect(ms.status).toBe(201);
  });

  it("a batch with one bad item is refused whole before any item is written, the item named", async () => {
    const h = await apiHarness();
    const items = [0, 1, 2, 3, 4].map(
      (i) => `{"workspaceId":"llm-a","taskId":"t${i}"${i === 3 ? `,"metadata":${nested(10_000)}` : ""}}`,
    );
    const answer = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      headers: { "content-type": "application/json" },
      body: `{"tasks":[${items.join(",")}]}`,
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error.code).toBe("invalid_value");
    expect(answer.json.error.details[0].field).toBe(`body.tasks[3].${path(33)}`);
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);

    const controls = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { tasks: [{ workspaceId: "llm-a", taskId: "ok", webhooks: ["http://127.0.0.1:9/\u001b]8;;x"] }] },
    });
    expect(controls.status).toBe(422);
    expect(controls.json.error.details[0].field).toBe("body.tasks[0].webhooks[0]");
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
  });

  it.each([
    ["ESC", "\u001b[2J"],
    ["BEL", "\u0007"],
    ["CR", "\r"],
    ["LF", "\nfake line"],
    ["C1 CSI", "\u009b31m"],
    ["DEL", "\u007f"],
    ["RLO", "\u202e"],
    ["isolate", "\u2066"],
  ])("%s in an id, a URL, a profile or a header value: 422 naming the field, never stored", async (_, bad) => {
    const h = await apiHarness();
    const refused = async (c: { method: string; path: string; body: unknown }, field: string): Promise<void> => {
      const answer = await h.call(via, c);
      expect(answer.status, JSON.stringify(c)).toBe(422);
      expect(answer.json.error.code).toBe("invalid_value");
      expect(answer.json.error.details[0].field).toBe(field);
      expect(answer.text).not.toContain(bad);
    };
    const task = { workspaceId: "llm-a", taskId: "t" };
    await refused({ method: "POST", path: "/v1/tasks", body: { ...task, taskId: `t${bad}x` } }, "taskId");
    await refused({ method: "POST", path: "/v1/tasks", body: { ...task, workspaceId: `llm${bad}x` } }, "workspaceId");
    await refused({ method: "POST", path: "/v1/tasks", body: { ...task, profile: `p${bad}` } }, "profile");
    await refused(
      { method: "POST", path: "/v1/tasks", body: { ...task, webhooks: [`http://127.0.0.1:9/h${bad}`] } },
      "webhooks[0]",
    );
    await refused({ method: "POST", path: "/v1/webhooks", body: { url: `http://127.0.0.1:9/h${bad}` } }, "url");
    await refused(
      { method: "POST", path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/h", workspaceId: `w${bad}` } },
      "workspaceId",
    );
    await refused(
      { method: "POST", path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/h", headers: { "X-A": `v${bad}` } } },
      "headers",
    );
    const calls = h.sim.stats().calls.SubmitVideoAnalysisTask;
    await refused(
      {
        method: "POST",
        path: "/v1/tasks/submit",
        body: { workspaceId: "llm-a", request: { videoUrl: "https://v.example/a.mp4" }, deduplicationId: `d${bad}` },
      },
      "deduplicationId",
    );
    expect(h.sim.stats().calls.SubmitVideoAnalysisTask).toBe(calls);
    const created = await h.call(via, { method: "POST", path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/h" } });
    await refused(
      { method: "PATCH", path: `/v1/webhooks/${created.json.id}`, body: { url: `http://127.0.0.1:9/${bad}` } },
      "url",
    );
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
    expect((await h.relay.store.listWebhooks()).map((w) => w.url)).toEqual(["http://127.0.0.1:9/h"]);
  });
});
