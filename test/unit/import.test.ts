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
});
