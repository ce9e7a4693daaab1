import { describe, expect, it } from "vitest";
import { parseImport } from "../../lib/cli/import.js";

describe("tasks import parsing", () => {
  it("reads NDJSON and CSV (with or without a header), reporting bad lines by number", () => {
    const text = [
      "workspaceId,taskId,submittedAt",
      "llm-a,t1,2026-11-25T10:00:00Z",
      "llm-a,t2",
      '{"workspaceId":"llm-b","taskId":"t3","submittedAt":1700000000000,"metadata":{"k":1}}',
      "",
      "# a comment",
      "{broken",
      "only-one-field",
      "llm-a,t4,yesterday",
      "llm-a,t5,,93.5",
      '{"workspaceId":"llm-b","taskId":"t6","videoDurationSeconds":12}',
      "llm-a,t7,,abc",
      "a,b,c,d,e",
    ].join("\n");
    const { entries, problems } = parseImport(text);
    expect(entries.map((e) => [e.line, e.request])).toEqual([
      [2, { workspaceId: "llm-a", taskId: "t1", submittedAtMs: Date.parse("2026-11-25T10:00:00Z") }],
      [3, { workspaceId: "llm-a", taskId: "t2" }],
      [4, { workspaceId: "llm-b", taskId: "t3", submittedAtMs: 1700000000000, metadata: { k: 1 } }],
      [10, { workspaceId: "llm-a", taskId: "t5", videoDurationSeconds: 93.5 }],
      [11, { workspaceId: "llm-b", taskId: "t6", videoDurationSeconds: 12 }],
      // Not a number: passed on as NaN, for the registration's check to refuse with the field named.
      [12, { workspaceId: "llm-a", taskId: "t7", videoDurationSeconds: Number.NaN }],
    ]);
    expect(problems).toEqual([
      { line: 7, message: "not valid JSON" },
      { line: 8, message: "expected workspaceId,taskId[,submittedAt[,videoDurationSeconds]]" },
      { line: 9, message: 'submittedAt "yesterday" is not an ISO time or epoch milliseconds' },
      { line: 13, message: "expected workspaceId,taskId[,submittedAt[,videoDurationSeconds]]" },
    ]);
  });

  it("takes every field of POST /v1/tasks and refuses one it does not know, where a typo was dropped unsaid", () => {
    const { entries, problems } = parseImport(
      [
        '{"workspaceId":"w","taskId":"p","profile":"summary","submittedAtMs":1765000000000}',
        '{"workspaceId":"w","taskId":"typo","metdata":{"k":1}}',
        '["w","array"]',
      ].join("\n"),
    );
    expect(entries.map((e) => e.request)).toEqual([
      { workspaceId: "w", taskId: "p", profile: "summary", submittedAtMs: 1765000000000 },
    ]);
    expect(problems).toEqual([
      { line: 2, message: expect.stringMatching(/^unknown field "metdata" \(fields: workspaceId, taskId, /) },
      { line: 3, message: "not a JSON object" },
    ]);
  });

  it("reads quoted CSV cells as RFC 4180 does, and refuses a quote left open", () => {
    const { entries, problems } = parseImport(
      ['llm-a,"csv,3"', '"llm-a" , "say ""hi""" ,2026-11-25T10:00:00Z', 'llm-a,"open', 'llm-a,t"x'].join("\n"),
    );
    expect(entries.map((e) => [e.line, e.request])).toEqual([
      [1, { workspaceId: "llm-a", taskId: "csv,3" }],
      [2, { workspaceId: "llm-a", taskId: 'say "hi"', submittedAtMs: Date.parse("2026-11-25T10:00:00Z") }],
    ]);
    expect(problems.map((p) => p.line)).toEqual([3, 4]);
    expect(problems[0]?.message).toMatch(/^a quote is left open or followed by text/);
  });

  it("refuses a line that is not UTF-8 by number, where decoding put U+FFFD in its ids; the others go on", () => {
    const file = Buffer.concat([
      Buffer.from("llm-a,good-1\n"),
      Buffer.from([0x6c, 0x6c, 0x6d, 0x2c, 0xff, 0xfe, 0x0a]),
      Buffer.from("llm-a,good-2\r\n"),
    ]);
    const { entries, problems } = parseImport(file);
    expect(entries.map((e) => [e.line, e.request.taskId])).toEqual([
      [1, "good-1"],
      [3, "good-2"],
    ]);
    expect(problems).toEqual([{ line: 2, message: "not valid UTF-8" }]);
  });
});
