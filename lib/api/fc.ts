/**
 * Function Compute 3.0's HTTP trigger: the event JSON (rawPath, headers, queryParameters, body,
 * isBase64Encoded, requestContext.http.method) in, `{statusCode, headers, body, isBase64Encoded}` out.
 */
import { type ApiRequest, type ApiResponse, errorResponse, HttpError, MAX_BODY_BYTES, tooLarge } from "./http.js";
import { hasLoneSurrogate, invalidUtf8 } from "./request-guards.js";

interface FcHttpEvent {
  rawPath?: unknown;
  headers?: unknown;
  queryParameters?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
  requestContext?: { domainName?: unknown; http?: { method?: unknown } };
}

export interface FcHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/** The request the event describes, or the error answer when the event cannot be read. */
export function fromFcEvent(event: unknown): ApiRequest | ApiResponse {
  let e: FcHttpEvent;
  try {
    const text = Buffer.isBuffer(event)
      ? event.toString("utf8")
      : typeof event === "string"
        ? event
        : JSON.stringify(event);
    e = JSON.parse(text) as FcHttpEvent;
    if (typeof e !== "object" || e === null) throw new Error("not an object");
  } catch {
    return errorResponse(new HttpError(400, "invalid_event", "the HTTP trigger event is not JSON"));
  }
  const headers: Record<string, string | undefined> = {};
  if (e.headers && typeof e.headers === "object") {
    for (const [k, v] of Object.entries(e.headers)) if (typeof v === "string") headers[k.toLowerCase()] = v;
  }
  // The trigger's domain stands in for a Host header the event may lack, for the Host and Origin checks.
  const domain = e.requestContext?.domainName;
  if (headers.host === undefined && typeof domain === "string") headers.host = domain;
  // The event's strings are already decoded: a lone surrogate in one has no UTF-8 form, and
  // URLSearchParams and Buffer.from would silently turn it into U+FFFD.
  const query = new URLSearchParams();
  if (e.queryParameters && typeof e.queryParameters === "object") {
    for (const [k, v] of Object.entries(e.queryParameters)) {
      if (typeof v !== "string") continue;
      if (hasLoneSurrogate(k) || hasLoneSurrogate(v)) return errorResponse(invalidUtf8("the query string"));
      query.append(k, v);
    }
  }
  const raw = typeof e.body === "string" ? e.body : "";
  if (e.isBase64Encoded !== true && hasLoneSurrogate(raw)) return errorResponse(invalidUtf8("the body"));
  const body = e.isBase64Encoded === true ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (body.length > MAX_BODY_BYTES) return tooLarge();
  const method = typeof e.requestContext?.http?.method === "string" ? e.requestContext.http.method : "GET";
  const path = typeof e.rawPath === "string" && e.rawPath.startsWith("/") ? e.rawPath : "/";
  return { method, path, query, headers, body };
}

export function toFcResponse(response: ApiResponse): FcHttpResponse {
  return { statusCode: response.status, headers: { ...response.headers }, body: response.body, isBase64Encoded: false };
}
