/** /v1/deliveries: list, one in full, and replay one (same message id) in the next run. */
import type { EventRow } from "../../store/store.js";
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { deliveryDetail, deliveryView, pageView, progressPart } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";
import * as v from "../views.js";

export function deliveryRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  return [
    route({
      method: "GET",
      path: "/v1/deliveries/{id}",
      summary:
        "One delivery (by its message id `msg_…`) with its last attempts (when, how long, status, failure class, first bytes of the answer)",
      auth: true,
      responses: { 200: { description: "the delivery", schema: v.deliveryDetail }, 404: "no such delivery" },
      handler: async ({ params }) => {
        const delivery = await store.getDelivery(params.id);
        if (!delivery) throw new HttpError(404, "not_found", "no such delivery");
        return json(200, deliveryDetail(delivery, await store.getEvent(delivery.eventId)));
      },
    }),
    route({
      method: "POST",
      path: "/v1/deliveries/{id}/replay",
      summary: "Send a delivery again (the same message id in the webhook-id header) in the next run",
      auth: true,
      responses: { 202: { description: "queued", schema: v.deliveryView }, 404: "no such delivery" },
      handler: async ({ params }) => {
        const replayed = await store.replayDelivery(params.id, deps.clock.now());
        if (!replayed) throw new HttpError(404, "not_found", "no such delivery");
        return json(202, deliveryView(replayed));
      },
    }),
    route({
      method: "GET",
      path: "/v1/deliveries",
      summary:
        "List deliveries (one event for one endpoint each, `msg_…`) newest first, paged; `status=failed` lists the dead and the retrying",
      auth: true,
      query: s.listDeliveriesQuery,
      responses: {
        200: {
          description: "a page of deliveries and the next cursor (with ?expand=task, each names its task)",
          schema: v.pageOf(v.deliveryView.or(v.deliveryWithTask)),
        },
      },
      handler: async ({ query }) => {
        const { since, expand, ...rest } = query;
        const page = await store.listDeliveries({ ...rest, sinceMs: since, limit: query.limit ?? 100 });
        if (expand !== "task") return json(200, pageView(page, deliveryView));
        // Each distinct event read once, side by side (a page holds at most 1,000 deliveries).
        const ids = [...new Set(page.items.map((d) => d.eventId))];
        const events = new Map<string, EventRow | undefined>(
          await Promise.all(ids.map(async (id) => [id, await store.getEvent(id)] as const)),
        );
        return json(
          200,
          pageView(page, (d) => {
            const e = events.get(d.eventId);
            return {
              ...deliveryView(d),
              task: e ? { workspaceId: e.workspaceId, taskId: e.taskId } : null,
              ...(e ? progressPart(e) : {}),
            };
          }),
        );
      },
    }),
  ];
}
