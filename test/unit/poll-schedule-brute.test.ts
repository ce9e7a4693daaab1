import { describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { prepare, scheduleAtPrice } from "../../lib/poll-schedule.js";

/** A schedule's cost and coverage counted from its polls (cells, ascending, the last at the horizon). */
function evaluate(mass: readonly number[], k: number, polls: readonly number[]) {
  const ended = [0];
  for (const m of mass) ended.push((ended[ended.length - 1] as number) + m);
  const at = (cell: number) => ended[cell] as number;
  let calls = 0;
  let covered = 0;
  let prev = -1;
  for (const b of polls) {
    calls += prev < 0 ? 1 : 1 - at(prev);
    covered += at(b) - at(Math.max(prev, b - k, 0));
    prev = b;
  }
  return { calls, covered };
}

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
