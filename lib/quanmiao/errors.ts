/**
 * What a failed Quanmiao call means for the caller. Each class answers one question: try again
 * (and when), give up on this task, or give up on every task of this workspace or key.
 */
import { RelayError } from "../errors.js";

export interface QuanmiaoErrorDetails {
  readonly code?: string | undefined;
  readonly requestId?: string | undefined;
  readonly httpStatus?: number | undefined;
  readonly action?: string | undefined;
  readonly cause?: unknown;
}

export abstract class QuanmiaoError extends RelayError {
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly action: string | undefined;

  constructor(message: string, details: QuanmiaoErrorDetails = {}) {
    super(message, details);
    this.code = details.code;
    this.requestId = details.requestId;
    this.httpStatus = details.httpStatus;
    this.action = details.action;
  }

  /** One line for logs and the CLI: class, code, message, request id. Never credentials. */
  override describe(): string {
    const parts = [this.name];
    if (this.code) parts.push(this.code);
    let line = `${parts.join(" ")}: ${this.message}`;
    if (this.httpStatus !== undefined) line += ` (HTTP ${this.httpStatus})`;
    if (this.requestId) line += ` [requestId ${this.requestId}]`;
    return line;
  }
}

/** HTTP 429, a `Throttling*` code, or an `x-acs-retry-after` header: slow down, then retry. */
export class ThrottledError extends QuanmiaoError {
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: QuanmiaoErrorDetails & { retryAfterMs?: number | undefined } = {}) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** Network failure, timeout or 5xx: nothing is wrong with the request itself. */
export class TransientError extends QuanmiaoError {
  readonly retryable = true;
  readonly kind: "network" | "timeout" | "server";
  constructor(message: string, details: QuanmiaoErrorDetails & { kind: "network" | "timeout" | "server" }) {
    super(message, details);
    this.kind = details.kind;
  }
}

/**
 * The key or the workspace is refused: every task of that workspace (scope `workspace`, e.g.
 * NoPermission) or every call with this key (scope `credentials`) would fail the same way.
 */
export class AuthError extends QuanmiaoError {
  readonly retryable = false;
  readonly scope: "workspace" | "credentials";
  constructor(message: string, details: QuanmiaoErrorDetails & { scope: "workspace" | "credentials" }) {
    super(message, details);
    this.scope = details.scope;
  }
}

/** The API says the task does not exist (HTTP 200 with `success:false` and `DataNotExists`, or alike). */
export class TaskNotFoundError extends QuanmiaoError {
  readonly retryable = false;
}

/** The answer was not JSON or not the envelope. Often a proxy or a cut connection: worth a retry. */
export class MalformedResponseError extends QuanmiaoError {
  readonly retryable = true;
  /** The first bytes of the body, for diagnosis. */
  readonly excerpt: string;
  constructor(message: string, details: QuanmiaoErrorDetails & { excerpt: string }) {
    super(message, details);
    this.excerpt = details.excerpt;
  }
}

/** Any other business error (bad parameter, quota, …): the same request will fail again. */
export class ApiError extends QuanmiaoError {
  readonly retryable = false;
}

/** No usable credentials could be found or loaded. */
export class CredentialsError extends QuanmiaoError {
  readonly retryable = false;
}
