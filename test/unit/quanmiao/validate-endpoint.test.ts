import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../lib/errors.js";
import { parseEndpoint } from "../../../lib/quanmiao/endpoint.js";
import { checkId, checkWorkspaceId } from "../../../lib/quanmiao/validate.js";

describe("checkId", () => {
  it("accepts ordinary ids, unicode included", () => {
    for (const id of ["llm-abc123", "a3d1c2ac-f086-4a21-9069-f5631542f5a2", "工作空间", "a b", "x".repeat(256)]) {
      expect(checkId("id", id)).toBe(id);
    }
  });

  it.each([
    ["", "empty"],
    ["  ", "blank"],
    [" a", "whitespace"],
    ["a\t", "whitespace"],
    ["x".repeat(257), "limit"],
    ["a\u0000b", "control"],
    ["a\u0085b", "control"],
    ["\udc00", "Unicode"],
  ])("rejects %j (%s)", (id, word) => {
    expect(() => checkId("taskId", id)).toThrow(InputError);
    expect(() => checkId("taskId", id)).toThrow(new RegExp(`taskId.*${word}`, "i"));
  });

  it("a workspace id holds no slash (it is a segment of the API's paths); a task id may", () => {
    expect(checkWorkspaceId("workspaceId", "llm-abc")).toBe("llm-abc");
    expect(() => checkWorkspaceId("workspaceId", "llm/abc")).toThrow(
      new InputError(`workspaceId must not contain "/": it is one segment of the Quanmiao API's paths`),
    );
    expect(() => checkWorkspaceId("workspaceId", " a")).toThrow(/whitespace/);
    expect(checkId("taskId", "a/b")).toBe("a/b");
  });

  it("never accepts a string with a control character", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 0x1f }), fc.string(), (a, c, b) => {
        expect(() => checkId("id", `x${a}${String.fromCharCode(c)}${b}x`)).toThrow(InputError);
      }),
    );
  });
});

describe("parseEndpoint", () => {
  it("accepts https origins, bare hosts, and http on loopback", () => {
    expect(parseEndpoint("quanmiaolightapp.cn-beijing.aliyuncs.com").origin).toBe(
      "https://quanmiaolightapp.cn-beijing.aliyuncs.com",
    );
    expect(parseEndpoint("https://example.com:8443/").origin).toBe("https://example.com:8443");
    expect(parseEndpoint("http://127.0.0.1:8790").origin).toBe("http://127.0.0.1:8790");
    expect(parseEndpoint("http://localhost:1").origin).toBe("http://localhost:1");
    expect(parseEndpoint("http://[::1]:1").origin).toBe("http://[::1]:1");
  });

  it.each([
    ["http://example.com", /https/],
    ["http://10.0.0.1", /https/],
    ["https://example.com/path", /origin only/],
    ["https://user:pw@example.com", /credentials/],
    ["ftp://example.com", /https/],
    ["https://", /not a URL/],
  ])("rejects %s", (value, message) => {
    expect(() => parseEndpoint(value)).toThrow(message);
  });
});
