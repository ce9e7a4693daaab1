/**
 * `tasks import`: NDJSON or CSV (workspaceId,taskId[,submittedAt[,videoDurationSeconds]]) →
 * registrations, bad lines by number.
 */
import type { RegisterTaskRequest } from "../tasks.js";

export interface ImportEntry {
  readonly line: number;
  readonly request: RegisterTaskRequest;
}

export interface ImportProblem {
  readonly line: number;
  readonly message: string;
}

function time(text: unknown): number | undefined | string {
  if (text === undefined || text === null || text === "") return undefined;
  if (typeof text === "number") return text;
  const s = String(text).trim();
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(ms) ? ms : `submittedAt "${s}" is not an ISO time or epoch milliseconds`;
}

export function parseImport(text: string): { entries: ImportEntry[]; problems: ImportProblem[] } {
  const entries: ImportEntry[] = [];
  const problems: ImportProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    let fields: {
      workspaceId?: unknown;
      taskId?: unknown;
      submittedAt?: unknown;
      webhooks?: unknown;
      metadata?: unknown;
      videoDurationSeconds?: unknown;
    };
    if (trimmed.startsWith("{")) {
      try {
        fields = JSON.parse(trimmed);
      } catch {
        problems.push({ line, message: "not valid JSON" });
        continue;
      }
    } else {
      const cells = trimmed.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
      if (line === 1 && /^workspace_?id$/i.test(cells[0] ?? "")) continue; // a CSV header
      if (cells.length < 2 || cells.length > 4) {
        problems.push({ line, message: "expected workspaceId,taskId[,submittedAt[,videoDurationSeconds]]" });
        continue;
      }
      // A cell that is not a number becomes NaN, which the registration's check refuses by name.
      const video = cells[3] === undefined || cells[3] === "" ? undefined : Number(cells[3]);
      fields = { workspaceId: cells[0], taskId: cells[1], submittedAt: cells[2], videoDurationSeconds: video };
    }
    const submittedAtMs = time(fields.submittedAt ?? (fields as { submittedAtMs?: unknown }).submittedAtMs);
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
        ...(fields.videoDurationSeconds !== undefined
          ? { videoDurationSeconds: fields.videoDurationSeconds as number }
          : {}),
      },
    });
  }
  return { entries, problems };
}
