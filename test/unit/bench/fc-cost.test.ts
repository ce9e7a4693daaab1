import { describe, expect, it } from "vitest";
import { billed, fcCostRows, isFcSize, smallestFcSize } from "../../../bench/fc-cost.js";

describe("the smallest FC size for a measured run", () => {
  it("rounds twice the peak RSS up to FC's 64 MB steps, from 128 MB", () => {
    expect(smallestFcSize(100).memoryMb).toBe(256); // 200 MB → 256
    expect(smallestFcSize(128).memoryMb).toBe(256); // exactly 256
    expect(smallestFcSize(128.1).memoryMb).toBe(320);
    expect(smallestFcSize(20).memoryMb).toBe(128); // FC's least
    expect(smallestFcSize(100, 0, 3).memoryMb).toBe(320); // another headroom: 300 MB → 320
  });

  it("gives the least vCPU the memory allows (4 GB per vCPU), in 0.05 steps", () => {
    expect(smallestFcSize(100)).toEqual({ memoryMb: 256, vcpu: 0.1 }); // 0.0625 → 0.1
    expect(smallestFcSize(60)).toEqual({ memoryMb: 128, vcpu: 0.05 });
    expect(smallestFcSize(1024)).toEqual({ memoryMb: 2048, vcpu: 0.5 }); // exactly 1:4
  });

  it("gives twice the measured CPU use when that is more, raising the memory to 1 GB per vCPU", () => {
    expect(smallestFcSize(100, 0.12)).toEqual({ memoryMb: 256, vcpu: 0.25 }); // 0.24 → 0.25, 256 MB holds it
    expect(smallestFcSize(100, 0.15)).toEqual({ memoryMb: 320, vcpu: 0.3 }); // 0.3 vCPU needs 307 MB → 320
    expect(smallestFcSize(100, 0.2)).toEqual({ memoryMb: 448, vcpu: 0.4 });
  });

  it("only ever answers sizes FC accepts, and refuses what FC has no size for", () => {
    for (const rss of [1, 63.9, 64, 100, 333, 1_000, 5_000])
      for (const cpu of [0, 0.01, 0.1, 0.33, 1, 3.2])
        expect(isFcSize(smallestFcSize(rss, cpu)), `${rss} ${cpu}`).toBe(true);
    expect(isFcSize({ memoryMb: 512, vcpu: 0.35 })).toBe(true);
    expect(isFcSize({ memoryMb: 512, vcpu: 0.1 })).toBe(false); // more than 4 GB per vCPU
    expect(isFcSize({ memoryMb: 256, vcpu: 0.3 })).toBe(false); // less than 1 GB per vCPU
    expect(isFcSize({ memoryMb: 300, vcpu: 0.1 })).toBe(false); // not a 64 MB step
    expect(isFcSize({ memoryMb: 256, vcpu: 0.12 })).toBe(false); // not a 0.05 step
    expect(() => smallestFcSize(20_000)).toThrow(RangeError);
  });
});

describe("what FC bills", () => {
  it("counts vCPU-seconds, GB-seconds (1 GB = 1,024 MB) and compute units (1 and 0.15 CU)", () => {
    expect(billed(3_600, { memoryMb: 512, vcpu: 0.35 })).toEqual({ vcpuSeconds: 1_260, gbSeconds: 1_800, cu: 1_530 });
    expect(billed(0, { memoryMb: 256, vcpu: 0.1 })).toEqual({ vcpuSeconds: 0, gbSeconds: 0, cu: 0 });
  });

  it("puts the lingering poll function next to an always-on poller of the same size", () => {
    const rows = fcCostRows("x", { runSecondsPerBusyHour: 1_800 }, { memoryMb: 256, vcpu: 0.1 });
    expect(rows.map((r) => [r.unit, r.value, r.baseline])).toEqual([
      ["vCPU-s", 180, 360],
      ["GB-s", 450, 900],
      ["CU", 180 + 450 * 0.15, 360 + 900 * 0.15],
    ]);
    expect(rows.every((r) => r.ratio === 0.5 && r.metric.includes("256 MB, 0.1 vCPU"))).toBe(true);
  });

  it("adds the run-seconds per finished task and their bill when the economy scenario gives them", () => {
    const rows = fcCostRows(
      "x",
      { runSecondsPerBusyHour: 3_600, runSecondsPerTask: { relay: 2, naive: 8 } },
      { memoryMb: 512, vcpu: 0.5 },
    );
    expect(rows.slice(3).map((r) => [r.unit, r.value, r.baseline])).toEqual([
      ["s", 2, 8],
      ["vCPU-s", 1, 4],
      ["GB-s", 1, 4],
    ]);
  });
});
