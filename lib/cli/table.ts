import { escapeUnsafe } from "../input.js";

/** Plain-text tables for a terminal; scripts use --json instead. */
export function table(header: readonly string[], rawRows: ReadonlyArray<readonly string[]>): string {
  // Cells come from the store, whatever wrote it: a line break or an escape sequence in one must
  // not draw a fake row or drive the operator's terminal, so they are shown escaped.
  const rows = rawRows.map((r) => r.map(escapeUnsafe));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

export function when(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().replace(".000Z", "Z");
}

/** One value inside a line of plain text (an id, a reason), escaped as in a table cell. */
export const shown = (value: string): string => escapeUnsafe(value);
