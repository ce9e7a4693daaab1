/**
 * The Quanmiao API client: signed ROA requests over one keep-alive undici pool per endpoint, with a
 * connect timeout and a total timeout on every call, and every failure mapped to an error class
 * (errors.ts) that says what to do next.
 */

import { randomUUID } from "node:crypto";
import type { Dispatcher } from "undici";
import { Pool } from "undici";
import { type Clock, systemClock } from "../clock.js";
import { DEFAULTS } from "../config.js";
import { withDeadline } from "../deadline.js";
import { coerceError } from "../errors.js";
import { USER_AGENT } from "../version.js";
import { ACTIONS, type ActionName, API_VERSION, actionPath, DEFAULT_ENDPOINT } from "./actions.js";
import type { CredentialsProvider } from "./credentials.js";
import { parseEndpoint } from "./endpoint.js";
import { CredentialsError, MalformedResponseError, QuanmiaoError, TransientError } from "./errors.js";
import { type Envelope, type HttpAnswer, interpretAnswer } from "./response.js";
import { acsDate, authorization, canonicalQuery, EMPTY_BODY_SHA256, sha256Hex } from "./sign.js";
import { encodeForm, type SubmitTaskRequest, toFormFields } from "./submit.js";
import { type JsonObject, looseNumber, type ParsedTask, parseTaskData } from "./task.js";
import { checkId, checkWorkspaceId } from "./validate.js";

export interface QuanmiaoClientOptions {
  /** Origin of the API; https, or http for a loopback simulator. */
  readonly endpoint?: string;
  readonly credentials: CredentialsProvider;
  readonly connectTimeoutMs?: number;
  /** Whole call, from sending to the last body byte. */
  readonly requestTimeoutMs?: number;
  /** Keep-alive connections in the pool. */
  readonly connections?: number;
  /** Largest body read before the answer counts as malformed (results can be large). */
  readonly maxResponseBytes?: number;
  /** Replaces the pool, e.g. with a MockAgent or a proxy; the client then does not close it. */
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
  readonly nonce?: () => string;
  readonly userAgent?: string;
}

export interface ConfigResult {
  /** Tasks the workspace runs at once; undefined when the API did not say. */
  readonly asyncConcurrency: number | undefined;
  readonly raw: JsonObject;
  readonly requestId: string | undefined;
}

export interface SubmitResult {
  readonly taskId: string;
  readonly requestId: string | undefined;
}

export interface QuanmiaoClient {
  getTask(workspaceId: string, taskId: string): Promise<ParsedTask>;
  getConfig(workspaceId: string): Promise<ConfigResult>;
  submitTask(workspaceId: string, request: SubmitTaskRequest): Promise<SubmitResult>;
  close(): Promise<void>;
}

const CLIENT_DEFAULTS = {
  ...DEFAULTS.quanmiao,
  maxResponseBytes: 32 * 1024 * 1024,
} as const;

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function networkError(action: string, cause: unknown): TransientError {
  const code = (cause as { code?: unknown })?.code;
  const name = (cause as { name?: unknown })?.name;
  const timedOut = name === "TimeoutError" || (typeof code === "string" && TIMEOUT_CODES.has(code));
  const detail = coerceError(cause).message;
  return new TransientError(
    timedOut ? `${action} timed out (${detail})` : `${action} failed on the network (${detail})`,
    { action, cause, kind: timedOut ? "timeout" : "network", code: typeof code === "string" ? code : undefined },
  );
}

async function readBody(response: Dispatcher.ResponseData, limit: number, action: string): Promise<string> {
  const { body } = response;
  const declared = Number(response.headers["content-length"]);
  // A declared length within the cap lets undici collect the body itself, which is cheaper than
  // counting chunks here; undici fails the read if fewer bytes arrive than promised.
  if (Number.isInteger(declared) && declared <= limit) return body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new MalformedResponseError(`${action} answered with a body over ${limit} bytes`, {
        action,
        excerpt: Buffer.concat(chunks).toString("utf8", 0, 200),
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function createQuanmiaoClient(options: QuanmiaoClientOptions): QuanmiaoClient {
  const origin = parseEndpoint(options.endpoint ?? DEFAULT_ENDPOINT);
  const connectTimeoutMs = options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? CLIENT_DEFAULTS.maxResponseBytes;
  const clock = options.clock ?? systemClock;
  // randomUUID draws from a pooled entropy buffer: no syscall per request, unlike randomBytes.
  const nonce = options.nonce ?? (() => randomUUID().replaceAll("-", ""));
  const userAgent = options.userAgent ?? USER_AGENT;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new Pool(origin.origin, {
      connections: options.connections ?? CLIENT_DEFAULTS.connections,
      connect: { timeout: connectTimeoutMs },
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });

  async function call(
    action: ActionName,
    workspaceId: string,
    query: Record<string, string>,
    form?: Record<string, string>,
  ): Promise<Envelope> {
    let credentials: Awaited<ReturnType<CredentialsProvider>>;
    try {
      credentials = await options.credentials();
    } catch (cause) {
      if (cause instanceof QuanmiaoError) throw cause;
      throw new CredentialsError("the credentials provider failed", { action, cause });
    }
    const body = form ? encodeForm(form) : "";
    const payloadHash = body ? sha256Hex(body) : EMPTY_BODY_SHA256;
    const pathname = actionPath(action, workspaceId);
    const headers: Record<string, string> = {
      host: origin.host,
      "x-acs-action": action,
      "x-acs-version": API_VERSION,
      "x-acs-date": acsDate(clock.now()),
      "x-acs-signature-nonce": nonce(),
      "x-acs-content-sha256": payloadHash,
    };
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    if (credentials.securityToken) {
      headers["x-acs-security-token"] = credentials.securityToken;
      headers["x-acs-accesskey-id"] = credentials.accessKeyId;
    }
    headers.authorization = authorization(
      { method: ACTIONS[action].method, pathname, query, headers, payloadHash },
      credentials,
    );
    headers["user-agent"] = userAgent;
    headers.accept = "application/json";

    const search = canonicalQuery(query);
    let answer: HttpAnswer;
    try {
      answer = await withDeadline(requestTimeoutMs, async (signal) => {
        const response = await dispatcher.request({
          origin: origin.origin,
          method: ACTIONS[action].method,
          path: search ? `${pathname}?${search}` : pathname,
          headers,
          body: body || null,
          signal,
        });
        const text = await readBody(response, maxResponseBytes, action);
        return { status: response.statusCode, headers: response.headers, body: text };
      });
    } catch (cause) {
      if (cause instanceof QuanmiaoError) throw cause;
      throw networkError(action, cause);
    }
    return interpretAnswer(action, answer, clock.now());
  }

  return {
    async getTask(workspaceId, taskId) {
      checkWorkspaceId("workspaceId", workspaceId);
      checkId("taskId", taskId);
      const envelope = await call("GetVideoAnalysisTask", workspaceId, { taskId });
      return parseTaskData(envelope.data, envelope.requestId);
    },

    async getConfig(workspaceId) {
      checkWorkspaceId("workspaceId", workspaceId);
      const envelope = await call("GetVideoAnalysisConfig", workspaceId, {});
      return {
        asyncConcurrency: looseNumber(envelope.data.asyncConcurrency),
        raw: envelope.data,
        requestId: envelope.requestId,
      };
    },

    async submitTask(workspaceId, request) {
      checkWorkspaceId("workspaceId", workspaceId);
      if (request.deduplicationId !== undefined) checkId("deduplicationId", request.deduplicationId);
      const envelope = await call("SubmitVideoAnalysisTask", workspaceId, {}, toFormFields(request));
      const taskId = typeof envelope.data.taskId === "string" ? envelope.data.taskId : undefined;
      if (!taskId) {
        throw new MalformedResponseError("SubmitVideoAnalysisTask answered without data.taskId", {
          action: "SubmitVideoAnalysisTask",
          requestId: envelope.requestId,
          excerpt: JSON.stringify(envelope.data).slice(0, 200),
        });
      }
      return { taskId, requestId: envelope.requestId };
    },

    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
