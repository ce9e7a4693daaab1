/** /v1/webhooks: subscribe, list, change, delete, rotate the secret, and send a test event. */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { CLOUDEVENTS_SPEC_VERSION, SOURCE_URN } from "../../cloudevents.js";
import { frameCloudEvent } from "../../delivery/framing.js";
import { RateLimits } from "../../delivery/rate.js";
import { sendSigned } from "../../delivery/signed-send.js";
import { RefusedTargetError } from "../../errors.js";
import type { TEST_EVENT_SCHEMA } from "../../event-schemas.js";
import type { WebhookRow } from "../../store/store.js";
import { createWebhook, deleteWebhook, patchWebhook, rotateWebhookSecret } from "../../webhooks.js";
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { listView, webhookView, webhookWithCircuit } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";
import * as v from "../views.js";

const DAY_MS = 86_400_000;

/**
 * A subscription's last 24 hours, from its deliveries' attempt logs (the latest 1,000 deliveries):
 * attempts answered 2xx, attempts that failed, and the latest attempt's outcome.
 */
async function last24h(deps: ApiDeps, webhookId: string) {
  const nowMs = deps.clock.now();
  const { items } = await deps.store.listDeliveries({ webhookId, limit: 1_000 });
  let succeeded = 0;
  let failed = 0;
  let last: { atMs: number; statusCode?: number | undefined; failure?: string | undefined } | undefined;
  for (const d of items) {
    for (const a of d.attemptLog ?? []) {
      if (a.atMs < nowMs - DAY_MS) continue;
      if (a.statusCode !== undefined && a.statusCode >= 200 && a.statusCode < 300) succeeded++;
      else failed++;
      if (!last || a.atMs > last.atMs) last = a;
    }
  }
  return {
    succeeded,
    failed,
    lastStatus: last ? (last.statusCode ?? last.failure ?? null) : null,
    lastAttemptAt: last ? new Date(last.atMs).toISOString() : null,
  };
}

export function webhookRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  // The circuit is one setting read per webhook; last24h is asked for, not always given: it reads
  // up to 1,000 deliveries per webhook.
  const view = async (w: WebhookRow, expand: "last24h" | undefined) => {
    const shown = await webhookWithCircuit(store, w);
    return expand === "last24h" ? { ...shown, last24h: await last24h(deps, w.id) } : shown;
  };
  return [
    route({
      method: "POST",
      path: "/v1/webhooks",
      summary:
        "Subscribe an endpoint URL (a webhook, `wh_…`), in a format, or an EventBridge bus; its signing secret is returned once",
      auth: true,
      body: s.createWebhookBody,
      responses: {
        201: { description: "the webhook and its secret", schema: v.webhookWithSecret },
        422: "the SSRF guard refuses the URL, a header cannot be sent, the rate limit is out of range, the format is unknown, or the EventBridge bus, region or account is not one (or comes with a format or headers)",
      },
      handler: async ({ body }) => {
        const { webhook, secret } = await createWebhook(deps.registration, body);
        return json(201, { ...webhookView(webhook), secret });
      },
    }),
    route({
      method: "GET",
      path: "/v1/webhooks",
      summary:
        "List webhooks (without secrets), each with its circuit; ?expand=last24h adds each one's last 24 hours of attempts",
      auth: true,
      query: s.webhooksQuery,
      responses: { 200: { description: "every webhook (never paged)", schema: v.listOf(v.webhookWithCircuit) } },
      handler: async ({ query }) =>
        json(200, listView(await Promise.all((await store.listWebhooks()).map((w) => view(w, query.expand))))),
    }),
    route({
      method: "GET",
      path: "/v1/webhooks/{id}",
      summary: "One webhook with its circuit; ?expand=last24h adds its last 24 hours of attempts",
      auth: true,
      query: s.webhooksQuery,
      responses: { 200: { description: "the webhook", schema: v.webhookWithCircuit }, 404: "no such webhook" },
      handler: async ({ params, query }) => {
        const webhook = await store.getWebhook(params.id);
        if (!webhook) throw new HttpError(404, "not_found", "no such webhook");
        return json(200, await view(webhook, query.expand));
      },
    }),
    route({
      method: "PATCH",
      path: "/v1/webhooks/{id}",
      summary:
        "Change a webhook's URL or EventBridge bus, format, filters, headers or rate limit, or enable/disable it",
      auth: true,
      body: s.patchWebhookBody,
      responses: {
        200: { description: "the webhook", schema: v.webhookWithCircuit },
        404: "no such webhook",
        422: "the SSRF guard refuses the URL, a header cannot be sent, the rate limit is out of range, the format is unknown, or the EventBridge bus, region or account is not one (or comes with a format or headers)",
      },
      handler: async ({ params, body }) =>
        json(200, await view(await patchWebhook(deps.registration, params.id, body), undefined)),
    }),
    route({
      method: "DELETE",
      path: "/v1/webhooks/{id}",
      summary: "Delete a webhook",
      auth: true,
      responses: { 204: "deleted", 404: "no such webhook" },
      handler: async ({ params }) => {
        await deleteWebhook(store, params.id);
        return { status: 204, headers: {}, body: "" };
      },
    }),
    route({
      method: "POST",
      path: "/v1/webhooks/{id}/rotate-secret",
      summary: "A new secret; the old one keeps signing for 24 h",
      auth: true,
      responses: { 200: { description: "the new secret", schema: v.rotatedWebhook }, 404: "no such webhook" },
      handler: async ({ params }) => {
        const { webhook, secret } = await rotateWebhookSecret({ store, clock: deps.clock }, params.id);
        const validUntil = Math.max(...webhook.secrets.map((x) => x.expiresAtMs ?? 0));
        return json(200, {
          ...webhookView(webhook),
          secret,
          previousSecretValidUntil: new Date(validUntil).toISOString(),
        });
      },
    }),
    route({
      method: "POST",
      path: "/v1/webhooks/{id}/test",
      summary:
        "Send a signed webhook.test event to the endpoint now and return the outcome of that one attempt (nothing is stored)",
      auth: true,
      responses: {
        200: { description: "the outcome of the attempt", schema: v.testOutcome },
        404: "no such webhook",
        422: "the webhook publishes to an EventBridge bus, not a URL",
        429: "the webhook's rate limit has no request to spare now (Retry-After says when)",
      },
      handler: async ({ params }) => {
        const webhook = await store.getWebhook(params.id);
        if (!webhook) throw new HttpError(404, "not_found", "no such webhook");
        if (webhook.eventBridge) {
          throw new HttpError(
            422,
            "invalid_value",
            "this webhook publishes to an EventBridge bus: a test send POSTs to URL webhooks only",
          );
        }
        const nowMs = deps.clock.now();
        // A test send is a request to the endpoint like any other: it takes a slot of the endpoint's
        // rate limit (shared with deliveries, keyed as they are), or waits for none and says when.
        const perSecond = webhook.rateLimitPerSecond;
        if (perSecond !== undefined) {
          const rates = new RateLimits({ store, clock: deps.clock });
          const slot = await rates.reserve(webhook.id, perSecond, (slotNowMs) => slotNowMs);
          if (!("atMs" in slot)) {
            const retryAfterS = Math.max(1, Math.ceil((slot.notBeforeMs - nowMs) / 1000));
            throw new HttpError(
              429,
              "rate_limited",
              `this webhook takes at most ${perSecond} requests a second, deliveries included; try again in ${retryAfterS} s`,
              [],
              { "retry-after": String(retryAfterS) },
            );
          }
        }
        const msgId = `msg_test_${randomUUID().replaceAll("-", "")}`;
        const test: z.input<typeof TEST_EVENT_SCHEMA> = {
          type: "webhook.test",
          timestamp: new Date(nowMs).toISOString(),
          data: { webhookId: webhook.id },
        };
        // The message id, not the webhook's: `webhookId` held it until 0.2 and was renamed for that.
        const outcome = { delivered: false, messageId: msgId };
        try {
          const r = await sendSigned(
            {
              ...testMessage(webhook, test, msgId),
              url: webhook.url,
              secrets: webhook.secrets,
              custom: webhook.headers,
            },
            {
              clock: deps.clock,
              sender: deps.sender,
              allowPrivateTargets: deps.config.delivery.allowPrivateTargets,
              resolve: deps.registration.resolve,
              // The caller is waiting, and sees the failure: no quick retries.
              quickRetries: 0,
            },
          );
          const ok = r.statusCode !== undefined && r.statusCode >= 200 && r.statusCode < 300;
          return json(200, {
            ...outcome,
            delivered: ok,
            statusCode: r.statusCode ?? null,
            error: r.error ?? null,
            response: r.excerpt ?? null,
            durationMs: Math.round(r.durationMs),
          });
        } catch (error) {
          if (!(error instanceof RefusedTargetError)) throw error;
          const refused = `refused target: ${error.message}`;
          deps.log?.({
            level: "info",
            msg: "webhook test refused",
            webhookId: webhook.id,
            address: error.address,
            error: refused,
          });
          return json(200, { ...outcome, statusCode: null, error: refused, response: null, durationMs: 0 });
        }
      },
    }),
  ];
}

/**
 * The test event as the webhook's format frames it: in a CloudEvents format its source is the relay
 * itself (a test belongs to no workspace) and its subject the webhook.
 */
function testMessage(webhook: WebhookRow, test: z.input<typeof TEST_EVENT_SCHEMA>, msgId: string) {
  if (webhook.format === undefined || webhook.format === "standard") return { msgId, body: JSON.stringify(test) };
  const framed = frameCloudEvent(
    webhook.format,
    {
      specversion: CLOUDEVENTS_SPEC_VERSION,
      id: msgId,
      source: SOURCE_URN,
      type: test.type,
      subject: webhook.id,
      time: test.timestamp,
      datacontenttype: "application/json",
    },
    test.data,
  );
  return { msgId, body: framed.body, contentType: framed.contentType, framing: framed.headers };
}
