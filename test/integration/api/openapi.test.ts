import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { apiHarness } from "../../support/api.js";

describe("OpenAPI document", () => {
  it("publishes each answer with the media type it is sent in: a page as HTML, metrics as text, a redirect with none", async () => {
    const h = await apiHarness();
    const doc = (await h.call("node", { method: "GET", path: "/v1/openapi.json", auth: false })).json;
    for (const [path, auth] of [
      ["/console", false],
      ["/metrics", true],
      ["/v1/event-types", false],
      ["/v1/healthz", false],
    ] as const) {
      const answer = await h.call("node", { method: "GET", path, auth });
      expect(answer.status, path).toBe(200);
      const sent = answer.headers["content-type"]?.split(";")[0];
      expect(Object.keys(doc.paths[path].get.responses["200"].content), path).toEqual([sent]);
    }
    // The root only redirects (fetch follows it to the page).
    expect(doc.paths["/"].get.responses["302"]).toEqual({ description: "to /console" });
  });

  it("is valid OpenAPI 3.1 (checked against the official schema) and lists every route", async () => {
    const h = await apiHarness();
    const doc = (await h.call("node", { method: "GET", path: "/v1/openapi.json", auth: false })).json;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(listed.sort()).toEqual(
      [
        "POST /v1/tasks",
        "GET /v1/tasks",
        "POST /v1/tasks/submit",
        "GET /v1/tasks/{workspaceId}/{taskId}",
        "DELETE /v1/tasks/{workspaceId}/{taskId}",
        "POST /v1/webhooks",
        "GET /v1/webhooks",
        "GET /v1/webhooks/{id}",
        "PATCH /v1/webhooks/{id}",
        "DELETE /v1/webhooks/{id}",
        "POST /v1/webhooks/{id}/rotate-secret",
        "POST /v1/webhooks/{id}/test",
        "GET /v1/deliveries",
        "POST /v1/deliveries/{id}/replay",
        "GET /v1/deliveries/{id}",
        "GET /v1/healthz",
        "GET /healthz",
        "GET /v1",
        "GET /metrics",
        "GET /",
        "GET /console",
        "GET /v1/event-types",
        "GET /v1/events",
        "GET /v1/events/{id}",
        "GET /v1/event-resends",
        "GET /v1/openapi.json",
      ].sort(),
    );
    // Generated from the zod schemas: the body of POST /webhooks names its fields and their limits.
    const schema = doc.paths["/v1/webhooks"].post.requestBody.content["application/json"].schema;
    // Exactly one target: an endpoint URL or an EventBridge bus.
    expect(schema.required).toBeUndefined();
    expect(schema.oneOf).toEqual([{ required: ["url"] }, { required: ["eventBridge"] }]);
    expect(schema.properties.url.maxLength).toBe(2048);
    expect(schema.properties.format.enum).toEqual(["standard", "cloudevents-structured", "cloudevents-binary"]);
    expect(schema.properties.eventBridge).toMatchObject({ required: ["busName"], additionalProperties: false });
    expect(schema.properties.eventBridge.properties.busName.maxLength).toBe(127);
    expect(schema.properties.events.items.enum).toContain("video_analysis.succeeded");
    expect(schema.properties.rateLimitPerSecond).toMatchObject({
      type: "number",
      minimum: 0.0001,
      maximum: 10_000,
    });
    const patch = doc.paths["/v1/webhooks/{id}"].patch.requestBody.content["application/json"].schema;
    expect(patch.properties.rateLimitPerSecond).toMatchObject({ type: ["number", "null"], maximum: 10_000 });
    expect(patch.properties.rateLimitPerSecond.description).toMatch(/null removes the limit/);
    expect(patch.properties.format.enum).toContain(null);
    // What the relay sends: one webhook per event type, its body's schema the one GET /v1/event-types gives.
    expect(Object.keys(doc.webhooks).sort()).toEqual(
      [
        "video_analysis.succeeded",
        "video_analysis.failed",
        "video_analysis.canceled",
        "video_analysis.expired",
        "video_analysis.running",
        "video_analysis.progress",
        "webhook.test",
      ].sort(),
    );
    const types = (await h.call("node", { method: "GET", path: "/v1/event-types", auth: false })).json.items;
    const succeeded = types.find((t: { type: string }) => t.type === "video_analysis.succeeded");
    const published = doc.webhooks["video_analysis.succeeded"].post.requestBody.content["application/json"].schema;
    expect(published.properties).toEqual(succeeded.schema.properties);
    expect(succeeded.schema.properties.data.required).toEqual(
      expect.arrayContaining(["workspaceId", "taskId", "taskStatus", "task"]),
    );
    const progress = types.find((t: { type: string }) => t.type === "video_analysis.progress");
    expect(progress.schema.properties.data.required).toEqual(expect.arrayContaining(["part", "result"]));
    expect(
      doc.webhooks["video_analysis.progress"].post.requestBody.content["application/json"].schema.properties,
    ).toEqual(progress.schema.properties);
  });
});
