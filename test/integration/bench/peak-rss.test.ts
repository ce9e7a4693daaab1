import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const built = new URL("../../../dist/bench/peak-rss.js", import.meta.url).href;

describe("a bench child's peak RSS (npm run build → dist/bench/peak-rss.js)", () => {
  it("is its own, not the size of the process that started it", () => {
    // A parent holding 200 MiB starts a child that reports its peak both ways.
    const parent = `
      import { execFileSync } from "node:child_process";
      const hog = Buffer.alloc(200 << 20, 1);
      const child = \`const { peakRssMiB } = await import(${JSON.stringify(built)});
        process.stdout.write(JSON.stringify({ own: peakRssMiB(), maxRSS: process.resourceUsage().maxRSS / 1024 }));\`;
      process.stdout.write(execFileSync(process.execPath, ["--input-type=module", "-e", child]));
      hog.fill(2);`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", parent]).toString()) as {
      own: number;
      maxRSS: number;
    };
    // maxRSS carries the parent's 200 MiB across fork and exec (on Linux, where these tests run).
    expect(out.maxRSS).toBeGreaterThan(200);
    expect(out.own).toBeGreaterThan(10);
    expect(out.own).toBeLessThan(150);
  });
});
