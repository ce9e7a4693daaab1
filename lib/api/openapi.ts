/** The OpenAPI 3.1 document, generated from the route table and its zod schemas. */
import { z } from "zod";
import { eventTypes } from "../event-schemas.js";
import { VERSION } from "../version.js";
import type { Route } from "./router.js";

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "details"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: {
          type: "array",
          items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } },
        },
      },
    },
  },
};

/** A request's schema as clients may send it (`io: "input"`), a response's as the relay answers it. */
function schemaOf(type: z.ZodType, io: "input" | "output" = "input"): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(type, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return schema;
}

export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const queryParams: unknown[] = [];
    if (route.query) {
      const q = schemaOf(route.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        queryParams.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const description = typeof spec === "string" ? spec : spec.description;
      // A failure a route names (404, 409, …) answers the one error shape; a success without a schema, an object.
      const schema =
        typeof spec !== "string"
          ? schemaOf(spec.schema, "output")
          : Number(status) >= 400
            ? { $ref: "#/components/schemas/Error" }
            : { type: "object" };
      const code = Number(status);
      // No body (204), or only a Location (3xx); a page or text where the route says so.
      responses[status] =
        code === 204 || (code >= 300 && code < 400)
          ? { description }
          : route.produces && code < 300
            ? { description, content: { [route.produces]: { schema: { type: "string" } } } }
            : { description, content: { "application/json": { schema } } };
    }
    for (const [status, description] of [
      ["400", "invalid JSON, path, query or body; the details name the field"],
      ...(route.auth ? [["401", "missing or wrong bearer token"]] : []),
      ...(route.body
        ? [
            ["413", "the body is over 1 MiB"],
            ["415", "the body is not application/json"],
          ]
        : []),
    ] as Array<[string, string]>) {
      responses[status] ??= {
        description,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
      ...(route.auth ? {} : { security: [] }),
      ...(params.length + queryParams.length > 0 ? { parameters: [...params, ...queryParams] } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(route.body) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "quanmiao-relay",
      version: VERSION,
      description: [
        "Register Bailian video-analysis tasks and webhooks; quanmiao-relay polls the tasks and pushes their results.",
        "",
        "Words, one meaning each:",
        "- **webhook**: a subscription of one endpoint URL to event types, with its own secret; id `wh_…`.",
        "- **event**: something that happened to a task (it succeeded, failed, …); id `evt_…`.",
        "- **delivery**: one event for one endpoint; its id is the **message id** `msg_…`, sent as the Standard Webhooks `webhook-id` header, the same on every attempt and replay.",
        "- **attempt**: one HTTP request of a delivery.",
        "",
        "Every list answers `{items, next}`; pass `next` back as the cursor for the following page (null on the last).",
      ].join("\n"),
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: errorSchema },
    },
    paths,
    // What the relay sends (OpenAPI 3.1): one entry per event type, its body's JSON Schema.
    webhooks: Object.fromEntries(
      eventTypes().map(({ type, description, schema }) => {
        const { $schema: _ignored, ...body } = schema;
        return [
          type,
          {
            post: {
              summary: description,
              description:
                "Signed per Standard Webhooks: webhook-id (the message id `msg_…`, the same on every attempt: deduplicate on it), webhook-timestamp, webhook-signature. Answer 2xx to accept; anything else is retried on the schedule.",
              requestBody: { required: true, content: { "application/json": { schema: body } } },
              responses: {
                "2XX": { description: "accepted" },
                "410": { description: "stop: the endpoint is disabled" },
              },
            },
          },
        ];
      }),
    ),
  };
}
