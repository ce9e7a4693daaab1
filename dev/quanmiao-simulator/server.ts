/**
 * A local Quanmiao API: GetVideoAnalysisTask, GetVideoAnalysisConfig and SubmitVideoAnalysisTask
 * over real HTTP on 127.0.0.1, behind a gateway that checks signatures like the real one. Used by
 * the tests, the benchmarks and `npm start`'s sandbox mode, in-process or as its own process.
 */

import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Clock, systemClock } from "../../lib/clock.js";
import { type ActionName, matchActionPath } from "../../lib/quanmiao/actions.js";
import { listenOnLoopback } from "../loopback.js";
import { between, seededRandom } from "../seeded-random.js";
import { type Fault, FaultPlan } from "./faults.js";
import { Gateway, type SimCredential } from "./gateway.js";
import { taskData } from "./results.js";
import { type Outcome, type SimTask, SimWorkspace } from "./workspace.js";

export const SIM_CREDENTIAL: SimCredential = {
  accessKeyId: "sim-access-key-id",
  accessKeySecret: "sim-access-key-secret",
};

export interface SimulatorOptions {
  readonly port?: number;
  readonly clock?: Clock;
  readonly credentials?: readonly SimCredential[];
  /** Known workspaces and their asyncConcurrency. */
  readonly workspaces?: Readonly<Record<string, number>>;
  /** Create unknown workspaces on first use (else they answer NoPermission). Default true. */
  readonly openWorkspaces?: boolean;
  readonly defaultConcurrency?: number;
  /** How long a task runs once started: fixed, or a [min, max] range. */
  readonly runMs?: number | readonly [number, number];
  /** Share of submitted tasks that end FAILED and CANCELED. */
  readonly failureRate?: number;
  readonly cancelRate?: number;
  readonly seed?: string;
  /** Skip the gateway's checks (benchmarks only: lets an unsigned baseline do the same work). */
  readonly verifySignatures?: boolean;
}

export interface AddTaskOptions {
  readonly taskId?: string;
  readonly runMs?: number;
  readonly outcome?: Outcome;
  readonly submittedAtMs?: number;
  readonly request?: Readonly<Record<string, string>>;
}

export interface SimulatorStats {
  readonly calls: Record<ActionName, number>;
  /** Requests refused by the gateway (signature, date, key …). */
  readonly rejected: number;
  /** TCP connections accepted since start (or the last reset). */
  readonly connections: number;
}

export interface Simulator {
  readonly url: string;
  readonly faults: FaultPlan;
  readonly gateway: Gateway;
  addTask(workspaceId: string, options?: AddTaskOptions): SimTask;
  workspace(workspaceId: string, asyncConcurrency?: number): SimWorkspace;
  denyWorkspace(workspaceId: string, denied?: boolean): void;
  /** What GetVideoAnalysisTask would return as `data` right now. */
  taskData(workspaceId: string, taskId: string): Record<string, unknown> | undefined;
  stats(): SimulatorStats;
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const NO_PERMISSION = "You are not authorized to perform this action , Please check the assignment of the workspaceId.";

function zeroCalls(): Record<ActionName, number> {
  return { GetVideoAnalysisTask: 0, GetVideoAnalysisConfig: 0, SubmitVideoAnalysisTask: 0 };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? "quanmiao-simulator";
  const gateway = new Gateway(options.credentials ?? [SIM_CREDENTIAL]);
  const faults = new FaultPlan();
  const workspaces = new Map<string, SimWorkspace>();
  const denied = new Set<string>();
  const openWorkspaces = options.openWorkspaces ?? true;
  const defaultConcurrency = options.defaultConcurrency ?? 2;
  const runRange: readonly [number, number] =
    typeof options.runMs === "number" ? [options.runMs, options.runMs] : (options.runMs ?? [20_000, 60_000]);
  const dedup = new Map<string, { taskId: string; atMs: number }>();
  let calls = zeroCalls();
  let rejected = 0;
  let connections = 0;
  let sequence = 0;

  for (const [id, concurrency] of Object.entries(options.workspaces ?? {})) {
    workspaces.set(id, new SimWorkspace(id, concurrency));
  }

  function workspace(id: string, asyncConcurrency?: number): SimWorkspace {
    let ws = workspaces.get(id);
    if (!ws) {
      ws = new SimWorkspace(id, asyncConcurrency ?? defaultConcurrency);
      workspaces.set(id, ws);
    } else if (asyncConcurrency !== undefined && asyncConcurrency !== ws.asyncConcurrency) {
      ws.setConcurrency(asyncConcurrency, clock.now());
    }
    return ws;
  }

  function addTask(workspaceId: string, add: AddTaskOptions = {}): SimTask {
    sequence++;
    const taskId =
      add.taskId ?? createHash("sha256").update(`${seed}/${workspaceId}/${sequence}`).digest("hex").slice(0, 32);
    const random = seededRandom(`${seed}/${taskId}`);
    const roll = random();
    const failureRate = options.failureRate ?? 0.1;
    const outcome: Outcome =
      add.outcome ??
      (roll < failureRate ? "FAILED" : roll < failureRate + (options.cancelRate ?? 0.05) ? "CANCELED" : "SUCCESSED");
    const task: SimTask = {
      taskId,
      workspaceId,
      submittedAtMs: add.submittedAtMs ?? clock.now(),
      runMs: add.runMs ?? between(random, runRange[0], runRange[1]),
      outcome,
      request: add.request ?? {},
    };
    workspace(workspaceId).add(task);
    return task;
  }

  function findTaskData(workspaceId: string, taskId: string): Record<string, unknown> | undefined {
    const ws = workspaces.get(workspaceId);
    const task = ws?.tasks.get(taskId);
    if (!ws || !task) return undefined;
    const now = clock.now();
    return taskData(task, ws.statusOf(task, now), now);
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json;charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  /** Gateway-level errors use capitalised keys; product errors use the lowercase envelope. */
  function gatewayError(res: ServerResponse, status: number, code: string, message: string, headers = {}): void {
    send(
      res,
      status,
      { RequestId: randomUUID().toUpperCase(), HostId: "quanmiaolightapp.simulator", Code: code, Message: message },
      headers,
    );
  }

  function productAnswer(res: ServerResponse, status: number, fields: Record<string, unknown>): void {
    send(res, status, { requestId: randomUUID().toUpperCase(), httpStatusCode: status, ...fields });
  }

  function fail(res: ServerResponse, fault: Fault): void {
    switch (fault.kind) {
      case "throttle":
        return gatewayError(
          res,
          429,
          "Throttling.User",
          "Request was denied due to user flow control.",
          fault.retryAfterMs === undefined ? {} : { "x-acs-retry-after": String(fault.retryAfterMs) },
        );
      case "serverError": {
        const status = fault.status ?? 500;
        return gatewayError(
          res,
          status,
          status === 503 ? "ServiceUnavailable" : "InternalError",
          "The request processing has failed due to some unknown error.",
        );
      }
      case "malformed": {
        const text = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        res.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(text) });
        return void res.end(text);
      }
      case "truncated": {
        const text = JSON.stringify({ requestId: randomUUID(), success: true, data: { taskStatus: "RUNNING" } });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        return void setImmediate(() => res.socket?.destroy());
      }
      case "drop":
        return void res.socket?.destroy();
      case "noPermission":
        return productAnswer(res, 403, { code: "NoPermission", message: NO_PERMISSION, success: false });
      case "notFound":
        return productAnswer(res, 200, { code: "DataNotExists", message: "任务不存在", success: false });
      case "latency":
        return;
    }
  }

  function handleAction(
    res: ServerResponse,
    action: ActionName,
    workspaceId: string,
    query: URLSearchParams,
    body: Buffer,
  ): void {
    const now = clock.now();
    if (denied.has(workspaceId) || (!openWorkspaces && !workspaces.has(workspaceId))) {
      return productAnswer(res, 403, { code: "NoPermission", message: NO_PERMISSION, success: false });
    }
    const ws = workspace(workspaceId);
    const ok = (data: unknown) =>
      productAnswer(res, 200, { code: "successful", message: "success", success: true, data });
    switch (action) {
      case "GetVideoAnalysisTask": {
        const taskId = query.get("taskId");
        if (!taskId)
          return productAnswer(res, 400, { code: "MissingParameter", message: "taskId is mandatory", success: false });
        const data = findTaskData(workspaceId, taskId);
        if (!data) return productAnswer(res, 200, { code: "DataNotExists", message: "任务不存在", success: false });
        return ok(data);
      }
      case "GetVideoAnalysisConfig":
        return ok({ asyncConcurrency: ws.asyncConcurrency });
      case "SubmitVideoAnalysisTask": {
        const form = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
        if (!form.videoUrl && !form.videoUrls) {
          return productAnswer(res, 400, {
            code: "MissingParameter",
            message: "videoUrl is mandatory",
            success: false,
          });
        }
        const dedupKey = form.deduplicationId ? JSON.stringify([workspaceId, form.deduplicationId]) : undefined;
        const earlier = dedupKey ? dedup.get(dedupKey) : undefined;
        if (earlier && now - earlier.atMs < 72 * 3_600_000) {
          // The documented behaviour is a refusal; the code name is our guess (unconfirmed).
          return productAnswer(res, 400, {
            code: "Idempotence.Duplicated",
            message: `deduplicationId was used within 72 h (task ${earlier.taskId})`,
            success: false,
          });
        }
        const hints = simHints(form.videoUrl);
        const task = addTask(workspaceId, { request: form, ...hints });
        if (dedupKey) dedup.set(dedupKey, { taskId: task.taskId, atMs: now });
        return ok({ taskId: task.taskId });
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES)
        return gatewayError(res, 413, "RequestEntityTooLarge", "The request body is too large.");
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
    const route = matchActionPath(rawPath);
    const method = req.method ?? "GET";
    const expectedMethod = route ? (route.action === "SubmitVideoAnalysisTask" ? "POST" : "GET") : undefined;
    if (!route || method !== expectedMethod) {
      return gatewayError(
        res,
        404,
        "InvalidApi.NotFound",
        `Specified api is not found, please check your url and method.`,
      );
    }
    const rejection =
      options.verifySignatures === false
        ? undefined
        : gateway.check({ method, rawPath, rawQuery, headers: req.headers, body }, route.action, clock.now());
    if (rejection) {
      rejected++;
      return gatewayError(res, rejection.status, rejection.code, rejection.message);
    }
    calls[route.action]++;
    const query = new URLSearchParams(rawQuery);
    const { latencyMs, failure } = faults.take({
      action: route.action,
      workspaceId: route.workspaceId,
      taskId: query.get("taskId") ?? undefined,
    });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (res.destroyed) return;
    if (failure) return fail(res, failure);
    handleAction(res, route.action, route.workspaceId, query, body);
  }

  const loopback = await listenOnLoopback((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) gatewayError(res, 500, "InternalError", "simulator failure");
      else res.destroy();
    });
  }, options.port);
  loopback.server.on("connection", () => {
    connections++;
  });

  return {
    url: loopback.url,
    faults,
    gateway,
    addTask,
    workspace,
    denyWorkspace(id, isDenied = true) {
      if (isDenied) denied.add(id);
      else denied.delete(id);
    },
    taskData: findTaskData,
    stats: () => ({ calls: { ...calls }, rejected, connections }),
    resetStats() {
      calls = zeroCalls();
      rejected = 0;
      connections = 0;
    },
    close: loopback.close,
  };
}

/**
 * A submitted videoUrl may steer the simulated task: `?sim-outcome=FAILED&sim-run-ms=5000`.
 * Lets a person try every path from the CLI without touching code.
 */
function simHints(videoUrl: string | undefined): { outcome?: Outcome; runMs?: number } {
  if (!videoUrl) return {};
  try {
    const params = new URL(videoUrl).searchParams;
    const outcome = params.get("sim-outcome");
    const runMs = Number(params.get("sim-run-ms"));
    return {
      ...(outcome === "SUCCESSED" || outcome === "FAILED" || outcome === "CANCELED" ? { outcome } : {}),
      ...(params.has("sim-run-ms") && Number.isFinite(runMs) && runMs >= 0 ? { runMs } : {}),
    };
  } catch {
    return {};
  }
}
