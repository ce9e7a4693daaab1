/** One JSON line per entry; entries below the configured level (RELAY_LOG_LEVEL) are dropped. */
import type { LogLevel } from "./config.js";

export type Log = (entry: Record<string, unknown>) => void;

const RANK: Readonly<Record<string, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** An entry without a level is a debug entry. */
export function jsonLog(write: (line: string) => void, level: LogLevel): Log {
  const least = RANK[level] ?? 1;
  return (entry) => {
    const entryLevel = typeof entry.level === "string" ? entry.level : "debug";
    if ((RANK[entryLevel] ?? 1) < least) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: entryLevel, ...entry })}\n`);
  };
}
