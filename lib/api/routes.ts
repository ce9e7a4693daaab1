/** The API's endpoints under /v1: each validates through its schemas and calls the library. */
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import { checkTarget, TargetRefusedError } from "../delivery/guard.js";
import type { WebhookSender } from "../delivery/send.js";
import { webhookHeaders } from "../delivery/sign.js";
import type { QuanmiaoClient } from "../quanmiao/client.js";
import { ApiError, InvalidArgumentError, QuanmiaoError } from "../quanmiao/errors.js";
import type { JsonObject } from "../quanmiao/schema.js";
import { type SubmitTaskRequest, submissionProfile } from "../quanmiao/submit.js";
import { taskTiming } from "../runtime-stats.js";
import { activeSecrets } from "../secrets.js";
import type { DeliveryRow, Store, TaskRow } from "../store/store.js";
import { checkWebhookUrl, type RegistrationDeps, registerTask } from "../tasks.js";
import { createWebhook, deleteWebhook, patchWebhook, rotateWebhookSecret, webhookView } from "../webhooks.js";
import { HttpError, json } from "./http.js";
import { openApiDocument } from "./openapi.js";
import type { Route, RouteContext } from "./router.js";
import * as s from "./schemas.js";

export interface ApiDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly registration: RegistrationDeps;
  readonly client: QuanmiaoClient;
  readonly sender: WebhookSender;
  readonly config: Config;
}

type Body<T extends keyof typeof s> = (typeof s)[T] extends { _output: infer O } ? O : never;

function taskView(t: TaskRow) {
  return {
    workspaceId: t.workspaceId,
    taskId: t.taskId,
    state: t.state,
    status: t.status ?? null,
    submittedAt: new Date(t.submittedAtMs).toISOString(),
    registeredAt: new Date(t.registeredAtMs).toISOString(),
    nextPollAt: t.state === "active" ? new Date(t.nextPollAtMs).toISOString() : null,
    pollCount: t.pollCount,
    lastPolledAt: t.lastPolledAtMs === undefined ? null : new Date(t.lastPolledAtMs).toISOString(),
    lastError: t.lastError ?? null,
    webhooks: t.webhookUrls,
    metadata: t.metadata,
    profile: t.profile ?? null,
    runningSince: t.runningSinceMs === undefined ? null : new Date(t.runningSinceMs).toISOString(),
    finishedAt: t.terminalAtMs === undefined ? null : new Date(t.terminalAtMs).toISOString(),
  };
}

function deliveryView(d: DeliveryRow) {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookId: d.webhookId,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === "pending" ? new Date(d.nextAttemptAtMs).toISOString() : null,
    lastAttemptAt: d.lastAttemptAtMs === undefined ? null : new Date(d.lastAttemptAtMs).toISOString(),
    lastStatusCode: d.lastStatusCode ?? null,
    lastError: d.lastError ?? null,
    lastResponse: d.lastResponse ?? null,
    deliveredAt: d.deliveredAtMs === undefined ? null : new Date(d.deliveredAtMs).toISOString(),
  };
}

/** A Quanmiao failure on submit: the client's mistake (4xx) or the upstream's (502). */
function upstream(error: unknown): never {
  if (error instanceof InvalidArgumentError)
    throw new HttpError(400, "invalid_request", error.message, [{ field: "request", message: error.message }]);
  if (error instanceof ApiError && /duplicat|idempot/i.test(error.code ?? "")) {
    // The API refuses a deduplicationId it saw in the last 72 h: the same submission again.
    throw new HttpError(409, "duplicate_submission", error.describe(), [
      { field: "deduplicationId", message: error.message },
    ]);
  }
  if (error instanceof ApiError) {
    throw new HttpError(422, "upstream_rejected", error.describe(), [{ field: "request", message: error.message }]);
  }
  if (error instanceof QuanmiaoError) throw new HttpError(502, "upstream_unavailable", error.describe());
  throw error;
}

export function apiRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  const routes: Route[] = [
    {
      method: "POST",
      path: "/v1/tasks",
      summary: "Register one task, or up to 1,000 as {tasks: [...]} with a result per item",
      auth: true,
      body: s.registerTasksBody,
      responses: { 200: "already registered, or the per-item results of a batch", 201: "registered" },
      handler: async ({ body }: RouteContext<Body<"registerTasksBody">>) => {
        if ("tasks" in body) {
          const results = [];
          for (const [index, item] of body.tasks.entries()) {
            try {
              const { task, created } = await registerTask(deps.registration, item);
              results.push({ index, workspaceId: task.workspaceId, taskId: task.taskId, created });
            } catch (error) {
              const e = error as Error & { field?: string };
              if (!("field" in e)) throw error;
              results.push({
                index,
                workspaceId: item.workspaceId,
                taskId: item.taskId,
                error: { code: "invalid_request", message: e.message },
              });
            }
          }
          return json(200, { results });
        }
        const { task, created } = await registerTask(deps.registration, body);
        return json(created ? 201 : 200, { created, task: taskView(task) });
      },
    },
    {
      method: "GET",
      path: "/v1/tasks",
      summary: "List tasks, paged",
      auth: true,
      query: s.listTasksQuery,
      responses: { 200: "a page of tasks and the next cursor" },
      handler: async ({ query }: RouteContext<never, Body<"listTasksQuery">>) => {
        const page = await store.listTasks({
          limit: query.limit ?? 100,
          ...(query.status ? { status: query.status } : {}),
          ...(query.state ? { state: query.state } : {}),
          ...(query.workspaceId ? { workspaceId: query.workspaceId } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        return json(200, { items: page.items.map(taskView), cursor: page.cursor ?? null });
      },
    },
    {
      method: "POST",
      path: "/v1/tasks/submit",
      summary: "Submit a video to SubmitVideoAnalysisTask and register the new task (submit and forget)",
      auth: true,
      body: s.submitTaskBody,
      responses: {
        201: "submitted and registered",
        409: "this deduplicationId was used within 72 h",
        422: "the API refused the submission",
        502: "the API failed",
      },
      handler: async ({ body }: RouteContext<Body<"submitTaskBody">>) => {
        // Check what we register before submitting, so a bad webhook never leaves a task unwatched.
        for (const [i, url] of (body.webhooks ?? []).entries())
          await checkWebhookUrl(`webhooks[${i}]`, url, deps.registration);
        const deduplicationId = body.deduplicationId ?? randomUUID();
        let taskId: string;
        try {
          ({ taskId } = await deps.client.submitTask(body.workspaceId, {
            ...(body.request as SubmitTaskRequest),
            deduplicationId,
          }));
        } catch (error) {
          upstream(error);
        }
        const { task } = await registerTask(deps.registration, {
          workspaceId: body.workspaceId,
          taskId,
          ...(body.webhooks ? { webhooks: body.webhooks } : {}),
          ...(body.metadata ? { metadata: body.metadata as JsonObject } : {}),
          submittedAtMs: deps.clock.now(),
          profile: submissionProfile(body.request as SubmitTaskRequest),
        });
        return json(201, { taskId, deduplicationId, task: taskView(task) });
      },
    },
    {
      method: "GET",
      path: "/v1/tasks/{workspaceId}/{taskId}",
      summary: "A task: status, poll summary, events, deliveries and its last result",
      auth: true,
      responses: { 200: "the task", 404: "not registered" },
      handler: async ({ params }) => {
        const task = await store.getTask(params.workspaceId as string, params.taskId as string);
        if (!task) throw new HttpError(404, "not_found", "no such task is registered");
        const events = (await store.listEventsForTask(task.workspaceId, task.taskId)).map((e) => ({
          id: e.id,
          type: e.type,
          createdAt: new Date(e.createdAtMs).toISOString(),
          body: JSON.parse(e.body) as { data?: { task?: unknown } },
        }));
        const deliveries: DeliveryRow[] = [];
        for (const e of events) deliveries.push(...(await store.listDeliveries({ eventId: e.id, limit: 1_000 })).items);
        const last = [...events].reverse().find((e) => e.body.data?.task !== undefined);
        return json(200, {
          task: taskView(task),
          timing: await taskTiming(store, task, deps.config.poll.detectionTargetMs, deps.clock.now()),
          events,
          deliveries: deliveries.map(deliveryView),
          lastResult: last?.body.data?.task ?? null,
        });
      },
    },
    {
      method: "POST",
      path: "/v1/webhooks",
      summary: "Subscribe a URL; the secret is returned once",
      auth: true,
      body: s.createWebhookBody,
      responses: { 201: "the webhook and its secret", 422: "the SSRF guard refuses the URL" },
      handler: async ({ body }: RouteContext<Body<"createWebhookBody">>) => {
        const { webhook, secret } = await createWebhook(deps.registration, body);
        return json(201, { ...webhookView(webhook), secret });
      },
    },
    {
      method: "GET",
      path: "/v1/webhooks",
      summary: "List webhooks (without secrets)",
      auth: true,
      responses: { 200: "the webhooks" },
      handler: async () => json(200, { items: (await store.listWebhooks()).map(webhookView) }),
    },
    {
      method: "GET",
      path: "/v1/webhooks/{id}",
      summary: "One webhook",
      auth: true,
      responses: { 200: "the webhook", 404: "no such webhook" },
      handler: async ({ params }) => {
        const webhook = await store.getWebhook(params.id as string);
        if (!webhook) throw new HttpError(404, "not_found", "no such webhook");
        return json(200, webhookView(webhook));
      },
    },
    {
      method: "PATCH",
      path: "/v1/webhooks/{id}",
      summary: "Change a webhook's URL, filters, headers, or enable/disable it",
      auth: true,
      body: s.patchWebhookBody,
      responses: { 200: "the webhook", 404: "no such webhook", 422: "the SSRF guard refuses the URL" },
      handler: async ({ params, body }: RouteContext<Body<"patchWebhookBody">>) =>
        json(200, webhookView(await patchWebhook(deps.registration, params.id as string, body))),
    },
    {
      method: "DELETE",
      path: "/v1/webhooks/{id}",
      summary: "Delete a webhook",
      auth: true,
      responses: { 204: "deleted", 404: "no such webhook" },
      handler: async ({ params }) => {
        await deleteWebhook(store, params.id as string);
        return { status: 204, headers: {}, body: "" };
      },
    },
    {
      method: "POST",
      path: "/v1/webhooks/{id}/rotate-secret",
      summary: "A new secret; the old one keeps signing for 24 h",
      auth: true,
      responses: { 200: "the new secret", 404: "no such webhook" },
      handler: async ({ params }) => {
        const { webhook, secret } = await rotateWebhookSecret({ store, clock: deps.clock }, params.id as string);
        const validUntil = Math.max(...webhook.secrets.map((x) => x.expiresAtMs ?? 0));
        return json(200, {
          ...webhookView(webhook),
          secret,
          previousSecretValidUntil: new Date(validUntil).toISOString(),
        });
      },
    },
    {
      method: "POST",
      path: "/v1/webhooks/{id}/test",
      summary: "Send a signed webhook.test event now and return the outcome",
      auth: true,
      responses: { 200: "the outcome of the attempt", 404: "no such webhook" },
      handler: async ({ params }) => {
        const webhook = await store.getWebhook(params.id as string);
        if (!webhook) throw new HttpError(404, "not_found", "no such webhook");
        const nowMs = deps.clock.now();
        const msgId = `msg_test_${randomUUID().replaceAll("-", "")}`;
        const body = JSON.stringify({
          type: "webhook.test",
          timestamp: new Date(nowMs).toISOString(),
          data: { webhookId: webhook.id },
        });
        try {
          const target = await checkTarget(webhook.url, {
            allowPrivate: deps.config.delivery.allowPrivateTargets,
            resolve: deps.registration.resolve,
          });
          const headers = webhookHeaders({
            msgId,
            secrets: activeSecrets(webhook.secrets, nowMs),
            nowMs,
            body,
            custom: webhook.headers,
          });
          const r = await deps.sender.send({ target, headers, body }, () => deps.clock.now());
          const ok = r.statusCode !== undefined && r.statusCode >= 200 && r.statusCode < 300;
          return json(200, {
            delivered: ok,
            webhookId: msgId,
            statusCode: r.statusCode ?? null,
            error: r.error ?? null,
            response: r.excerpt ?? null,
            durationMs: Math.round(r.durationMs),
          });
        } catch (error) {
          if (!(error instanceof TargetRefusedError)) throw error;
          return json(200, {
            delivered: false,
            webhookId: msgId,
            statusCode: null,
            error: `refused target: ${error.message}`,
            response: null,
            durationMs: 0,
          });
        }
      },
    },
    {
      method: "GET",
      path: "/v1/deliveries",
      summary: "List deliveries, paged",
      auth: true,
      query: s.listDeliveriesQuery,
      responses: { 200: "a page of deliveries and the next cursor" },
      handler: async ({ query }: RouteContext<never, Body<"listDeliveriesQuery">>) => {
        const page = await store.listDeliveries({
          limit: query.limit ?? 100,
          ...(query.status ? { status: query.status } : {}),
          ...(query.webhookId ? { webhookId: query.webhookId } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        return json(200, { items: page.items.map(deliveryView), cursor: page.cursor ?? null });
      },
    },
    {
      method: "POST",
      path: "/v1/deliveries/{id}/replay",
      summary: "Send a delivery again (same webhook-id) in the next run",
      auth: true,
      responses: { 202: "queued", 404: "no such delivery" },
      handler: async ({ params }) => {
        const replayed = await store.replayDelivery(params.id as string, deps.clock.now());
        if (!replayed) throw new HttpError(404, "not_found", "no such delivery");
        return json(202, deliveryView(replayed));
      },
    },
    {
      method: "GET",
      path: "/v1/healthz",
      summary: "Liveness: checks that the store answers (no auth)",
      auth: false,
      responses: { 200: "healthy", 503: "the store does not answer" },
      handler: async () => {
        try {
          await store.getSetting("healthz");
          return json(200, { ok: true });
        } catch {
          return json(503, {
            ok: false,
            error: { code: "store_unavailable", message: "the store does not answer", details: [] },
          });
        }
      },
    },
    {
      method: "GET",
      path: "/v1/openapi.json",
      summary: "This API's OpenAPI 3.1 document (no auth)",
      auth: false,
      responses: { 200: "the document" },
      handler: async () => json(200, openApiDocument(routes)),
    },
  ];
  return routes;
}
