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
