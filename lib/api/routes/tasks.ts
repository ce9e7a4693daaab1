/** /v1/tasks: register (one or a batch), list, submit-and-register, and one task in full. */
import { randomUUID } from "node:crypto";
import { InputError } from "../../errors.js";
import { ApiError } from "../../quanmiao/errors.js";
import { type SubmitTaskRequest, submissionProfile } from "../../quanmiao/submit.js";
import type { JsonObject } from "../../quanmiao/task.js";
import { taskTiming } from "../../runtime-stats.js";
import type { DeliveryRow } from "../../store/store.js";
import { checkWebhookUrl, registerTask } from "../../tasks.js";
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { deliveryView, eventView, pageView, taskView, taskWebhookCircuits } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";

/**
 * A Quanmiao refusal on submit, said of the request: a repeated deduplicationId is a conflict, any
 * other business error the client's to fix. Everything else goes to the error table (502).
 */
function upstream(error: unknown): never {
  if (error instanceof InputError && error.field === undefined)
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
  throw error;
}

export function taskRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  return [
    route({
      method: "POST",
      path: "/v1/tasks",
      summary: "Register one task, or up to 1,000 as {tasks: [...]} with a result per item",
      auth: true,
      body: s.registerTasksBody,
      responses: { 200: "already registered, or the per-item results of a batch", 201: "registered" },
      handler: async ({ body }) => {
        if ("tasks" in body) {
          const results = [];
          for (const [index, item] of body.tasks.entries()) {
            try {
              const { task, created } = await registerTask(deps.registration, item);
              results.push({ index, workspaceId: task.workspaceId, taskId: task.taskId, created });
            } catch (error) {
              // One bad item does not fail the batch; anything but bad input does.
              if (!(error instanceof InputError)) throw error;
              results.push({
                index,
                workspaceId: item.workspaceId,
                taskId: item.taskId,
                error: { code: "invalid_request", message: error.message },
              });
            }
          }
          return json(200, { results });
        }
        const { task, created } = await registerTask(deps.registration, body);
        return json(created ? 201 : 200, { created, task: taskView(task) });
      },
    }),
    route({
      method: "GET",
      path: "/v1/tasks",
      summary: "List tasks, paged",
      auth: true,
      query: s.listTasksQuery,
      responses: { 200: "a page of tasks and the next cursor" },
      handler: async ({ query }) =>
        json(200, pageView(await store.listTasks({ ...query, limit: query.limit ?? 100 }), taskView)),
    }),
    route({
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
      handler: async ({ body }) => {
        // Check what we register before submitting, so a bad webhook never leaves a task unwatched.
        for (const [i, url] of (body.webhooks ?? []).entries())
          await checkWebhookUrl(`webhooks[${i}]`, url, deps.registration);
        const deduplicationId = body.deduplicationId ?? randomUUID();
        const request = body.request as SubmitTaskRequest;
        let taskId: string;
        try {
          ({ taskId } = await deps.client.submitTask(body.workspaceId, { ...request, deduplicationId }));
        } catch (error) {
          upstream(error);
        }
        const { task } = await registerTask(deps.registration, {
          workspaceId: body.workspaceId,
          taskId,
          ...(body.webhooks ? { webhooks: body.webhooks } : {}),
          ...(body.metadata ? { metadata: body.metadata as JsonObject } : {}),
          submittedAtMs: deps.clock.now(),
          profile: submissionProfile(request),
        });
        return json(201, { taskId, deduplicationId, task: taskView(task) });
      },
    }),
    route({
      method: "GET",
      path: "/v1/tasks/{workspaceId}/{taskId}",
      summary: "A task: status, poll summary, events, deliveries, its last result and its own webhook URLs' circuits",
      auth: true,
      responses: { 200: "the task", 404: "not registered" },
      handler: async ({ params }) => {
        const task = await store.getTask(params.workspaceId, params.taskId);
        if (!task) throw new HttpError(404, "not_found", "no such task is registered");
        const events = (await store.listEventsForTask(task.workspaceId, task.taskId)).map(eventView);
        const deliveries: DeliveryRow[] = [];
        for (const e of events) deliveries.push(...(await store.listDeliveries({ eventId: e.id, limit: 1_000 })).items);
        const last = [...events].reverse().find((e) => e.body.data?.task !== undefined);
        return json(200, {
          task: taskView(task),
          timing: await taskTiming(store, task, deps.config.poll.detectionTargetMs, deps.clock.now()),
          events,
          deliveries: deliveries.map(deliveryView),
          webhookCircuits: await taskWebhookCircuits(store, task),
          lastResult: last?.body.data?.task ?? null,
        });
      },
    }),
    route({
      method: "DELETE",
      path: "/v1/tasks/{workspaceId}/{taskId}",
      summary: "Erase a task: its row, its events' payloads and all their deliveries (pending ones are never sent)",
      auth: true,
      responses: { 204: "erased", 404: "not registered" },
      handler: async ({ params }) => {
        if (!(await store.eraseTask(params.workspaceId, params.taskId)))
          throw new HttpError(404, "not_found", "no such task is registered");
        return { status: 204, headers: {}, body: "" };
      },
    }),
  ];
}
