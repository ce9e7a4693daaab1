import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { circuitKey } from "../../../lib/delivery/circuit.js";
import { taskTargetId } from "../../../lib/ids.js";
import { apiHarness, TOKEN } from "../../support/api.js";
import { eventSchemaErrors } from "../../support/event-schemas.js";
import { startReceiver } from "../../support/receiver.js";

describe.each(["node", "fc"] as const)("every route through %s", (via) => {
  it("the base URL answers with where to go, without a token, and every link it gives answers", async () => {
    const h = await apiHarness();
    const index = await h.call(via, { method: "GET", path: "/v1", auth: false });
    expect(index.status).toBe(200);
    expect(index.json).toMatchObject({ openapi: "/v1/openapi.json", healthz: "/v1/healthz", console: "/console" });
    for (const path of [index.json.openapi, index.json.healthz, index.json.console, ...index.json.endpoints])
      expect((await h.call(via, { method: "GET", path })).status, path).toBe(200);
  });

  it("webhooks, tasks, submit, deliveries, healthz and openapi.json", async () => {
    const h = await apiHarness();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });

    // Webhooks
    const created = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: rx.url, headers: { "X-Tenant": "acme" } },
    });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_/);
    secrets = [created.json.secret];
    const id = created.json.id as string;
    expect(
      (await h.call(via, { method: "GET", path: "/v1/webhooks" })).json.items.map((w: { id: string }) => w.id),
    ).toEqual([id]);
    expect(JSON.stringify((await h.call(via, { method: "GET", path: "/v1/webhooks" })).json)).not.toContain("whsec_");
    expect((await h.call(via, { method: "GET", path: `/v1/webhooks/${id}` })).json).toMatchObject({
      id,
      enabled: true,
      headers: ["X-Tenant"],
      circuit: { state: "closed", consecutiveFailures: 0, openUntil: null },
    });
    // A circuit opened by failed deliveries shows in the webhook; enabling it again closes it.
    const openUntilMs = Date.now() + 60_000;
    const open = { failures: 5, openUntilMs, cooldownMs: 60_000, openedAtMs: openUntilMs - 120_000 };
    await h.relay.store.compareAndSetSetting(circuitKey(id), undefined, JSON.stringify(open));
    expect((await h.call(via, { method: "GET", path: "/v1/webhooks" })).json.items[0].circuit).toEqual({
      state: "open",
      consecutiveFailures: 5,
      openUntil: new Date(openUntilMs).toISOString(),
      openedAt: new Date(openUntilMs - 120_000).toISOString(),
      cooldownMs: 60_000,
    });
    const patched = await h.call(via, {
      method: "PATCH",
      path: `/v1/webhooks/${id}`,
      body: { events: ["video_analysis.succeeded"], enabled: false },
    });
    expect(patched.json).toMatchObject({ events: ["video_analysis.succeeded"], enabled: false });
    expect(
      (await h.call(via, { method: "PATCH", path: `/v1/webhooks/${id}`, body: { enabled: true, events: null } })).json,
    ).toMatchObject({ enabled: true, events: null, circuit: { state: "closed" } });
    const rotated = await h.call(via, { method: "POST", path: `/v1/webhooks/${id}/rotate-secret` });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(created.json.secret);
    const tested = await h.call(via, { method: "POST", path: `/v1/webhooks/${id}/test` });
    expect(tested.json).toMatchObject({ delivered: true, statusCode: 200 });
    const testRequest = rx.received[rx.received.length - 1];
    expect(String(testRequest?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(
      new Webhook(rotated.json.secret).verify(testRequest?.body ?? "", testRequest?.headers as Record<string, string>),
    ).toMatchObject({ type: "webhook.test" });
    expect(eventSchemaErrors(JSON.parse(testRequest?.body ?? ""))).toBeUndefined();

    // Tasks
    const t1 = h.sim.addTask("llm-api", { outcome: "SUCCESSED", runMs: 0 });
    const one = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-api", taskId: t1.taskId, metadata: { order: 1 } },
    });
    expect(one.status).toBe(201);
    expect(
      (await h.call(via, { method: "POST", path: "/v1/tasks", body: { workspaceId: "llm-api", taskId: t1.taskId } }))
        .status,
    ).toBe(200);
    const batch = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: {
        tasks: [
          { workspaceId: "llm-api", taskId: "b1" },
          { workspaceId: "llm-api", taskId: " bad" },
          { workspaceId: "llm-api", taskId: t1.taskId },
        ],
      },
    });
    expect(
      batch.json.results.map((r: { created?: boolean; error?: unknown }) => (r.error ? "error" : r.created)),
    ).toEqual([true, "error", false]);
    expect(batch.json.results[1].error).toMatchObject({ code: "invalid_request", field: "body.tasks[1].taskId" });
    const submitted = await h.call(via, {
      method: "POST",
      path: "/v1/tasks/submit",
      body: {
        workspaceId: "llm-api",
        request: { videoUrl: "https://videos.example.com/a.mp4", generateOptions: ["videoAnalysis"] },
        metadata: { via },
      },
    });
    expect(submitted.status).toBe(201);
    expect(submitted.json.deduplicationId).toMatch(/[0-9a-f-]{36}/);
    expect(h.sim.workspace("llm-api").tasks.get(submitted.json.taskId)?.request.generateOptions).toBe(
      '["videoAnalysis"]',
    );
    const dup = await h.call(via, {
      method: "POST",
      path: "/v1/tasks/submit",
      body: {
        workspaceId: "llm-api",
        request: { videoUrl: "https://v.example.com/b.mp4" },
        deduplicationId: submitted.json.deduplicationId,
      },
    });
    expect(dup.status).toBe(409);
    expect(dup.json.error.code).toBe("duplicate_submission");
    const listed = await h.call(via, { method: "GET", path: "/v1/tasks?workspaceId=llm-api&limit=2" });
    expect(listed.json.items).toHaveLength(2);
    expect(listed.json.next).toBeTruthy();
    const next = await h.call(via, {
      method: "GET",
      path: `/v1/tasks?workspaceId=llm-api&limit=2&cursor=${listed.json.next}`,
    });
    expect(next.json.items).toHaveLength(1);

    // A run delivers the finished task; then inspect and replay.
    await h.relay.tick(30_000);
    const shown = await h.call(via, { method: "GET", path: `/v1/tasks/llm-api/${t1.taskId}` });
    expect(shown.json.task).toMatchObject({ state: "done", status: "SUCCESSED", metadata: { order: 1 } });
    expect(shown.json.events.map((e: { type: string }) => e.type)).toEqual(["video_analysis.succeeded"]);
    expect(shown.json.lastResult).toEqual(h.sim.taskData("llm-api", t1.taskId));
    expect(shown.json.deliveries.map((d: { status: string }) => d.status)).toEqual(["delivered"]);
    expect(shown.json.webhookCircuits).toEqual([]);
    // A task's own URL: its circuit (the URL's, shared by every task naming it) shows with the task.
    const own = "http://127.0.0.1:9/own";
    await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-own", taskId: "o1", webhooks: [own] },
    });
    await h.relay.store.compareAndSetSetting(circuitKey(taskTargetId(own)), undefined, JSON.stringify(open));
    expect((await h.call(via, { method: "GET", path: "/v1/tasks/llm-own/o1" })).json.webhookCircuits).toEqual([
      { url: own, circuit: expect.objectContaining({ state: "open", consecutiveFailures: 5 }) },
    ]);
    const deliveries = await h.call(via, { method: "GET", path: `/v1/deliveries?status=delivered&webhookId=${id}` });
    expect(deliveries.json.items.length).toBeGreaterThanOrEqual(1);
    const replay = await h.call(via, { method: "POST", path: `/v1/deliveries/${deliveries.json.items[0].id}/replay` });
    expect(replay.status).toBe(202);
    expect(replay.json.status).toBe("pending");

    // Erase a task: its payloads go, and so does it.
    const erase = { method: "DELETE", path: `/v1/tasks/llm-api/${t1.taskId}` };
    expect((await h.call(via, erase)).status).toBe(204);
    expect((await h.call(via, { method: "GET", path: `/v1/tasks/llm-api/${t1.taskId}` })).status).toBe(404);
    const left = (await h.call(via, { method: "GET", path: `/v1/deliveries?webhookId=${id}` })).json.items;
    const erased = new Set(shown.json.deliveries.map((d: { id: string }) => d.id));
    expect(erased.size).toBe(1);
    expect(left.filter((d: { id: string }) => erased.has(d.id))).toEqual([]);
    expect((await h.call(via, erase)).status).toBe(404);

    // Delete, health, the document
    expect((await h.call(via, { method: "DELETE", path: `/v1/webhooks/${id}` })).status).toBe(204);
    expect((await h.call(via, { method: "GET", path: `/v1/webhooks/${id}` })).status).toBe(404);
    expect((await h.call(via, { method: "GET", path: "/v1/healthz", auth: false })).json).toEqual({ ok: true });
    // At the root too, where load balancers and FC health checks probe.
    expect((await h.call(via, { method: "GET", path: "/healthz", auth: false })).json).toEqual({ ok: true });
    expect((await h.call(via, { method: "GET", path: "/v1/openapi.json", auth: false })).json.openapi).toBe("3.1.0");
  });

  it.each([
    [{ method: "GET", path: "/v1/webhooks", auth: false }, 401, "unauthorized"],
    [
      { method: "GET", path: "/v1/webhooks", auth: false, headers: { authorization: "Bearer wrong-token-0123456789" } },
      401,
      "unauthorized",
    ],
    [{ method: "GET", path: "/v1/nothing" }, 404, "not_found"],
    [{ method: "PUT", path: "/v1/webhooks" }, 405, "method_not_allowed"],
    [
      { method: "POST", path: "/v1/webhooks", body: "{not json", headers: { "content-type": "application/json" } },
      400,
      "invalid_json",
    ],
    [
      {
        method: "POST",
        path: "/v1/webhooks",
        body: "url=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      },
      415,
      "unsupported_media_type",
    ],
    [{ method: "POST", path: "/v1/webhooks", body: { url: 7 } }, 400, "invalid_request"],
    [{ method: "POST", path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/x", extra: 1 } }, 400, "invalid_request"],
    [
      { method: "POST", path: "/v1/tasks", body: { workspaceId: "llm-a", taskId: "t", webhooks: ["ftp://x"] } },
      400,
      "invalid_request",
    ],
    [{ method: "GET", path: "/v1/tasks?limit=0" }, 400, "invalid_request"],
    [{ method: "GET", path: "/v1/tasks?cursor=bogus" }, 400, "invalid_cursor"],
    [{ method: "GET", path: "/v1/tasks/%E0%A4%A/x" }, 400, "invalid_path"],
    [
      {
        method: "POST",
        path: "/v1/webhooks",
        body: Buffer.alloc(1024 * 1024 + 10, 32),
        headers: { "content-type": "application/json" },
      },
      413,
      "payload_too_large",
    ],
  ])("%j → %i %s, nothing written, no secret echoed", async (c, status, code) => {
    const h = await apiHarness();
    const answer = await h.call(via, c as never);
    expect(answer.status).toBe(status);
    expect(answer.json.error.code).toBe(code);
    expect(answer.json.error.details).toBeInstanceOf(Array);
    if (code === "invalid_request") expect(answer.json.error.details[0].field).toMatch(/^(body|query|taskId|webhooks)/);
    expect(answer.text).not.toContain(TOKEN);
    expect(answer.text).not.toContain("wrong-token");
    expect(await h.relay.store.listWebhooks()).toEqual([]);
    expect((await h.relay.store.listTasks({ limit: 10 })).items).toEqual([]);
  });

  it("422 for a webhook URL the SSRF guard refuses, with the reason", async () => {
    const h = await apiHarness({ RELAY_ALLOW_PRIVATE_TARGETS: "false" });
    const answer = await h.call(via, {
      method: "POST",
      path: "/v1/webhooks",
      body: { url: "http://100.100.100.200/latest/meta-data" },
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error.message).toMatch(/carrier-grade NAT/);
    const task = await h.call(via, {
      method: "POST",
      path: "/v1/tasks",
      body: { workspaceId: "llm-a", taskId: "t", webhooks: ["http://10.0.0.1/h"] },
    });
    expect(task.status).toBe(422);
    expect(task.json.error.details[0].field).toBe("webhooks[0]");
    expect(await h.relay.store.getTask("llm-a", "t")).toBeUndefined();
  });
});
