/**
 * What kind of failure a request without an HTTP answer met, and what a Retry-After header asks:
 * one reading for every outbound call (webhook POSTs, EventBridge's PutEvents), so that a circuit
 * counts the same failures whoever made the request.
 */

/** What kind of failure an attempt without an HTTP answer met (shown per attempt in the console). */
export type FailureClass = "timeout" | "connection" | "tls" | "dns" | "refused_target" | "other";

/** Refused or reset before any answer: worth an immediate quick retry. */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "EHOSTUNREACH",
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** A name that does not resolve (no such host, or the resolver failing): nobody there to answer. */
const DNS_CODES: ReadonlySet<string> = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME"]);

const TLS_CODE = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/;

/** The class of an error thrown by a request (undici's, a deadline's, the resolver's). */
export function failureClassOf(error: unknown): Exclude<FailureClass, "refused_target"> {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" || (typeof code === "string" && TIMEOUT_CODES.has(code))) return "timeout";
  if (typeof code !== "string") return "other";
  if (CONNECTION_CODES.has(code)) return "connection";
  if (DNS_CODES.has(code)) return "dns";
  if (TLS_CODE.test(code)) return "tls";
  return "other";
}

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from now; undefined when unreadable. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(text) - nowMs;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
