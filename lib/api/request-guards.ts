/**
 * Refusals for requests a browser can be made to send: a Host the server should not answer to
 * (DNS rebinding of a token-less loopback API), a state-changing request from another site (a form
 * or `no-cors` fetch needs no preflight), and text that is not UTF-8, which decoders would
 * otherwise turn into U+FFFD, so that the relay stored an id other than the one sent.
 */
import { isUtf8 } from "node:buffer";
import { jsonPath } from "../input.js";
import { type ApiRequest, type ApiRequestHead, HttpError } from "./http.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function isStateChanging(method: string): boolean {
  return STATE_CHANGING.has(method.toUpperCase());
}

/** The name in a Host header, lower-case, without the port (IPv6 keeps its brackets); undefined when malformed. */
export function hostName(header: string | undefined): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(header?.trim() ?? "");
  return m ? (m[1] as string).toLowerCase() : undefined;
}

/** Names no public DNS answer can point at: a rebinding page never gets one of these as its Host. */
export function isLoopbackName(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost") || host === "[::1]") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m?.slice(1).every((octet) => Number(octet) <= 255) ?? false;
}

export interface HostPolicy {
  /** Without a token nothing but the Host stands between a rebinding page and the API. */
  readonly loopbackOnly: boolean;
  /** RELAY_API_ALLOWED_HOSTS: names as hostName gives them. */
  readonly allowed: readonly string[] | undefined;
}

export function checkHost(req: ApiRequestHead, policy: HostPolicy): void {
  if (!policy.loopbackOnly && !policy.allowed) return;
  const host = hostName(req.headers.host);
  if (host !== undefined && (!policy.loopbackOnly || isLoopbackName(host)) && (policy.allowed?.includes(host) ?? true))
    return;
  throw new HttpError(
    421,
    "misdirected_request",
    policy.loopbackOnly
      ? "without RELAY_API_TOKEN the API answers only to a loopback Host (localhost, *.localhost, 127.x.x.x, [::1])"
      : "the Host is not one of RELAY_API_ALLOWED_HOSTS",
  );
}

/**
 * The scheme is left out: behind a TLS-terminating proxy the relay cannot know it, and no other
 * site can share the Host's name and port anyway.
 */
function isOwnOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (hostName(hostHeader) === undefined) return false;
  try {
    const o = new URL(origin);
    if (o.protocol !== "http:" && o.protocol !== "https:") return false;
    return o.host === new URL(`${o.protocol}//${(hostHeader as string).trim()}`).host;
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and anything unreadable
  }
}

/** A bearer token already keeps other sites out; this is what keeps them out without one. */
export function checkSameOrigin(req: ApiRequestHead): void {
  if (!isStateChanging(req.method)) return;
  const site = req.headers["sec-fetch-site"]?.trim().toLowerCase();
  const origin = req.headers.origin;
  if (site === "cross-site" || (origin !== undefined && !isOwnOrigin(origin, req.headers.host)))
    throw new HttpError(
      403,
      "cross_origin_refused",
      "a state-changing request from another site is refused: call the API from its own origin or outside a browser",
    );
}

/** The media type without parameters, lower-case; undefined when the header is absent or blank. */
export function mediaType(req: ApiRequestHead): string | undefined {
  return req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase() || undefined;
}

/** A label from a header, for an error message: printable ASCII only, and not the whole of a long one. */
const labelOf = (value: string) => value.replace(/[^\x21-\x7e]/g, "?").slice(0, 40);

/**
 * A body read as it was sent: not compressed (the relay does not inflate, and read gzip's bytes as
 * text that is not UTF-8), and in UTF-8, the only charset JSON has (RFC 8259), where another named
 * one was read as UTF-8 anyway.
 */
export function checkBodyEncoding(req: ApiRequestHead): void {
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity")
    throw new HttpError(
      415,
      "unsupported_media_type",
      `the body must not be encoded (Content-Encoding: ${labelOf(encoding)}): send plain JSON`,
    );
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(req.headers["content-type"] ?? "")?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8")
    throw new HttpError(415, "unsupported_media_type", `the body must be UTF-8, not charset=${labelOf(charset)}`);
}

/**
 * A route without a body still refuses the form types: they are what another site can send
 * without a preflight, so only JSON or nothing at all is taken.
 */
export function checkNoFormBody(req: ApiRequest): void {
  const type = mediaType(req);
  if (type === undefined ? req.body.length > 0 : type !== "application/json")
    throw new HttpError(415, "unsupported_media_type", "this endpoint takes no body: send none, or application/json");
}

export const invalidUtf8 = (what: string) => new HttpError(400, "invalid_utf8", `${what} is not valid UTF-8`);

/** A lone surrogate (a JSON `\ud800` escape, an FC event string) has no UTF-8 form either. */
export const hasLoneSurrogate = (s: string) => /\p{Cs}/u.test(s);

/** The body as JSON, refusing what UTF-8 decoding or a lone `\uD8xx` escape would silently alter. */
export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw invalidUtf8("the body");
  let value: unknown;
  try {
    // A byte order mark, which some editors and shells write first, is ignored (RFC 8259 allows it):
    // refused, it read as "not valid JSON" with nothing visible to fix.
    value = JSON.parse(body.toString("utf8").replace(/^\uFEFF/, ""));
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not valid JSON");
  }
  const found = unkeepable(value);
  if (found === "lone surrogate")
    throw new HttpError(
      400,
      "invalid_utf8",
      "the body has a lone surrogate escape (\\uD800 to \\uDFFF): UTF-8 cannot carry it",
    );
  if (found === "__proto__") {
    const field = pathToProtoKey(value);
    throw new HttpError(
      422,
      "invalid_value",
      `a key named "__proto__" cannot be kept (${field}): JavaScript takes it for the object's prototype, and it would be dropped`,
      [{ field, message: "a key named __proto__ cannot be kept" }],
    );
  }
  return value;
}

/**
 * What the body holds that could not be kept as sent: a lone surrogate, or a `__proto__` key, which
 * JSON.parse keeps as a key but every later copy (the schemas' among them) silently drops. An
 * iterative walk (a reviver recurses, and deep bodies must reach the depth check, not overflow).
 */
function unkeepable(root: unknown): "lone surrogate" | "__proto__" | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (hasLoneSurrogate(v)) return "lone surrogate";
    } else if (Array.isArray(v)) for (const child of v) stack.push(child);
    else if (v !== null && typeof v === "object") {
      for (const [key, child] of Object.entries(v)) {
        if (hasLoneSurrogate(key)) return "lone surrogate";
        if (key === "__proto__") return "__proto__";
        stack.push(child);
      }
    }
  }
  return undefined;
}

/** `body.tasks[3].metadata.__proto__`: walked again, with paths, only once such a key is known to be there. */
function pathToProtoKey(root: unknown): string {
  const stack: Array<[unknown, Array<string | number>]> = [[root, []]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, keys] = next;
    if (Array.isArray(v)) for (const [i, child] of v.entries()) stack.push([child, [...keys, i]]);
    else if (v !== null && typeof v === "object") {
      for (const [key, child] of Object.entries(v)) {
        if (key === "__proto__") return jsonPath("body", [...keys, key]);
        stack.push([child, [...keys, key]]);
      }
    }
  }
  return "body";
}

/** The bytes a percent-encoded ASCII string stands for; a `%` not followed by two hex digits is itself. */
function percentDecoded(text: string): Buffer {
  const bytes = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === "%" ? text.slice(i + 1, i + 3) : "";
    if (/^[0-9a-f]{2}$/i.test(hex)) {
      bytes[n++] = Number.parseInt(hex, 16);
      i += 2;
    } else bytes[n++] = text.charCodeAt(i);
  }
  return bytes.subarray(0, n);
}

/**
 * A raw query string as URLSearchParams, refusing one whose percent-escapes are not UTF-8
 * (URLSearchParams would put U+FFFD in their place). Node's parser has already refused raw
 * non-ASCII bytes in the request target.
 */
export function parseQuery(search: string): URLSearchParams {
  if (/[^\x20-\x7e]/.test(search) || !isUtf8(percentDecoded(search))) throw invalidUtf8("the query string");
  return new URLSearchParams(search);
}
