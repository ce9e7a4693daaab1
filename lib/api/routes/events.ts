/** /v1/events: every event in creation order, cursor-paged — what `quanmiao-relay listen` follows. */
import type { ApiDeps } from "../deps.js";
import { json } from "../http.js";
import { eventView, pageView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";
import * as v from "../views.js";

export function eventRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/v1/events",
      summary: "Events in creation order: `since` a time, then `after` the cursor of the page before",
      auth: true,
      query: s.listEventsQuery,
      responses: {
        200: {
          description: "a page of events (each with its body as subscribers receive it) and the next cursor",
          schema: v.pageOf(v.eventView),
        },
      },
      handler: async ({ query }) => {
        const page = await deps.store.listEvents({
          limit: query.limit ?? 100,
          ...(query.since !== undefined ? { sinceMs: query.since } : {}),
          ...(query.after !== undefined ? { cursor: query.after } : {}),
        });
        return json(200, pageView(page, eventView));
      },
    }),
  ];
}
