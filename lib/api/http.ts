/**
 * The API's framework-free request and response, shared by the node:http server and the FC HTTP
 * function, and the one error type handlers throw. Errors become
 * `{"error": {"code", "message", "details": []}}` and never carry a token or a secret.
 */
import { RelayError, type RelayErrorOptions } from "../errors.js";

/** What the request line and headers say: enough to refuse a request before its body is read. */
export interface ApiRequestHead {
  readonly method: string;
  /** The path as received, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export interface ApiRequest extends ApiRequestHead {
  readonly body: Buffer;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

/** A refusal the API answers as is: a client's mistake (4xx) or a dependency down (5xx, retryable). */
export class HttpError extends RelayError {
  get retryable(): boolean {
    return this.status >= 500;
  }
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
    options: RelayErrorOptions = {},
  ) {
    super(message, options);
  }
}

export const MAX_BODY_BYTES = 1024 * 1024;

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(value),
  };
}

export function errorResponse(error: HttpError): ApiResponse {
  return json(
    error.status,
    { error: { code: error.code, message: error.message, details: error.details } },
    error.headers,
  );
}

export function tooLarge(): ApiResponse {
  return errorResponse(new HttpError(413, "payload_too_large", `the body is over ${MAX_BODY_BYTES} bytes`));
}
