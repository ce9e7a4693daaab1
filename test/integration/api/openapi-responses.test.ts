/**
 * The OpenAPI document says what every answer holds, and real answers are checked against it: each
 * route is called, and each JSON answer validated (Ajv) against the schema the document publishes
 * for that operation and status. The schemas are strict, so a field the document does not name fails.
 */
import { describe, expect, it } from "vitest";
import { resendEvent } from "../../../lib/resend.js";
import { type Answer, apiHarness, type Call } from "../../support/api.js";
import { responseChecker } from "../../support/openapi.js";
import { startReceiver } from "../../support/receiver.js";

describe("OpenAPI responses", () => {
  it("every JSON answer of the API matches the schema its operation publishes", async () => {
    const h = await apiHarness();
    const doc = (await h.call("node", { method: "GET", path: "/v1/openapi.json", auth: false })).json;
    const check = responseChecker(doc);
    const checked = new Set<string>();
    /** Calls `operation` (METHOD /template) at `path`, expects `status`, and checks the body against the document. */
    const call = async (operation: string, status: number, c: Partial<Call> = {}): Promise<Answer> => {
      const method = operation.split(" ")[0] as string;
      const answer = await h.call("node", { method, path: operation.split(" ")[1] as string, ...c });
      expect(answer.status, `${operation}: ${answer.text}`).toBe(status);
      expect(check.errors(operation, status, answer.json), operation).toBeUndefined();
      checked.add(operation);
      return answer;
    };

    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });
    const hook = (await call("POST /v1/webhooks", 201, { body: { url: rx.url, headers: { "X-Tenant": "a" } } })).json;
    secrets = [hook.secret];
    const wh = `/v1/webhooks/${hook.id}`;
    // A CloudEvents format and an EventBridge bus are shown as the document says, in lists too
    // (subscribed to an event that does not happen here: the deliveries counted below are the others').
    const expired = ["video_analysis.expired"];
    await call("POST /v1/webhooks", 201, {
      body: { url: `${rx.url}/ce`, format: "cloudevents-binary", events: expired },
    });
    const bus = { busName: "relay-events", region: "cn-hangzhou", accountId: "1234567890123456" };
    expect(
      (await call("POST /v1/webhooks", 201, { body: { eventBridge: bus, events: expired } })).json.eventBridge,
    ).toEqual(bus);
    await call("GET /v1/webhooks", 200);
    await call("GET /v1/webhooks", 200, { path: "/v1/webhooks?expand=last24h" });
    await call("GET /v1/webhooks/{id}", 200, { path: wh });
    await call("PATCH /v1/webhooks/{id}", 200, { path: wh, body: { rateLimitPerSecond: 5 } });
    secrets = [(await call("POST /v1/webhooks/{id}/rotate-secret", 200, { path: `${wh}/rotate-secret` })).json.secret];

    // The test send's id is the message id the endpoint received as `webhook-id`.
    const tested = (await call("POST /v1/webhooks/{id}/test", 200, { path: `${wh}/test` })).json;
    expect(tested.messageId).toMatch(/^msg_test_/);
    expect(rx.received.at(-1)?.headers["webhook-id"]).toBe(tested.messageId);
    expect(tested).not.toHaveProperty("webhookId");

    const task = h.sim.addTask("llm-doc", { outcome: "SUCCESSED", runMs: 0 });
    const body = { workspaceId: "llm-doc", taskId: task.taskId, webhooks: [`${rx.url}/own`] };
    await call("POST /v1/tasks", 201, { body });
    await call("POST /v1/tasks", 200, { body });
    await call("POST /v1/tasks", 200, { body: { tasks: [body, { workspaceId: "llm-doc", taskId: " " }] } });
    await call("POST /v1/tasks/submit", 201, {
      body: { workspaceId: "llm-doc", request: { videoUrl: "https://example.com/v.mp4" } },
    });
    await h.relay.tick(5_000);
    await call("GET /v1/tasks", 200, { path: "/v1/tasks?state=done&status=SUCCESSED" });
    const detail = (
      await call("GET /v1/tasks/{workspaceId}/{taskId}", 200, { path: `/v1/tasks/llm-doc/${task.taskId}` })
    ).json;
    expect(detail.deliveries).toHaveLength(2);
    const page = (await call("GET /v1/deliveries", 200, { path: "/v1/deliveries?limit=1" })).json;
    expect(page.next).toEqual(expect.any(String));
    expect(page.cursor).toBe(page.next);
    await call("GET /v1/deliveries", 200, { path: "/v1/deliveries?expand=task" });
    const [delivery] = page.items;
    await call("GET /v1/deliveries/{id}", 200, { path: `/v1/deliveries/${delivery.id}` });
    await call("POST /v1/deliveries/{id}/replay", 202, { path: `/v1/deliveries/${delivery.id}/replay` });
    const events = (await call("GET /v1/events", 200)).json;
    await call("GET /v1/events/{id}", 200, { path: `/v1/events/${events.items[0].id}` });
    await resendEvent(h.relay.store, events.items[0].id, Date.now());
    const resent = (await call("GET /v1/event-resends", 200)).json;
    expect(resent.items.map((e: { id: string }) => e.id)).toEqual([events.items[0].id]);
    await call("GET /v1/event-types", 200, { auth: false });
    await call("GET /v1/healthz", 200, { auth: false });
    await call("GET /healthz", 200, { auth: false });
    await call("GET /v1", 200, { auth: false });

    // Every operation that answers JSON publishes a real schema, and this test called each one.
    const jsonOperations = Object.entries(doc.paths as Record<string, Record<string, { responses: object }>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op] as const))
      .filter(([operation, op]) => {
        const ok = Object.entries(op.responses).find(([status]) => /^2/.test(status) && status !== "204");
        return (
          ok !== undefined && !["GET /", "GET /console", "GET /metrics", "GET /v1/openapi.json"].includes(operation)
        );
      })
      .map(([operation]) => operation);
    expect([...checked].sort()).toEqual(jsonOperations.sort());
  });

  it("the schemas are strict and the checker can fail: an unnamed field or a wrong type is caught", async () => {
    const h = await apiHarness();
    const check = responseChecker((await h.call("node", { method: "GET", path: "/v1/openapi.json" })).json);
    const page = (await h.call("node", { method: "GET", path: "/v1/tasks" })).json;
    expect(page).toEqual({ items: [], next: null, cursor: null });
    expect(check.errors("GET /v1/tasks", 200, page)).toBeUndefined();
    expect(check.errors("GET /v1/tasks", 200, { ...page, total: 0 })).toMatch(/additional properties/);
    expect(check.errors("GET /v1/tasks", 200, { items: [], cursor: null })).toMatch(/next/);
    expect(check.errors("POST /v1/webhooks/{id}/test", 200, { delivered: true, webhookId: "msg_x" })).toBeDefined();
  });

  it("an enum filter refuses a value outside it, naming the field (400), rather than listing nothing", async () => {
    const h = await apiHarness();
    const check = responseChecker((await h.call("node", { method: "GET", path: "/v1/openapi.json" })).json);
    for (const path of ["/v1/tasks?status=banana", "/v1/tasks?state=banana", "/v1/deliveries?status=banana"]) {
      const answer = await h.call("node", { method: "GET", path });
      expect(answer.status, path).toBe(400);
      expect(answer.json.error.details[0].field, path).toMatch(/^query\.(status|state)$/);
      expect(check.errors(`GET ${path.split("?")[0]}`, 400, answer.json)).toBeUndefined();
    }
    // A failure a route names answers the published error shape too.
    const missing = await h.call("node", { method: "GET", path: "/v1/webhooks/wh_nope" });
    expect(missing.status).toBe(404);
    expect(check.errors("GET /v1/webhooks/{id}", 404, missing.json)).toBeUndefined();
    expect(check.errors("GET /v1/webhooks/{id}", 404, { message: "no" })).toMatch(/error/);
  });
});
