/**
 * ACS3-HMAC-SHA256, Alibaba Cloud's V3 request signature, written from the spec
 * (help.aliyun.com "V3 request structure and signature").
 *
 * The canonical request is:
 *   METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
 * where CanonicalHeaders is a list of `name:value\n` lines (so a blank line precedes SignedHeaders).
 *
 * Two places where `@alicloud/openapi-util` 0.3.3 (our test oracle) departs from the spec, and
 * this module follows the spec:
 *  - the path fix-ups `+`→`%20`, `*`→`%2A`, `%7E`→`~` are applied to every occurrence, not the first;
 *  - query parameter names are percent-encoded like the values.
 * Parameters are sorted by their raw names (UTF-16 code unit order), as the spec and every official
 * SDK do, before encoding.
 */
import { createHash, createHmac } from "node:crypto";

export const SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256";
export const EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface SignableRequest {
  readonly method: string;
  /** The path exactly as it goes on the wire: already percent-encoded, segment by segment. */
  readonly pathname: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** Lower-case hex SHA-256 of the body; the same value as `x-acs-content-sha256`. */
  readonly payloadHash: string;
}

export interface SigningKey {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}

/** RFC 3986: everything but the unreserved set `A-Za-z0-9-_.~` is percent-encoded as UTF-8. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Builds a path from raw segments; a segment is never concatenated unencoded. */
export function encodePath(segments: readonly string[]): string {
  return `/${segments.map(percentEncode).join("/")}`;
}

export function sha256Hex(body: string | Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

/** `yyyy-MM-ddTHH:mm:ssZ`, the only form `x-acs-date` accepts (no milliseconds). */
export function acsDate(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

export function canonicalUri(pathname: string): string {
  const path = pathname === "" ? "/" : pathname;
  return path.replace(/\+/g, "%20").replace(/\*/g, "%2A").replace(/%7E/g, "~");
}

export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(query[name] ?? "")}`)
    .join("&");
}

function isSignedHeader(lowerName: string): boolean {
  return lowerName.startsWith("x-acs-") || lowerName === "host" || lowerName === "content-type";
}

export function canonicalHeaders(headers: SignableRequest["headers"]): {
  canonical: string;
  signedHeaders: string;
} {
  const byName = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!isSignedHeader(lower)) continue;
    const values = byName.get(lower) ?? [];
    for (const v of typeof value === "string" ? [value] : value) values.push(v.trim());
    byName.set(lower, values);
  }
  const names = [...byName.keys()].sort();
  const canonical = names.map((n) => `${n}:${(byName.get(n) ?? []).sort().join(",")}\n`).join("");
  return { canonical, signedHeaders: names.join(";") };
}

export function canonicalRequest(req: SignableRequest): { canonical: string; signedHeaders: string } {
  const headers = canonicalHeaders(req.headers);
  const canonical = [
    req.method.toUpperCase(),
    canonicalUri(req.pathname),
    canonicalQuery(req.query),
    headers.canonical,
    headers.signedHeaders,
    req.payloadHash,
  ].join("\n");
  return { canonical, signedHeaders: headers.signedHeaders };
}

export function stringToSign(canonical: string): string {
  return `${SIGNATURE_ALGORITHM}\n${sha256Hex(canonical)}`;
}

export function signature(req: SignableRequest, accessKeySecret: string): { signature: string; signedHeaders: string } {
  const { canonical, signedHeaders } = canonicalRequest(req);
  const sig = createHmac("sha256", accessKeySecret).update(stringToSign(canonical)).digest("hex");
  return { signature: sig, signedHeaders };
}

/** The full `Authorization` header value. */
export function authorization(req: SignableRequest, key: SigningKey): string {
  const { signature: sig, signedHeaders } = signature(req, key.accessKeySecret);
  return `${SIGNATURE_ALGORITHM} Credential=${key.accessKeyId},SignedHeaders=${signedHeaders},Signature=${sig}`;
}

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Reads an `Authorization` header back (the simulator's side); undefined when it is not ACS3. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]*),Signature=([0-9a-f]{64})$/.exec(
    header ?? "",
  );
  if (!match) return undefined;
  const [, accessKeyId = "", signed = "", sig = ""] = match;
  return { accessKeyId, signedHeaders: signed.split(";"), signature: sig };
}
