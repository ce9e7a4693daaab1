/**
 * One GetVideoAnalysisTask answer as the relay keeps it: the `data` object exactly as sent (what
 * subscribers receive) and its status. The typed view of the rest is schema.ts's `viewOf`.
 */

/** The API's spelling: SUCCESSED (sic) and CANCELED. SUSPENDED is undocumented and treated as live. */
export const TASK_STATUSES = ["PENDING", "RUNNING", "SUCCESSED", "SUSPENDED", "FAILED", "CANCELED"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["SUCCESSED", "FAILED", "CANCELED"]);

export function isTerminalStatus(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.has(status);
}

export type JsonObject = Record<string, unknown>;

/** One task as the API answered it: `raw` is the `data` object exactly as sent. */
export class ParsedTask {
  constructor(
    readonly raw: JsonObject,
    readonly requestId?: string | undefined,
  ) {}

  /** The one field the relay decides on. */
  get status(): string | undefined {
    const status = this.raw.taskStatus;
    return typeof status === "string" ? status : undefined;
  }
}

export function parseTaskData(raw: JsonObject, requestId?: string): ParsedTask {
  return new ParsedTask(raw, requestId);
}

/** Numeric text, as the docs show some numbers. */
export const NUMERIC = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;

/** A number the API may send as a number or as numeric text; else undefined. */
export function looseNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  return typeof value === "string" && NUMERIC.test(value) ? Number(value) : undefined;
}
