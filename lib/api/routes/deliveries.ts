/** /v1/deliveries: list, and replay one (same webhook-id) in the next run. */
import type { EventRow } from "../../store/store.js";
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { deliveryDetail, deliveryView, pageView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";

export function deliveryRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  return [
    route({
      method: "GET",
      path: "/v1/deliveries/{id}",
      summary: "One delivery with its last attempts (when, how long, status, failure class, first bytes of the answer)",
      auth: true,
      responses: { 200: "the delivery", 404: "no such delivery" },
      handler: async ({ params }) => {
        const delivery = await store.getDelivery(params.id);
        if (!delivery) throw new HttpError(404, "not_found", "no such delivery");
        return json(200, deliveryDetail(delivery, await store.getEvent(delivery.eventId)));
      },
    }),
    route({
      method: "POST",
      path: "/v1/deliveries/{id}/replay",
      summary: "Send a delivery again (same webhook-id) in the next run",
      auth: true,
      responses: { 202: "queued", 404: "no such delivery" },
      handler: async ({ params }) => {
        const replayed = await store.replayDelivery(params.id, deps.clock.now());
        if (!replayed) throw new HttpError(404, "not_found", "no such delivery");
        return json(202, deliveryView(replayed));
      },
    }),
    route({
      method: "GET",
      path: "/v1/deliveries",
      summary: "List deliveries newest first, paged; `status=failed` lists the dead and the retrying",
      auth: true,
      query: s.listDeliveriesQuery,
      responses: { 200: "a page of deliveries and the next cursor" },
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
            return { ...deliveryView(d), task: e ? { workspaceId: e.workspaceId, taskId: e.taskId } : null };
          }),
        );
      },
    }),
  ];
}
