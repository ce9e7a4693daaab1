/** The API's endpoints under /v1, by resource; each validates through its schemas and calls the library. */
import { CONSOLE_CSP, CONSOLE_HTML } from "../../console/page.js";
import { eventTypes } from "../../event-schemas.js";
import type { PrometheusMetrics } from "../../prometheus.js";
import type { ApiDeps } from "../deps.js";
import { type ApiResponse, json } from "../http.js";
import { openApiDocument } from "../openapi.js";
import { listView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as v from "../views.js";
import { deliveryRoutes } from "./deliveries.js";
import { eventResendRoutes } from "./event-resends.js";
import { eventRoutes } from "./events.js";
import { taskRoutes } from "./tasks.js";
import { webhookRoutes } from "./webhooks.js";

export function apiRoutes(deps: ApiDeps): Route[] {
  let metrics: PrometheusMetrics | undefined;
  let eventTypesAnswer: ApiResponse | undefined;
  let openApiAnswer: ApiResponse | undefined;
  const healthz = async () => {
    try {
      await deps.store.getSetting("healthz");
      return json(200, { ok: true });
    } catch {
      return json(503, {
        ok: false,
        error: { code: "store_unavailable", message: "the store does not answer", details: [] },
      });
    }
  };
  const routes: Route[] = [...taskRoutes(deps), ...webhookRoutes(deps), ...deliveryRoutes(deps), ...eventRoutes(deps)];
  routes.push(...eventResendRoutes(deps));
  routes.push(
    // At the root too: load balancers and FC health checks probe /healthz.
    ...["/v1/healthz", "/healthz"].map((path) =>
      route({
        method: "GET",
        path,
        summary: "Liveness: checks that the store answers (no auth)",
        auth: false,
        responses: { 200: { description: "healthy", schema: v.health }, 503: "the store does not answer" },
        handler: healthz,
      }),
    ),
    // The base URL the banner and the docs give: a person who opens it is shown where to go.
    route({
      method: "GET",
      path: "/v1",
      summary: "Where to start: links to the API's description, its health check and the console (no auth)",
      auth: false,
      responses: { 200: { description: "the links", schema: v.apiIndex } },
      handler: async () =>
        json(200, {
          name: "quanmiao-relay",
          openapi: "/v1/openapi.json",
          healthz: "/v1/healthz",
          console: "/console",
          endpoints: ["/v1/tasks", "/v1/webhooks", "/v1/deliveries", "/v1/events"],
        }),
    }),
    // The root leads to the console, where a person who opens the relay's URL expects something.
    route({
      method: "GET",
      path: "/",
      summary: "Redirects to the operator console (/console)",
      auth: false,
      responses: { 302: "to /console" },
      handler: async () => ({ status: 302, headers: { location: "/console", "cache-control": "no-store" }, body: "" }),
    }),
    // The operator console: a page with no data in it (the browser signs in with the token).
    route({
      method: "GET",
      path: "/console",
      summary: "The operator console (a page; its data comes from this API with the operator's token)",
      auth: false,
      responses: { 200: "the page" },
      produces: "text/html",
      handler: async () => ({
        status: 200,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "x-frame-options": "DENY",
          "content-security-policy": CONSOLE_CSP,
        },
        body: CONSOLE_HTML,
      }),
    }),
    route({
      method: "GET",
      path: "/metrics",
      summary: "Prometheus metrics: delivery and poll counters of this process, the store's backlog gauges",
      auth: true,
      responses: { 200: "the metrics, in Prometheus's text format" },
      produces: "text/plain",
      handler: async () => {
        // Loaded on the first scrape: a process that is never scraped never loads prom-client.
        metrics ??= deps.metrics ?? new (await import("../../prometheus.js")).PrometheusMetrics();
        const { contentType, body } = await metrics.render(deps.store, deps.clock.now());
        return { status: 200, headers: { "content-type": contentType }, body };
      },
    }),
    route({
      method: "GET",
      path: "/v1/event-types",
      summary: "Every event type a subscriber can receive, with its JSON Schema (no auth)",
      auth: false,
      responses: { 200: { description: "the event types", schema: v.eventTypeList } },
      handler: async () => {
        // Built once: the same for every request, and a public route must not cost CPU per request.
        eventTypesAnswer ??= json(200, listView(eventTypes()));
        return eventTypesAnswer;
      },
    }),
    route({
      method: "GET",
      path: "/v1/openapi.json",
      summary: "This API's OpenAPI 3.1 document (no auth)",
      auth: false,
      responses: { 200: "the document" },
      handler: async () => {
        // Built once (145 KB, about 14 ms): pipelined requests without a token rebuilt it each time.
        openApiAnswer ??= json(200, openApiDocument(routes));
        return openApiAnswer;
      },
    }),
  );
  return routes;
}
