import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { cheapestSchedule, prepare, priceFor, scheduleAtPrice } from "../../lib/poll-schedule.js";

/** A schedule's cost and coverage, counted directly from its polls (no DP). */
function evaluate(mass: readonly number[], k: number, polls: readonly number[]) {
  const ended = (cell: number) => mass.slice(0, Math.max(0, cell)).reduce((a, b) => a + b, 0);
  let calls = 0;
  let covered = 0;
  let prev = -1;
  for (const b of polls) {
    calls += prev < 0 ? 1 : 1 - ended(prev);
    covered += ended(b) - ended(Math.max(prev, b - k, 0));
    prev = b;
  }
  return { calls, covered };
}

describe("the cheapest poll schedule", () => {
  it.each([1, 2, 3])("no schedule covering as much costs less (every schedule of 12 cells tried, seed %i)", (seed) => {
    const random = seededRandom(`schedule-${seed}`);
    const raw = Array.from({ length: 12 }, () => random() ** 3);
    const sum = raw.reduce((a, b) => a + b, 0);
    const mass = raw.map((m) => m / sum);
    const k = 2;
    for (const share of [0.6, 0.8, 0.95]) {
      const found = cheapestSchedule({ stepMs: 1, mass }, k, share);
      const cells = found.pollsMs;
      const direct = evaluate(mass, k, cells);
      expect(direct.calls).toBeCloseTo(found.expectedCalls, 9);
      expect(direct.covered).toBeCloseTo(found.coveredShare, 9);
      expect(found.coveredShare).toBeGreaterThanOrEqual(share - 1e-12);
      // Every schedule that ends with a poll at the last cell (so every end is seen).
      for (let bits = 0; bits < 1 << 11; bits++) {
        const polls = [...Array.from({ length: 11 }, (_, i) => i + 1).filter((c) => bits & (1 << (c - 1))), 12];
        const other = evaluate(mass, k, polls);
        if (other.covered >= found.coveredShare - 1e-12)
          expect(other.calls).toBeGreaterThanOrEqual(found.expectedCalls - 1e-9);
      }
    }
  });

  it("run times uniform in 1–30 min, p95 within 10 s: about 80 calls, polling every 10 s from 2.5 min", () => {
    const stepMs = 1_000;
    const mass = Array.from({ length: 1_800 }, (_, i) => (i >= 60 ? 1 / 1_740 : 0));
    const s = cheapestSchedule({ stepMs, mass }, 10_000, 0.95);
    // The arithmetic: (1800 − 147)² / (2 · 1740) / 10 s ≈ 78.5 polls in the dense stretch, plus the first.
    expect(s.expectedCalls).toBeGreaterThan(78);
    expect(s.expectedCalls).toBeLessThan(81);
    expect(s.pollsMs[0]).toBeGreaterThan(140_000);
    expect((s.pollsMs[1] as number) - (s.pollsMs[0] as number)).toBe(10_000);
  });

  it("skips cells that hold no end (firstCell) without changing the answer", () => {
    const mass = [0, 0, 0, 0, 0.1, 0.3, 0.4, 0.2];
    const whole = cheapestSchedule({ stepMs: 1_000, mass }, 2_000, 0.95);
    const trimmed = cheapestSchedule({ stepMs: 1_000, mass: mass.slice(4), firstCell: 4 }, 2_000, 0.95);
    expect(trimmed.pollsMs).toEqual(whole.pollsMs);
    expect(trimmed.expectedCalls).toBeCloseTo(whole.expectedCalls, 12);
  });

  it("a higher price never covers less", () => {
    const p = prepare({ stepMs: 1, mass: [0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05] }, 2);
    let before = 0;
    for (const price of [0.1, 1, 3, 10, 30, 100, 1e4]) {
      const covered = scheduleAtPrice(p, price).coveredShare;
      expect(covered).toBeGreaterThanOrEqual(before - 1e-12);
      before = covered;
    }
    expect(priceFor(() => 1, 0.9)).toBeLessThan(1);
  });

  it("refuses a target that is not a whole number of cells", () => {
    expect(() => cheapestSchedule({ stepMs: 3, mass: [1] }, 10, 0.95)).toThrow(RangeError);
  });
});

describe("the cheapest schedule, against every schedule of a few cells", () => {
  it("no schedule ending at the horizon does better at the same price (including within a target of it)", () => {
    const random = seededRandom("brute");
    let worst = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = 6 + Math.floor(random() * 7);
      const k = 1 + Math.floor(random() * 3);
      const raw = Array.from({ length: n }, () => (random() < 0.4 ? 0 : random()));
      const sum = raw.reduce((a, b) => a + b, 0) || 1;
      const scale = random() < 0.3 ? 0.9 : 1;
      const mass = raw.map((x) => (x / sum) * scale);
      const p = prepare({ stepMs: 1, mass }, k);
      for (const price of [0.01, 0.3, 1, 3, 10, 100, 1e4]) {
        const found = evaluate(mass, k, scheduleAtPrice(p, price).pollsMs);
        const objective = found.calls - price * found.covered;
        for (let mask = 0; mask < 1 << (n - 1); mask++) {
          const polls: number[] = [];
          for (let i = 1; i < n; i++) if (mask & (1 << (i - 1))) polls.push(i);
          polls.push(n);
          const other = evaluate(mass, k, polls);
          worst = Math.max(worst, objective - (other.calls - price * other.covered));
        }
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });
});

describe("the price search", () => {
  it("the covered share never falls as the price rises", () => {
    const random = seededRandom("monotone");
    let drops = 0;
    for (let trial = 0; trial < 400; trial++) {
      const n = 20 + Math.floor(random() * 40);
      const k = 1 + Math.floor(random() * 6);
      const raw = Array.from({ length: n }, () => (random() < 0.5 ? 0 : random()));
      const sum = raw.reduce((a, b) => a + b, 0) || 1;
      const p = prepare({ stepMs: 1, mass: raw.map((x) => (x / sum) * 0.97) }, k);
      let last = -1;
      for (let price = 1e-3; price < 1e9; price *= 1.05) {
        const covered = scheduleAtPrice(p, price).coveredShare;
        if (covered < last - 1e-12) drops++;
        last = Math.max(last, covered);
      }
    }
    expect(drops).toBe(0);
  });
});
