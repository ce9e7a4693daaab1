import { describe, expect, it } from "vitest";
import { cdf, type Truth } from "../../../bench/economy-days.js";
import { floorOf, learnerTruths, perWorkspaceFloor } from "../../../bench/floor.js";

const MIN = 60_000;
const fast: Truth = { kind: "lognormal", medianMs: 5 * MIN, sigma: 0.1 };
const slow: Truth = { kind: "lognormal", medianMs: 15 * MIN, sigma: 0.1 };
const arrival = (ws: string, atMs: number, runMs: number, truth: Truth, videoMs?: number) => ({
  atMs,
  ws,
  runMs,
  truth,
  ...(videoMs ? { videoMs } : {}),
  truthGivenVideo:
    videoMs && truth.kind === "lognormal" ? { ...truth, medianMs: (truth.medianMs / 5) * (videoMs / MIN) } : truth,
});

describe("a learner's floor", () => {
  it("schedules a task started before its group's first end on the mix of such groups, every other on its own", () => {
    const planned = [
      arrival("a", 0, 5 * MIN, fast),
      arrival("b", 0, 15 * MIN, slow),
      arrival("a", 1 * MIN, 5 * MIN, fast), // starts before a's first end (5 min): knows only the mix
      arrival("a", 6 * MIN, 5 * MIN, fast), // after it: a's own
    ];
    const ends = planned.map((a) => a.atMs + a.runMs);
    const truths = learnerTruths(planned, ends, false);
    expect(truths.map((t) => t.kind)).toEqual(["mixture", "mixture", "mixture", "lognormal"]);
    const mix = truths[0] as Truth;
    // a has two uninformed tasks, b one: the mix weighs them so.
    expect(cdf(mix, 10 * MIN)).toBeCloseTo((2 / 3) * cdf(fast, 10 * MIN) + (1 / 3) * cdf(slow, 10 * MIN), 9);
    // Knowing less costs more: above the floor, which knows every group from the start.
    expect(floorOf(truths, 10_000).calls).toBeGreaterThan(floorOf([fast, slow, fast, fast], 10_000).calls);
  });

  it("with video lengths given, an uninformed task's mix is at its own video's length", () => {
    const planned = [arrival("a", 0, 5 * MIN, fast, 5 * MIN), arrival("b", 0, 30 * MIN, slow, 10 * MIN)];
    const truths = learnerTruths(
      planned,
      planned.map((a) => a.atMs + a.runMs),
      true,
    );
    // b's 10-minute video: a's rate (1 min per minute) gives 10 min, b's (3) gives 30.
    const [, forB] = truths as [Truth, Truth];
    expect(cdf(forB, 14 * MIN) - cdf(forB, 7 * MIN)).toBeCloseTo(0.5, 2);
    expect(cdf(forB, 42 * MIN) - cdf(forB, 21 * MIN)).toBeCloseTo(0.5, 2);
  });
});

describe("each workspace's floor", () => {
  it("prices each workspace alone: no cheaper than the day's floor, equal where workspaces are alike", () => {
    const wide: Truth = { kind: "lognormal", medianMs: 10 * MIN, sigma: 0.4 };
    // Three tasks of workspace a for one of b: each workspace's floor weighs them so.
    const planned = [
      ...Array.from({ length: 3 }, () => arrival("a", 0, 5 * MIN, fast)),
      arrival("b", 0, 10 * MIN, wide),
    ];
    const truths = planned.map((a) => a.truth);
    const day = floorOf(truths, 10_000).calls;
    const each = perWorkspaceFloor(planned, truths, 10_000).calls;
    // The day's floor leaves more of the wide workspace's dear ends late than its own p95 allows.
    expect(each).toBeGreaterThan(day * 1.01);
    // Each alone at 95 %, weighted by its tasks.
    const own = (3 * floorOf([fast], 10_000).calls + floorOf([wide], 10_000).calls) / 4;
    expect(each).toBeCloseTo(own, 9);
    const alike = [arrival("a", 0, 5 * MIN, fast), arrival("b", 0, 5 * MIN, fast)];
    expect(perWorkspaceFloor(alike, [fast, fast], 10_000).calls).toBeCloseTo(floorOf([fast, fast], 10_000).calls, 9);
    // At the relay's margins (96 % of ends, polls 9.7 s apart) it costs more again.
    expect(perWorkspaceFloor(planned, truths, 9_700, 0.96).calls).toBeGreaterThan(each * 1.03);
  });
});
