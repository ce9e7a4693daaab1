import { describe, expect, it } from "vitest";
import { createRouter, route } from "../../lib/api/router.js";
import { ConfigError } from "../../lib/config.js";
import { classifyError, EXIT } from "../../lib/error-policy.js";
import {
  InputError,
  InvalidCursorError,
  InvalidValueError,
  NotFoundError,
  RefusedTargetError,
} from "../../lib/errors.js";
import { ApiError, AuthError, ThrottledError } from "../../lib/quanmiao/errors.js";
import {
  TablestoreAuthError,
  TablestoreError,
  TablestoreMissingTableError,
} from "../../lib/store/tablestore/wire/errors.js";

describe("the error table", () => {
  it("gives each class its HTTP status, exit code and log level, subclasses before parents", () => {
    const row = (e: unknown) => {
      const c = classifyError(e);
      return [c.httpStatus, c.code, c.exitCode, c.logLevel];
    };
    expect(row(new RefusedTargetError("private", { kind: "policy", field: "url" }))).toEqual([
      422,
      "refused_target",
      EXIT.usage,
      "info",
    ]);
    expect(row(new InvalidCursorError())).toEqual([400, "invalid_cursor", EXIT.usage, "info"]);
    expect(row(new InvalidValueError("too fast", { field: "rateLimitPerSecond" }))).toEqual([
      422,
      "invalid_value",
      EXIT.usage,
      "info",
    ]);
    expect(row(new InputError("bad"))).toEqual([400, "invalid_request", EXIT.usage, "info"]);
    expect(row(new NotFoundError("none"))).toEqual([404, "not_found", EXIT.notFound, "info"]);
    expect(row(new ConfigError([]))).toEqual([500, "misconfigured", EXIT.config, "error"]);
    expect(row(new AuthError("no", { scope: "workspace" }))).toEqual([502, "upstream_unavailable", EXIT.auth, "warn"]);
    expect(row(new ApiError("no"))).toEqual([422, "upstream_rejected", EXIT.failure, "warn"]);
    expect(row(new ThrottledError("slow"))).toEqual([502, "upstream_unavailable", EXIT.retryable, "warn"]);
    expect(row(new Error("ours"))).toEqual([500, "internal", EXIT.failure, "error"]);
    // Tablestore refusing the relay's key or instance is a setting to fix; a missing table, init to run.
    expect(row(new TablestoreAuthError("GetRow", 403, "OTSAuthFailed", "no"))).toEqual([
      500,
      "misconfigured",
      EXIT.auth,
      "error",
    ]);
    expect(row(new TablestoreMissingTableError("GetRange", 404, "OTSObjectNotExist", "no table"))).toEqual([
      500,
      "misconfigured",
      EXIT.config,
      "error",
    ]);
    expect(row(new TablestoreError("GetRow", 503, "OTSServerBusy", "busy"))).toEqual([
      500,
      "internal",
      EXIT.failure,
      "error",
    ]);
  });

  it("the router answers by it, and logs what is not the client's mistake at its level", async () => {
    const logged: Array<Record<string, unknown>> = [];
    const failing = (error: Error) =>
      route({
        method: "GET",
        path: `/x/${error.name}`,
        summary: "x",
        auth: false,
        responses: {},
        handler: async () => {
          throw error;
        },
      });
    const handle = createRouter(
      [failing(new InputError("nope", { field: "a" })), failing(new AuthError("refused", { scope: "workspace" }))],
      {
        tokens: undefined,
        log: (e) => logged.push(e),
      },
    );
    const call = (path: string) =>
      handle({
        method: "GET",
        path,
        query: new URLSearchParams(),
        headers: { host: "127.0.0.1" },
        body: Buffer.alloc(0),
      });
    expect((await call("/x/InputError")).status).toBe(400);
    expect(logged).toEqual([]);
    const upstream = await call("/x/AuthError");
    expect(upstream.status).toBe(502);
    expect(JSON.parse(upstream.body).error.code).toBe("upstream_unavailable");
    expect(logged).toMatchObject([{ level: "warn", msg: "api request failed", path: "/x/AuthError" }]);
  });
});
