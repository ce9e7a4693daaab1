/** One JSON line per entry on stderr; debug entries only when RELAY_LOG_LEVEL=debug. */
export type Log = (entry: Record<string, unknown>) => void;

export function jsonLog(write: (line: string) => void, level: string | undefined): Log {
  const debug = level === "debug";
  return (entry) => {
    const entryLevel = typeof entry.level === "string" ? entry.level : "debug";
    if (entryLevel === "debug" && !debug) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: entryLevel, ...entry })}\n`);
  };
}
