import { describe, expect, it } from "vitest";
import { InvalidValueError } from "../../lib/errors.js";
import { checkJsonBounds, checkText, escapeUnsafe, escapeUnsafeKeepingLines } from "../../lib/input.js";

function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { "a b": value } : [value];
  return value;
}

describe("checkJsonBounds", () => {
  it("walks a million levels without touching the call stack, and names the path where it goes too deep", () => {
    const error = (() => {
      try {
        checkJsonBounds("metadata", { x: deep(1_000_000) });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidValueError);
    expect((error as InvalidValueError).field).toBe(`metadata.x${'[0]["a b"]'.repeat(15)}[0]`);
  });

  it("takes 32 levels and refuses 33; refuses a cycle; measures bytes only when asked", () => {
    expect(() => checkJsonBounds("m", deep(32))).not.toThrow();
    expect(() => checkJsonBounds("m", deep(33))).toThrow(InvalidValueError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => checkJsonBounds("m", cycle)).toThrow(/deeper than 32/);
    expect(() => checkJsonBounds("m", { s: "é".repeat(10) }, { maxBytes: 20 })).toThrow(/at most 20 bytes/);
    expect(() => checkJsonBounds("m", { s: "é".repeat(10) })).not.toThrow();
  });
});

describe("control characters", () => {
  it("checkText names the first one by code point, never raw", () => {
    expect(() => checkText("url", "http://x/\u001b[31m")).toThrow(/url: .*\(U\+001B at position 9\)/);
    expect(() => checkText("id", "a\u202eb")).toThrow(/U\+202E/);
    expect(checkText("id", "ok-ütf8-名前")).toBe("ok-ütf8-名前");
  });

  it("escapes C0, DEL, C1 and bidi overrides visibly; the keeping-lines form leaves line breaks and tabs", () => {
    expect(escapeUnsafe("a\u001b[2Jb\r\nc\u0007\u007f\u009b\u202e\u2069")).toBe(
      "a\\u001b[2Jb\\u000d\\u000ac\\u0007\\u007f\\u009b\\u202e\\u2069",
    );
    expect(escapeUnsafeKeepingLines("x\n\ty\u001b")).toBe("x\n\ty\\u001b");
    // JSON text passed through stays JSON, and means the same.
    const text = JSON.stringify({ v: "\u009b\u202e" });
    expect(JSON.parse(escapeUnsafeKeepingLines(text))).toEqual({ v: "\u009b\u202e" });
  });
});
