/**
 * EventBridge's data-plane request signature (HMAC-SHA1, signature version 1.0), written from
 * Alibaba's description of it; the tests hold it to `@alicloud/eventbridge-util` on fixed inputs.
 *
 * The string to sign is:
 *   METHOD \n content-md5 \n content-type \n date \n  (each empty when absent)
 *   every `x-acs-*` header, sorted by name, as `name:value\n` (tabs and line breaks in a value
 *   become spaces, then it is trimmed)
 *   the path, and `?k=v&…` with the query sorted by name when there is one
 * and the header is `authorization: acs:<AccessKeyId>:<base64 HMAC-SHA1 of it>`.
 */
import { createHmac } from "node:crypto";

export interface SignableRequest {
  readonly method: string;
  readonly pathname: string;
  readonly query?: Readonly<Record<string, string>> | undefined;
  /** Names in lower case, as they go on the wire. */
  readonly headers: Readonly<Record<string, string>>;
}

export function stringToSign(request: SignableRequest): string {
  const { headers } = request;
  const head = `${request.method.toUpperCase()}\n${headers["content-md5"] ?? ""}\n${headers["content-type"] ?? ""}\n${headers.date ?? ""}\n`;
  const acs = Object.keys(headers)
    .filter((name) => name.startsWith("x-acs-"))
    .sort()
    .map((name) => `${name}:${(headers[name] ?? "").replace(/[\t\n\r\f]/g, " ").trim()}\n`)
    .join("");
  const query = request.query ?? {};
  const keys = Object.keys(query).sort();
  const resource =
    keys.length === 0 ? request.pathname : `${request.pathname}?${keys.map((k) => `${k}=${query[k]}`).join("&")}`;
  return `${head}${acs}${resource}`;
}

export function signature(text: string, accessKeySecret: string): string {
  return createHmac("sha1", accessKeySecret).update(text, "utf8").digest("base64");
}

export function authorization(request: SignableRequest, key: { accessKeyId: string; accessKeySecret: string }) {
  return `acs:${key.accessKeyId}:${signature(stringToSign(request), key.accessKeySecret)}`;
}

/** The `date` header: RFC 1123 in GMT, as the SDK sends it. */
export const httpDate = (ms: number) => new Date(ms).toUTCString();
