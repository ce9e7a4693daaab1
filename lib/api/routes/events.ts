/**
 * /v1/events: every event, cursor-paged; newest first to browse, or in creation order
 * (`order=oldest`) to follow, as `quanmiao-relay listen` does; and one event by its id.
 */
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { eventView, pageView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";
import * as v from "../views.js";

export function eventRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/v1/events/{id}",
      summary:
        "One event (by its id `evt_…`) with its body as subscribers receive it: where a thin event (one too large for its destination, as EventBridge's 64 KiB) points",
      auth: true,
      responses: { 200: { description: "the event", schema: v.eventView }, 404: "no such event" },
      handler: async ({ params }) => {
        const event = await deps.store.getEvent(params.id);
        if (!event) throw new HttpError(404, "not_found", "no such event (it may have passed the retention period)");
        return json(200, eventView(event));
      },
    }),
    route({
      method: "GET",
      path: "/v1/events",
      summary:
        "Events newest first, or in creation order with `order=oldest`; `since` a time, then `cursor` the `next` of the page before",
      auth: true,
      query: s.listEventsQuery,
      responses: {
        200: {
          description: "a page of events (each with its body as subscribers receive it) and the next cursor",
          schema: v.pageOf(v.eventView),
        },
      },
      handler: async ({ query }) => {
        if (query.after !== undefined && (query.cursor !== undefined || query.order === "newest"))
          throw new HttpError(400, "invalid_request", "`after` is the cursor in creation order: use `cursor` instead", [
            { field: "query.after", message: "give `order=oldest&cursor=…` instead" },
          ]);
        const filter = {
          limit: query.limit ?? 100,
          ...(query.since !== undefined ? { sinceMs: query.since } : {}),
          ...((query.cursor ?? query.after) !== undefined ? { cursor: query.cursor ?? query.after } : {}),
        };
        const oldest = query.order === "oldest" || query.after !== undefined;
        const page = oldest ? await deps.store.listEvents(filter) : await deps.store.listRecentEvents(filter);
        return json(200, pageView(page, eventView));
      },
    }),
  ];
}
