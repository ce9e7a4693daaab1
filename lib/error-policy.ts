/**
 * What each kind of error means to the edges, in one table: the HTTP API's status and code, the
 * CLI's exit code, and the level it is logged at. The router and the CLI both read it, so a new
 * error class is classified once, and the two never disagree on whose fault a failure is.
 */
import { ConfigError, type LogLevel } from "./config.js";
import {
  coerceError,
  InputError,
  InvalidCursorError,
  InvalidValueError,
  NotFoundError,
  RefusedTargetError,
} from "./errors.js";
import { ApiError, AuthError, CredentialsError, QuanmiaoError, TaskNotFoundError } from "./quanmiao/errors.js";
import { TablestoreAuthError, TablestoreMissingTableError } from "./store/tablestore/wire/errors.js";

/** Exit codes scripts can branch on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  auth: 5,
  /** Transient, throttled or malformed answer: the same command may work later. */
  retryable: 6,
} as const;

export interface ErrorClass {
  readonly httpStatus: number;
  /** The API's `error.code`. */
  readonly code: string;
  readonly exitCode: number;
  readonly logLevel: LogLevel;
}

const cls = (httpStatus: number, code: string, exitCode: number, logLevel: LogLevel): ErrorClass => ({
  httpStatus,
  code,
  exitCode,
  logLevel,
});

// biome-ignore lint/suspicious/noExplicitAny: any error class, abstract ones included
type ErrorConstructor = abstract new (...args: any[]) => Error;

/** First match wins, so a subclass comes before its parent. */
const TABLE: ReadonlyArray<readonly [ErrorConstructor, ErrorClass]> = [
  [RefusedTargetError, cls(422, "refused_target", EXIT.usage, "info")],
  [InvalidCursorError, cls(400, "invalid_cursor", EXIT.usage, "info")],
  [InvalidValueError, cls(422, "invalid_value", EXIT.usage, "info")],
  [InputError, cls(400, "invalid_request", EXIT.usage, "info")],
  [NotFoundError, cls(404, "not_found", EXIT.notFound, "info")],
  [TaskNotFoundError, cls(404, "not_found", EXIT.notFound, "info")],
  [ConfigError, cls(500, "misconfigured", EXIT.config, "error")],
  // Upstream failures: the API answers 502 (the relay is a gateway to Quanmiao here).
  [CredentialsError, cls(502, "upstream_unavailable", EXIT.config, "error")],
  [AuthError, cls(502, "upstream_unavailable", EXIT.auth, "warn")],
  // The store refused the relay's own key or instance: the relay is misconfigured, and says so.
  [TablestoreAuthError, cls(500, "misconfigured", EXIT.auth, "error")],
  [TablestoreMissingTableError, cls(500, "misconfigured", EXIT.config, "error")],
  [ApiError, cls(422, "upstream_rejected", EXIT.failure, "warn")],
  // Throttled, transient, malformed: the same call may work later.
  [QuanmiaoError, cls(502, "upstream_unavailable", EXIT.retryable, "warn")],
];

/** Anything not in the table is the relay's own failure. */
export const UNEXPECTED: ErrorClass = cls(500, "internal", EXIT.failure, "error");

export function classifyError(error: unknown): ErrorClass {
  for (const [type, found] of TABLE) if (error instanceof type) return found;
  return UNEXPECTED;
}

/** The line a person reads: Quanmiao failures with their code and request id, the rest as said. */
export function errorMessage(error: unknown): string {
  if (error instanceof QuanmiaoError) return error.describe();
  return coerceError(error).message;
}
