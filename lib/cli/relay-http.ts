/**
 * Reading a running relay's HTTP API from the CLI, with answers a newcomer can act on: "nothing
 * answers at … — is `npm start` running?" rather than a bare ECONNREFUSED, and what to do about
 * a refused token.
 */
import { request } from "undici";
import { coerceError, RelayError } from "../errors.js";

const TIMEOUT_MS = 15_000;

/** Error codes that mean no relay is there (or none reachable), as opposed to a relay that failed. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** No relay answers at that address; it may yet start, so trying again can help. */
export class RelayUnreachableError extends RelayError {
  readonly retryable = true;
}

/** The relay answered, but not with what was asked (a refused token, an error). */
export class RelayAnswerError extends RelayError {
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.retryable = status >= 500 || status === 429;
  }
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return code;
  }
  return undefined;
}

const LOCAL = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The sentence for an address nobody answers at; how to start the relay when it is a local one. */
export function unreachable(relay: URL, code: string, cause?: unknown): RelayUnreachableError {
  const hint = LOCAL.has(relay.hostname)
    ? "is `npm start` (or `quanmiao-relay serve`) running? Or point --relay at the relay's API"
    : "is the relay's API up there? Check --relay";
  return new RelayUnreachableError(`nothing answers at ${relay.origin} (${code}) — ${hint}`, { cause });
}

/** GET a JSON document from the relay's API. */
export async function getFromRelay(relay: URL, url: URL, token: string | undefined): Promise<unknown> {
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (error) {
    const code = errorCode(error);
    if (code) throw unreachable(relay, code, error);
    throw coerceError(error);
  }
  if (status === 401) {
    throw new RelayAnswerError(
      `the relay at ${relay.origin} refused the token (HTTP 401): give --token, or set RELAY_API_TOKEN to one it accepts`,
      status,
    );
  }
  if (status !== 200)
    throw new RelayAnswerError(`GET ${url.pathname} answered HTTP ${status}: ${text.slice(0, 200)}`, status);
  try {
    return JSON.parse(text);
  } catch {
    throw new RelayAnswerError(`GET ${url.pathname} answered something that is not JSON: ${text.slice(0, 80)}`, 502);
  }
}

/** A forward that failed for want of a server: the same kind of hint, for the user's own server. */
export function forwardFailure(target: URL, error: unknown): string {
  const code = errorCode(error);
  if (code === "ECONNREFUSED") return `nothing answers at ${target.host} — is your server running?`;
  return coerceError(error).message;
}
