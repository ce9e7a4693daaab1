/**
 * Standard Webhooks headers for one attempt: `v1,` + base64 HMAC-SHA256 of `<id>.<seconds>.<body>`
 * under the secret's base64-decoded bytes, signed with node:crypto (the `standardwebhooks` package
 * signs with a pure-JS SHA-256, the costliest step of a delivery). Tests prove the two byte for byte,
 * on the official vectors and on random ids, times, bodies and secrets. Each attempt is signed afresh
 * with the current time; during a secret rotation every valid secret adds a signature.
 */
import { createHmac } from "node:crypto";
import { USER_AGENT } from "../version.js";

/** Headers a webhook's custom headers may not override: the relay sets them on every request. */
const RESERVED = new Set([
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "content-type",
  "user-agent",
  "traceparent",
]);

/**
 * Headers about the connection rather than the message: hop-by-hop ones (RFC 9110 §7.6.1, with
 * the obsolete Keep-Alive and Proxy-Connection) and the framing and target that the HTTP client
 * derives from the body and the URL. undici throws on Transfer-Encoding, Upgrade, Keep-Alive and
 * Expect, so every attempt would fail; the others would contradict the request's own length or
 * target, or speak to a proxy that is not there.
 */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "host",
  "content-length",
  "proxy-authenticate",
  "proxy-authorization",
]);

const keys = new Map<string, Buffer>();

/** The HMAC key: the secret's base64 after `whsec_`, decoded (as the package does). */
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
    // Bounded: secrets are few, but a long-lived process should not grow without limit.
    if (keys.size > 1000) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

export function signatureHeader(secrets: readonly string[], msgId: string, nowMs: number, body: string): string {
  const signed = `${msgId}.${Math.floor(nowMs / 1000)}.${body}`;
  return secrets.map((secret) => `v1,${createHmac("sha256", keyOf(secret)).update(signed).digest("base64")}`).join(" ");
}

export function webhookHeaders(input: {
  readonly msgId: string;
  readonly secrets: readonly string[];
  readonly nowMs: number;
  readonly body: string;
  readonly custom?: Readonly<Record<string, string>>;
  /** A CloudEvents format's content type and `ce-*` headers (framing.ts); absent: standard JSON. */
  readonly contentType?: string | undefined;
  readonly framing?: Readonly<Record<string, string>> | undefined;
}): Record<string, string> {
  // Built field by field, the caller's own first: in V8 an object spread followed by more fields
  // costs microseconds a call, and the caller may add one (traceparent) cheaply to this object.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.custom ?? {})) {
    const lower = name.toLowerCase();
    // Registration refuses both kinds; a webhook stored before it did still delivers, without them.
    if (!RESERVED.has(lower) && !CONNECTION_HEADERS.has(lower)) headers[name] = value;
  }
  headers["content-type"] = input.contentType ?? "application/json";
  if (input.framing) for (const [name, value] of Object.entries(input.framing)) headers[name] = value;
  headers["user-agent"] = USER_AGENT;
  headers["webhook-id"] = input.msgId;
  headers["webhook-timestamp"] = String(Math.floor(input.nowMs / 1000));
  headers["webhook-signature"] = signatureHeader(input.secrets, input.msgId, input.nowMs, input.body);
  return headers;
}

export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/**
 * Whether HTTP can carry a header value as it is: visible ASCII, spaces and tabs. undici takes
 * Latin-1 too and refuses the rest, but a receiver reads bytes past ASCII as it pleases.
 */
export function isSendableHeaderValue(value: string): boolean {
  return !/[^\t\x20-\x7e]/.test(value);
}

/** Whether a header belongs to the connection, which the relay's HTTP client manages itself. */
export function isConnectionHeader(name: string): boolean {
  return CONNECTION_HEADERS.has(name.toLowerCase());
}
