/** Paging cursors: the last row's key, opaque to callers. */
import { InvalidCursorError } from "../errors.js";

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The key a cursor carries; InvalidCursorError if it is not one of ours. */
export function decodeCursor(cursor: string | undefined, length: number): string[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === length && key.every((k) => typeof k === "string")) return key;
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

/** A position in a list keyed by (a time, then strings): what every newest-first list pages by. */
export type TimeKey = [number, ...string[]];

export function encodeTimeCursor(key: TimeKey): string {
  return encodeCursor(key.map(String));
}

/** The (time, …strings) key a cursor carries; InvalidCursorError if it is not one of ours. */
export function decodeTimeCursor(cursor: string | undefined, length: number): TimeKey | undefined {
  const key = decodeCursor(cursor, length);
  if (key === undefined) return undefined;
  const [at, ...rest] = key;
  const ms = Number(at);
  if (!Number.isSafeInteger(ms) || String(ms) !== at) throw new InvalidCursorError();
  return [ms, ...rest];
}
