/** /v1/event-resends: events resent lately (`events resend`), for `quanmiao-relay listen` to forward again. */
import { z } from "zod";
import { resendsSince } from "../../event-resends.js";
import type { ApiDeps } from "../deps.js";
import { json } from "../http.js";
import { eventView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as v from "../views.js";

/** A resent event: the event as `/v1/events` shows it, and when it was resent. */
const resentEvent = v.eventView.extend({ resentAt: z.iso.datetime() });

const query = z.strictObject({ since: z.coerce.number().int().nonnegative().optional() });

export function eventResendRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/v1/event-resends",
      summary: "Events resent in the last 10 minutes (at most 100), oldest first: `since` a time in epoch ms",
      auth: true,
      query,
      responses: {
        200: {
          description: "the resent events, each with its body and when it was resent",
          schema: v.listOf(resentEvent),
        },
      },
      handler: async ({ query }) => {
        const items = [];
        for (const resend of await resendsSince(deps.store, query.since ?? 0, deps.clock.now())) {
          const event = await deps.store.getEvent(resend.eventId);
          if (event) items.push({ ...eventView(event), resentAt: new Date(resend.atMs).toISOString() });
        }
        return json(200, { items, next: null });
      },
    }),
  ];
}
