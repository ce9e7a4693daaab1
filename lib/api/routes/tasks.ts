/** /v1/tasks: register (one or a batch), list, submit-and-register, and one task in full. */

import { classifyError } from "../../error-policy.js";
import { InputError, InvalidValueError } from "../../errors.js";
import { ApiError } from "../../quanmiao/errors.js";
import type { SubmitTaskRequest } from "../../quanmiao/submit.js";
import {
  SubmissionConflictError,
  type Submitted,
  submitAndRegister,
  UnregisteredSubmissionError,
} from "../../submissions.js";
import {
  type CheckedRegistration,
  checkRegistration,
  checkRegistrationUrls,
  type RegisterTaskRequest,
  registerTask,
  writeRegistration,
} from "../../tasks.js";
import { videoDurationReader } from "../../video/read-duration.js";
import type { ApiDeps } from "../deps.js";
import { HttpError, json } from "../http.js";
import { pageView, taskDetail, taskView } from "../presenters.js";
import { type Route, route } from "../router.js";
import * as s from "../schemas.js";
import * as v from "../views.js";

/**
 * A submission's failures, said of the request: a repeated deduplicationId is a conflict, any
 * other business error the client's to fix, and a task submitted but not registered is named so
 * the client can finish it. Everything else goes to the error table (422 for values, 502 upstream).
 */
function upstream(error: unknown): never {
  if (error instanceof UnregisteredSubmissionError) {
    throw new HttpError(
      503,
      "registration_failed",
      error.message,
      [
        { field: "taskId", message: error.taskId },
        { field: "deduplicationId", message: error.deduplicationId },
      ],
      {},
      { cause: error },
    );
  }
  if (error instanceof SubmissionConflictError)
    throw new HttpError(409, "duplicate_submission", error.message, [
      { field: "deduplicationId", message: error.detail },
    ]);
  if (error instanceof InputError && error.field === undefined)
    throw new HttpError(400, "invalid_request", error.message, [{ field: "request", message: error.message }]);
  if (error instanceof ApiError && /duplicat|idempot/i.test(error.code ?? "")) {
    // The API refuses a deduplicationId it saw in the last 72 h that this relay has no task for.
    throw new HttpError(409, "duplicate_submission", error.describe(), [
      { field: "deduplicationId", message: error.message },
    ]);
  }
  if (error instanceof ApiError) {
    throw new HttpError(422, "upstream_rejected", error.describe(), [{ field: "request", message: error.message }]);
  }
  throw error;
}

type ItemResult =
  | { index: number; workspaceId: string; taskId: string; created: boolean }
  | {
      index: number;
      workspaceId: string;
      taskId: string;
      error: { code: string; message: string; field?: string };
    };

/**
 * A batch is checked whole before anything is written: a value the relay cannot accept in any item
 * (too deep, too large, control characters) refuses the batch (422, the item named); other bad
 * items get their own error result, as do URLs the SSRF guard refuses, and the rest are written.
 */
async function registerBatch(deps: ApiDeps, items: readonly RegisterTaskRequest[]): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  const refused = (index: number, item: RegisterTaskRequest, error: InputError) =>
    results.push({
      index,
      workspaceId: item.workspaceId,
      taskId: item.taskId,
      error: {
        // The code a single registration would answer with: `refused_target` for the SSRF guard's.
        code: classifyError(error).code,
        message: error.message,
        // As a 422 names it: the item's place in the body, then the field within the item.
        ...(error.field ? { field: `body.tasks[${index}].${error.field}` } : {}),
      },
    });
  const nowMs = deps.clock.now();
  const checked = new Map<number, CheckedRegistration>();
  for (const [index, item] of items.entries()) {
    try {
      checked.set(index, checkRegistration(item, nowMs));
    } catch (error) {
      if (error instanceof InvalidValueError) throw error.within(`body.tasks[${index}]`);
      if (!(error instanceof InputError)) throw error;
      refused(index, item, error);
    }
  }
  const ready: Array<[number, CheckedRegistration, string[]]> = [];
  for (const [index, registration] of checked) {
    try {
      ready.push([index, registration, await checkRegistrationUrls(deps.registration, registration.urls)]);
    } catch (error) {
      // Nothing is written yet, so a URL the relay cannot accept still refuses the batch whole.
      if (error instanceof InvalidValueError) throw error.within(`body.tasks[${index}]`);
      if (!(error instanceof InputError)) throw error;
      refused(index, items[index] as RegisterTaskRequest, error);
    }
  }
  for (const [index, registration, urls] of ready) {
    const { task, created } = await writeRegistration(deps.registration, registration, urls);
    results.push({ index, workspaceId: task.workspaceId, taskId: task.taskId, created });
  }
  return results.sort((a, b) => a.index - b.index);
}

export function taskRoutes(deps: ApiDeps): Route[] {
  const { store } = deps;
  // Made here, not in the relay: only the API submits, so the poll and deliver bundles leave it out.
  const videoDuration =
    deps.videoDuration ??
    videoDurationReader({
      allowPrivateTargets: deps.registration.allowPrivateTargets,
      resolve: deps.registration.resolve,
      log: deps.log,
    });
  return [
    route({
      method: "POST",
      path: "/v1/tasks",
      summary: "Register one task, or up to 1,000 as {tasks: [...]} with a result per item",
      auth: true,
      body: s.registerTasksBody,
      responses: {
        200: {
          description: "already registered, or the per-item results of a batch",
          schema: v.registered.or(v.batchResults),
        },
        201: { description: "registered", schema: v.registered },
      },
      handler: async ({ body }) => {
        if ("tasks" in body) return json(200, { results: await registerBatch(deps, body.tasks) });
        const { task, created } = await registerTask(deps.registration, body);
        return json(created ? 201 : 200, { created, task: taskView(task) });
      },
    }),
    route({
      method: "GET",
      path: "/v1/tasks",
      summary: "List tasks newest registration first, paged",
      auth: true,
      query: s.listTasksQuery,
      responses: { 200: { description: "a page of tasks and the next cursor", schema: v.pageOf(v.taskView) } },
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
        200: {
          description: "a repeat of an earlier submission (same deduplicationId): its task, registered",
          schema: v.submitted,
        },
        201: { description: "submitted and registered", schema: v.submitted },
        409: "this deduplicationId was used within 72 h for another submission, or outside this relay",
        422: "the API refused the submission",
        502: "the API failed",
        503: "submitted, but not registered: repeat with the same deduplicationId (the task id is in the answer)",
      },
      handler: async ({ body }) => {
        let submitted: Submitted;
        try {
          submitted = await submitAndRegister(
            { ...deps, videoDuration },
            {
              workspaceId: body.workspaceId,
              request: body.request as SubmitTaskRequest,
              deduplicationId: body.deduplicationId,
              webhooks: body.webhooks,
              metadata: body.metadata,
              videoDurationSeconds: body.videoDurationSeconds,
            },
          );
        } catch (error) {
          upstream(error);
        }
        const { taskId, deduplicationId, task, created } = submitted;
        return json(created ? 201 : 200, { created, taskId, deduplicationId, task: taskView(task) });
      },
    }),
    route({
      method: "GET",
      path: "/v1/tasks/{workspaceId}/{taskId}",
      summary: "A task: status, poll summary, events, deliveries, its last result and its own webhook URLs' circuits",
      auth: true,
      responses: { 200: { description: "the task", schema: v.taskDetail }, 404: "not registered" },
      handler: async ({ params }) => {
        const task = await store.getTask(params.workspaceId, params.taskId);
        if (!task) throw new HttpError(404, "not_found", "no such task is registered");
        return json(200, await taskDetail(store, task, deps.config.poll.detectionTargetMs, deps.clock.now()));
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
