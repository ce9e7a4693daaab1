/**
 * A small router: refuse a foreign Host or a cross-site write (request-guards.ts), match the path
 * against the route table, check the bearer token, the content type, size and encoding, validate
 * body and query with the route's zod schemas, run the handler, and turn every failure into a JSON
 * error. Nothing a client sends can produce a 5xx from here; handlers report their own upstream
 * failures explicitly.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { z } from "zod";
import { classifyError, errorMessage, UNEXPECTED } from "../error-policy.js";
import { coerceError, describeError, InputError, RefusedTargetError } from "../errors.js";
import {
  type ApiRequest,
  type ApiRequestHead,
  type ApiResponse,
  type ErrorDetail,
  errorResponse,
  HttpError,
  json,
  MAX_BODY_BYTES,
} from "./http.js";
import {
  checkBodyEncoding,
  checkHost,
  checkNoFormBody,
  checkSameOrigin,
  hasLoneSurrogate,
  isStateChanging,
  mediaType,
  parseJsonBody,
} from "./request-guards.js";

/** The names in a path template: `/v1/tasks/{workspaceId}/{taskId}` → "workspaceId" | "taskId". */
export type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PathParams<Rest>
  : never;

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<P extends string = string, B = unknown, Q = unknown> {
  readonly params: Readonly<Record<PathParams<P>, string>>;
  readonly body: B;
  readonly query: Q;
}

export interface ResponseSpec {
  readonly description: string;
  readonly schema: z.ZodType;
}

interface RouteShape<P extends string, B, Q> {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  /** e.g. `/v1/tasks/{workspaceId}/{taskId}` */
  readonly path: P;
  readonly summary: string;
  readonly auth: boolean;
  readonly body?: B;
  readonly query?: Q;
  /**
   * Success statuses and what the body holds, for the OpenAPI document: a description, or a
   * description and the body's schema (views.ts), which a test checks real answers against.
   */
  readonly responses: Readonly<Record<number, string | ResponseSpec>>;
  /** The success body's media type where it is not JSON (a page, Prometheus's text format). */
  readonly produces?: string;
  readonly handler: (ctx: RouteContext<P, Parsed<B>, Parsed<Q>>) => Promise<ApiResponse>;
}

/** A route as the router holds it: its handler's parameters, body and query are checked before it runs. */
export type Route = RouteShape<string, z.ZodType, z.ZodType>;

/**
 * Declares a route: the handler's `params` are typed from the path template and its `body` and
 * `query` from the schemas, so no handler casts what the router has already checked.
 */
export function route<
  P extends string,
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: RouteShape<P, B, Q>): Route {
  return spec as unknown as Route;
}

function segments(path: string): string[] | undefined {
  // The root has no segment (a trailing empty one elsewhere keeps `/v1/tasks/` from matching `/v1/tasks`).
  if (path === "/") return [];
  try {
    return path
      .split("/")
      .filter((s, i) => i > 0 || s !== "")
      .map((s) => {
        const decoded = decodeURIComponent(s);
        // decodeURIComponent refuses escapes that are not UTF-8, but not a lone surrogate in an FC rawPath.
        if (hasLoneSurrogate(decoded)) throw new URIError("lone surrogate");
        return decoded;
      });
  } catch {
    return undefined;
  }
}

function match(route: Route, parts: readonly string[]): Record<string, string> | undefined {
  const pattern = route.path.split("/").filter(Boolean);
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const part = parts[i] as string;
    if (p.startsWith("{")) {
      if (part === "") return undefined;
      params[p.slice(1, -1)] = part;
    } else if (p !== part) return undefined;
  }
  return params;
}

function issues(error: z.ZodError, prefix: string): ErrorDetail[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join(".") || prefix,
    message: i.message,
  }));
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Compares against every token in constant time (digests, so lengths never leak). The scheme is
 * case-insensitive (RFC 7235), the token is not.
 */
function tokenMatches(header: string | undefined, tokens: readonly Buffer[]): boolean {
  const m = /^Bearer ([^\s]+)$/i.exec(header ?? "");
  if (!m) return false;
  const given = digest(m[1] as string);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(given, t) || ok;
  return ok;
}

export interface RouterOptions {
  /** Accepted bearer tokens; undefined turns auth off (loopback only, by the caller's choice). */
  readonly tokens: readonly string[] | undefined;
  /** RELAY_API_ALLOWED_HOSTS: when set, the only Host names answered. */
  readonly allowedHosts?: readonly string[] | undefined;
  readonly log?: ((entry: Record<string, unknown>) => void) | undefined;
}

/**
 * The API as one function. `screen` answers, from the request line and headers alone, a request the
 * body cannot save (a foreign Host, a cross-site write, no such route, no token, a body that is not
 * JSON): the node:http server calls it before reading a byte of the body, so that a client without a
 * token cannot make the relay hold a megabyte for it.
 */
export interface Handle {
  (req: ApiRequest): Promise<ApiResponse>;
  readonly screen?: (head: ApiRequestHead) => ApiResponse | undefined;
}

export function createRouter(routes: readonly Route[], options: RouterOptions): Handle {
  const tokens = options.tokens?.map(digest);
  const hostPolicy = { loopbackOnly: tokens === undefined, allowed: options.allowedHosts };

  /** The route and its parameters, or the refusal the head alone decides. */
  function admit(req: ApiRequestHead): { route: Route; params: Record<string, string> } {
    // Before routing, so that the page, /healthz and every error answer are refused too.
    checkHost(req, hostPolicy);
    checkSameOrigin(req);
    const parts = segments(req.path);
    if (!parts) throw new HttpError(400, "invalid_path", "the path is not valid percent-encoding");
    const candidates = routes.map((r) => ({ route: r, params: match(r, parts) })).filter((c) => c.params !== undefined);
    if (candidates.length === 0) throw new HttpError(404, "not_found", "no such endpoint");
    // HEAD is GET without the body (which node:http leaves out, and `handle` empties for FC).
    const method = req.method.toUpperCase() === "HEAD" ? "GET" : req.method.toUpperCase();
    const found = candidates.find((c) => c.route.method === method);
    if (!found) {
      const methods = new Set(candidates.map((c) => c.route.method as string));
      if (methods.has("GET")) methods.add("HEAD");
      const allow = [...methods].join(", ");
      throw new HttpError(405, "method_not_allowed", `use ${allow}`, [], { allow });
    }
    const { route, params } = found as { route: Route; params: Record<string, string> };
    if (route.auth && tokens && !tokenMatches(req.headers.authorization, tokens)) {
      throw new HttpError(401, "unauthorized", "a valid bearer token is required", [], {
        "www-authenticate": 'Bearer realm="quanmiao-relay"',
      });
    }
    if (route.body && mediaType(req) !== "application/json")
      throw new HttpError(415, "unsupported_media_type", "send the body as application/json");
    if (route.body) checkBodyEncoding(req);
    return { route, params };
  }

  async function dispatch(req: ApiRequest): Promise<ApiResponse> {
    const { route, params } = admit(req);
    if (req.body.length > MAX_BODY_BYTES)
      throw new HttpError(413, "payload_too_large", `the body is over ${MAX_BODY_BYTES} bytes`);

    let body: unknown;
    if (!route.body && isStateChanging(req.method)) checkNoFormBody(req);
    if (route.body) {
      body = parseJsonBody(req.body);
      const parsed = route.body.safeParse(body);
      if (!parsed.success)
        throw new HttpError(400, "invalid_request", "the body does not match the schema", issues(parsed.error, "body"));
      body = parsed.data;
    }
    // No prototype: `toString` or `__proto__` as a parameter is unknown to the schema, not "repeated".
    const rawQuery: Record<string, string> = Object.create(null);
    for (const [k, v] of req.query) {
      if (Object.hasOwn(rawQuery, k))
        throw new HttpError(400, "invalid_request", `query parameter ${k} is repeated`, [
          { field: `query.${k}`, message: "repeated" },
        ]);
      rawQuery[k] = v;
    }
    let query: unknown = rawQuery;
    if (route.query) {
      const parsed = route.query.safeParse(rawQuery);
      if (!parsed.success)
        throw new HttpError(
          400,
          "invalid_request",
          "the query does not match the schema",
          issues(parsed.error, "query"),
        );
      query = parsed.data;
    }
    return route.handler({ params, body, query });
  }

  const screen = (head: ApiRequestHead): ApiResponse | undefined => {
    try {
      admit(head);
      return undefined;
    } catch (error) {
      // admit throws nothing else: a defect there is the handler's to log when the body arrives.
      return error instanceof HttpError ? errorResponse(error) : undefined;
    }
  };

  const answer = async (req: ApiRequest): Promise<ApiResponse> => {
    try {
      return await dispatch(req);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      const found = classifyError(error);
      if (found !== UNEXPECTED) {
        // The client's mistakes are its own to read; upstream and configuration failures the operator's.
        if (found.logLevel !== "info")
          options.log?.({
            level: found.logLevel,
            msg: "api request failed",
            path: req.path,
            error: describeError(error),
          });
        // The client is told the kind of address only; the operator may need the address itself.
        if (error instanceof RefusedTargetError && error.address !== undefined)
          options.log?.({
            level: "info",
            msg: "webhook target refused",
            path: req.path,
            address: error.address,
            error: error.message,
          });
        const details =
          error instanceof InputError && error.field ? [{ field: error.field, message: error.message }] : [];
        return errorResponse(new HttpError(found.httpStatus, found.code, errorMessage(error), details));
      }
      // Anything else is ours, not the client's: log it whole, answer without internals.
      options.log?.({
        level: "error",
        msg: "api handler failed",
        path: req.path,
        error: coerceError(error).stack,
      });
      return json(500, {
        error: { code: "internal", message: "the relay failed to handle this request", details: [] },
      });
    }
  };

  const handle = async (req: ApiRequest): Promise<ApiResponse> => {
    const response = await answer(req);
    return req.method.toUpperCase() === "HEAD" ? { ...response, body: "" } : response;
  };

  return Object.assign(handle, { screen });
}
