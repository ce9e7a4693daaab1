/**
 * `tasks import`: NDJSON or CSV (workspaceId,taskId[,submittedAt[,videoDurationSeconds]]) →
 * registrations, bad lines by number. What the file says is taken as written or refused by line:
 * bytes that are not UTF-8, a field the API does not know (a typo would be lost), a cell quoted
 * around a comma.
 */
import { isUtf8 } from "node:buffer";
import type { RegisterTaskRequest } from "../tasks.js";

export interface ImportEntry {
  readonly line: number;
  readonly request: RegisterTaskRequest;
}

export interface ImportProblem {
  readonly line: number;
  readonly message: string;
}

/** The NDJSON fields: those of `POST /v1/tasks`, and `submittedAt` (ISO text or epoch ms) for `submittedAtMs`. */
const FIELDS = [
  "workspaceId",
  "taskId",
  "submittedAt",
  "submittedAtMs",
  "webhooks",
  "metadata",
  "profile",
  "videoDurationSeconds",
] as const;
const KNOWN: ReadonlySet<string> = new Set(FIELDS);
const CSV_SHAPE = "expected workspaceId,taskId[,submittedAt[,videoDurationSeconds]]";

function time(text: unknown): number | undefined | string {
  if (text === undefined || text === null || text === "") return undefined;
  if (typeof text === "number") return text;
  const s = String(text).trim();
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(ms) ? ms : `submittedAt "${s}" is not an ISO time or epoch milliseconds`;
}

/**
 * One CSV record's cells (RFC 4180 within a line): a quoted cell may hold commas, and `""` for a
 * quote. Undefined when a quote is left open or text follows a closing one.
 */
export function csvCells(line: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++;
    let cell = "";
    if (line[i] === '"') {
      for (i++; ; i++) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] !== '"') break;
          i++;
        }
        cell += line[i];
      }
      i++;
      while (line[i] === " " || line[i] === "\t") i++;
      if (i < line.length && line[i] !== ",") return undefined;
    } else {
      const end = line.indexOf(",", i);
      cell = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      if (cell.includes('"')) return undefined;
      i = end < 0 ? line.length : end;
    }
    cells.push(cell);
    if (i >= line.length) return cells;
    i++; // the comma
  }
}

/** The file's lines, decoded; a line that is not UTF-8 is undefined (decoding would put U+FFFD in its ids). */
function lines(input: string | Buffer): Array<string | undefined> {
  if (typeof input === "string") return input.split(/\r?\n/);
  const out: Array<string | undefined> = [];
  let start = 0;
  for (;;) {
    const end = input.indexOf(0x0a, start);
    const bytes = input.subarray(start, end < 0 ? input.length : end);
    out.push(isUtf8(bytes) ? bytes.toString("utf8").replace(/\r$/, "") : undefined);
    if (end < 0) return out;
    start = end + 1;
  }
}

type Fields = { [K in (typeof FIELDS)[number]]?: unknown };

function fieldsOf(line: number, trimmed: string, problems: ImportProblem[]): Fields | undefined {
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      problems.push({ line, message: "not valid JSON" });
      return undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      problems.push({ line, message: "not a JSON object" });
      return undefined;
    }
    const unknown = Object.keys(parsed).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) {
      problems.push({ line, message: `unknown field ${JSON.stringify(unknown[0])} (fields: ${FIELDS.join(", ")})` });
      return undefined;
    }
    return parsed as Fields;
  }
  const cells = csvCells(trimmed);
  if (cells === undefined) {
    problems.push({ line, message: `a quote is left open or followed by text: ${CSV_SHAPE}, quoted as in RFC 4180` });
    return undefined;
  }
  if (cells.length < 2 || cells.length > 4) {
    problems.push({ line, message: CSV_SHAPE });
    return undefined;
  }
  // A cell that is not a number becomes NaN, which the registration's check refuses by name.
  const video = cells[3] === undefined || cells[3] === "" ? undefined : Number(cells[3]);
  return { workspaceId: cells[0], taskId: cells[1], submittedAt: cells[2], videoDurationSeconds: video };
}

export function parseImport(input: string | Buffer): { entries: ImportEntry[]; problems: ImportProblem[] } {
  const entries: ImportEntry[] = [];
  const problems: ImportProblem[] = [];
  for (const [index, raw] of lines(input).entries()) {
    const line = index + 1;
    if (raw === undefined) {
      problems.push({ line, message: "not valid UTF-8" });
      continue;
    }
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (line === 1 && /^"?workspace_?id"?\s*,/i.test(trimmed)) continue; // a CSV header
    const fields = fieldsOf(line, trimmed, problems);
    if (fields === undefined) continue;
    const submittedAtMs = time(fields.submittedAt ?? fields.submittedAtMs);
    if (typeof submittedAtMs === "string") {
      problems.push({ line, message: submittedAtMs });
      continue;
    }
    entries.push({
      line,
      request: {
        workspaceId: fields.workspaceId as string,
        taskId: fields.taskId as string,
        ...(submittedAtMs !== undefined ? { submittedAtMs } : {}),
        ...(fields.webhooks !== undefined ? { webhooks: fields.webhooks as string[] } : {}),
        ...(fields.metadata !== undefined ? { metadata: fields.metadata as Record<string, unknown> } : {}),
        ...(fields.profile !== undefined ? { profile: fields.profile as string } : {}),
        ...(fields.videoDurationSeconds !== undefined
          ? { videoDurationSeconds: fields.videoDurationSeconds as number }
          : {}),
      },
    });
  }
  return { entries, problems };
}
