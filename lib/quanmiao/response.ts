/**
 * Turns one HTTP answer from the Quanmiao gateway into the envelope's `data`, or into the error
 * class that tells the caller what to do. Pure: status, headers and body text in.
 *
 * Two error shapes occur: the gateway's `{Code, Message, RequestId}` and the product's envelope
 * `{code, message, requestId, success:false, httpStatusCode}`; the latter also arrives with HTTP 200,
 * so `success` decides, not only the status.
 */
import {
  ApiError,
  AuthError,
  MalformedResponseError,
  type QuanmiaoErrorDetails,
  TaskNotFoundError,
  ThrottledError,
  TransientError,
} from "./errors.js";
import type { JsonObject } from "./task.js";

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface Envelope {
  readonly data: JsonObject;
  readonly requestId: string | undefined;
  readonly code: string | undefined;
}

const EXCERPT_CHARS = 200;
/** A server asking for longer than this is capped: the caller has its own schedule to keep. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

const NOT_FOUND_CODES = new Set([
  "DataNotExists",
  "DataNotExist",
  "NoData",
  "TaskNotExist",
  "TaskNotExists",
  "TaskNotFound",
  "Task.NotExist",
  "Task.NotFound",
]);

function isAuthCode(code: string): boolean {
  return (
    code === "NoPermission" ||
    code === "SignatureDoesNotMatch" ||
    code === "IncompleteSignature" ||
    code.startsWith("InvalidAccessKeyId") ||
    code.startsWith("InvalidSecurityToken") ||
    code.startsWith("Forbidden")
  );
}

function header(headers: HttpAnswer["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `x-acs-retry-after` is read as milliseconds (as @alicloud/openapi-core reads it; unconfirmed by
 * Alibaba's docs); a standard `Retry-After` as seconds or an HTTP date.
 */
export function retryAfterMs(headers: HttpAnswer["headers"], nowMs: number): number | undefined {
  const acs = Number(header(headers, "x-acs-retry-after"));
  if (Number.isFinite(acs) && acs > 0) return Math.min(acs, MAX_RETRY_AFTER_MS);
  const standard = header(headers, "retry-after");
  if (standard === undefined) return undefined;
  const seconds = Number(standard);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(standard) - nowMs;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

function excerpt(body: string): string {
  return body.length > EXCERPT_CHARS ? `${body.slice(0, EXCERPT_CHARS)}…` : body;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function parseJsonObject(body: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

export function interpretAnswer(action: string, answer: HttpAnswer, nowMs: number): Envelope {
  const json = parseJsonObject(answer.body);
  const code = asString(json?.code) ?? asString(json?.Code);
  const message = asString(json?.message) ?? asString(json?.Message);
  const requestId =
    asString(json?.requestId) ?? asString(json?.RequestId) ?? header(answer.headers, "x-acs-request-id");
  const details: QuanmiaoErrorDetails = { code, requestId, httpStatus: answer.status, action };
  const failed = answer.status >= 400 || json?.success === false;

  if (failed) {
    const wait = retryAfterMs(answer.headers, nowMs);
    const text =
      message ?? (json ? `${action} failed` : `${action} failed with a non-JSON body: ${excerpt(answer.body)}`);
    if (answer.status === 429 || code?.startsWith("Throttling") || wait !== undefined) {
      throw new ThrottledError(text, { ...details, retryAfterMs: wait });
    }
    if (code && isAuthCode(code)) {
      throw new AuthError(text, { ...details, scope: code === "NoPermission" ? "workspace" : "credentials" });
    }
    if (code && NOT_FOUND_CODES.has(code)) throw new TaskNotFoundError(text, details);
    if (answer.status >= 500) throw new TransientError(text, { ...details, kind: "server" });
    if (answer.status === 401 || answer.status === 403) {
      throw new AuthError(text, { ...details, scope: "credentials" });
    }
    throw new ApiError(text, details);
  }

  if (!json) {
    throw new MalformedResponseError(`${action} answered HTTP ${answer.status} with a body that is not a JSON object`, {
      ...details,
      excerpt: excerpt(answer.body),
    });
  }
  const data = json.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new MalformedResponseError(`${action} answered without a \`data\` object`, {
      ...details,
      excerpt: excerpt(answer.body),
    });
  }
  return { data: data as JsonObject, requestId, code };
}
