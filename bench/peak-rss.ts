/**
 * This process's own peak resident size, for the scenarios that measure a run in a fresh process.
 * `process.resourceUsage().maxRSS` will not do in a child: on Linux it keeps the high-water mark
 * across fork and exec, so a child started by a 130 MiB bench reports at least 130 MiB whatever it
 * uses itself (the linger-cost rows read 130 MiB with and without tasks for that reason). VmHWM in
 * /proc/self/status belongs to the memory the process has since exec. Elsewhere maxRSS is all there is.
 */
import { readFileSync } from "node:fs";

export function peakRssMiB(): number {
  try {
    const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS / 1024;
}
