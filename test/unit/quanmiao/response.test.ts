import { describe, expect, it } from "vitest";
import {
  ApiError,
  AuthError,
  MalformedResponseError,
  TaskNotFoundError,
  ThrottledError,
  TransientError,
} from "../../../lib/quanmiao/errors.js";
import { interpretAnswer, MAX_RETRY_AFTER_MS, retryAfterMs } from "../../../lib/quanmiao/response.js";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: typeof body === "string" ? body : JSON.stringify(body),
});
const thrown = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  try {
    interpretAnswer("GetVideoAnalysisTask", answer(status, body, headers), NOW);
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("did not throw");
};

describe("interpretAnswer", () => {
  it("returns data and request id of a successful envelope", () => {
    const env = interpretAnswer(
      "GetVideoAnalysisTask",
      answer(200, { requestId: "R1", code: "successful", success: true, data: { taskId: "t", extra: [1] } }),
      NOW,
    );
    expect(env).toEqual({ data: { taskId: "t", extra: [1] }, requestId: "R1", code: "successful" });
  });

  it("reads both error shapes: gateway {Code, Message, RequestId} and product {code, message, requestId}", () => {
    const gateway = thrown(403, { RequestId: "G1", Code: "SignatureDoesNotMatch", Message: "bad sig" });
    expect(gateway).toBeInstanceOf(AuthError);
    expect(gateway).toMatchObject({
      code: "SignatureDoesNotMatch",
      requestId: "G1",
      message: "bad sig",
      scope: "credentials",
    });
    const product = thrown(403, { requestId: "P1", code: "NoPermission", message: "denied", success: false });
    expect(product).toMatchObject({ code: "NoPermission", requestId: "P1", scope: "workspace" });
  });

  it("treats HTTP 200 with success:false as a failure", () => {
    expect(thrown(200, { success: false, code: "DataNotExists", message: "任务不存在" })).toBeInstanceOf(
      TaskNotFoundError,
    );
    expect(thrown(200, { success: false, code: "InvalidParameter", message: "x" })).toBeInstanceOf(ApiError);
    expect(thrown(200, { success: false, code: "Throttling.User" })).toBeInstanceOf(ThrottledError);
  });

  it.each([
    ["InvalidAccessKeyId.NotFound", 404],
    ["InvalidAccessKeyId.Inactive", 400],
    ["Forbidden.RAM", 403],
    ["InvalidSecurityToken.Expired", 403],
  ])("%s is an AuthError of the credentials", (code, status) => {
    expect(thrown(status, { Code: code })).toMatchObject({ scope: "credentials", retryable: false });
  });

  it("throttling: 429, Throttling* codes, or any failure with x-acs-retry-after", () => {
    expect(thrown(429, "")).toBeInstanceOf(ThrottledError);
    expect(thrown(400, { Code: "Throttling" })).toBeInstanceOf(ThrottledError);
    const withHeader = thrown(503, { Code: "ServiceUnavailable" }, { "x-acs-retry-after": "2500" });
    expect(withHeader).toBeInstanceOf(ThrottledError);
    expect(withHeader.retryAfterMs).toBe(2500);
  });

  it("5xx is transient, with or without a JSON body", () => {
    expect(thrown(500, { Code: "InternalError" })).toMatchObject({ kind: "server", retryable: true });
    expect(thrown(502, "<html>bad gateway</html>")).toBeInstanceOf(TransientError);
  });

  it("a 2xx that is not the envelope is malformed, with a short excerpt", () => {
    const html = thrown(200, `<html>${"x".repeat(1000)}</html>`);
    expect(html).toBeInstanceOf(MalformedResponseError);
    expect((html.excerpt as string).length).toBeLessThanOrEqual(201);
    expect(thrown(200, { success: true })).toBeInstanceOf(MalformedResponseError);
    expect(thrown(200, { success: true, data: [1] })).toBeInstanceOf(MalformedResponseError);
    expect(thrown(200, "[]")).toBeInstanceOf(MalformedResponseError);
  });

  it("a 4xx without JSON is a permanent ApiError that shows the body", () => {
    const error = thrown(404, "Not Found");
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toContain("Not Found");
  });

  it("falls back to the x-acs-request-id header", () => {
    expect(thrown(500, "", { "x-acs-request-id": "H1" }).requestId).toBe("H1");
  });
});

describe("retryAfterMs", () => {
  it("reads x-acs-retry-after as ms, Retry-After as seconds or a date, and caps both", () => {
    expect(retryAfterMs({ "x-acs-retry-after": "1200" }, NOW)).toBe(1200);
    expect(retryAfterMs({ "retry-after": "3" }, NOW)).toBe(3000);
    expect(retryAfterMs({ "retry-after": new Date(NOW + 5000).toUTCString() }, NOW)).toBe(5000);
    expect(retryAfterMs({ "x-acs-retry-after": String(24 * 3_600_000) }, NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs({ "x-acs-retry-after": "0" }, NOW)).toBeUndefined();
    expect(retryAfterMs({ "retry-after": "soon" }, NOW)).toBeUndefined();
    expect(retryAfterMs({}, NOW)).toBeUndefined();
  });
});
