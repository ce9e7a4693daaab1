import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

// The built runner (npm test builds first), as `npm run bench -- …` runs it; no scenario starts.
const bench = (...args: string[]) =>
  spawnSync(process.execPath, ["dist/bench/run.js", ...args], { encoding: "utf8", timeout: 10_000 });

describe("npm run bench, asked the wrong thing", () => {
  it("prints its usage and the scenario names for --help, and exits 0", () => {
    const { status, stdout, stderr } = bench("--help");
    expect(status).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^usage: npm run bench -- \[--quick\] \[--json\] \[--only a,b\]/);
    expect(stdout).toMatch(/throughput, latency, .*cold-start, linger-cost, noisy-neighbours\n$/);
  });

  it("names an unknown option and shows the usage, exiting 2", () => {
    const { status, stdout, stderr } = bench("--fast");
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^Unknown option '--fast'.*\nusage: npm run bench/s);
  });

  it("names an unknown scenario and the ones there are, exiting 2", () => {
    const { status, stderr } = bench("--only", "througput");
    expect(status).toBe(2);
    expect(stderr).toMatch(/^unknown scenario througput; choose from client, throughput/);
  });
});
