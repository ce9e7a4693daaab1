/** /v1/event-resends: events resent lately (`events resend`), for `quanmiao-relay listen` to forward again. */
import { z } from "zod";
import { RESEND_CURSOR, RESEND_PAGE, resendsSince } from "../../event-resends.js";
import type { ApiDeps } from "../deps.js";
import { json } from "../http.js";
import { eventView } from "../presenters.js";
import { type Route, route } from "../router.js";
import { decimal } from "../schemas.js";
import * as v from "../views.js";

/** A resent event: the event as `/v1/events` shows it, and when it was resent. */
const resentEvent = v.eventView.extend({ resentAt: z.iso.datetime() });

const query = z.strictObject({
  since: decimal({ min: 0, max: Number.MAX_SAFE_INTEGER }).optional(),
  cursor: z.string().regex(RESEND_CURSOR, "must be the `next` of the page before").optional(),
});

export function eventResendRoutes(deps: ApiDeps): Route[] {
  return [
    route({
      method: "GET",
      path: "/v1/event-resends",
      summary: `Events resent in the last 10 minutes, oldest first, ${RESEND_PAGE} a page: \`since\` a time in epoch ms, then \`cursor\` the \`next\` of the page before`,
      auth: true,
      query,
      responses: {
        200: {
          description: "the resent events, each with its body and when it was resent",
          schema: z.strictObject({
            items: z.array(resentEvent),
            next: z.string().nullable().describe("Pass as the cursor to get the next page; null on the last page"),
          }),
        },
      },
      handler: async ({ query }) => {
        const items = [];
        const page = await resendsSince(deps.store, query.since ?? 0, deps.clock.now(), query.cursor);
        for (const resend of page.items) {
          const event = await deps.store.getEvent(resend.eventId);
          if (event) items.push({ ...eventView(event), resentAt: new Date(resend.atMs).toISOString() });
        }
        return json(200, { items, next: page.next ?? null });
      },
    }),
  ];
}
