/**
 * The reliability suite's real crashes: `quanmiao-relay tick` processes SIGKILLed at seeded random
 * moments (sometimes two at once, both killed), with a slow and flaky simulator, then one run to
 * finish the work. After each: every task ended once, every delivery made and verified, nothing
 * left leased. Prints the seed and counts; RELIABILITY_PROFILE=full runs more trials.
 */
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { checkEverythingDelivered, scenario, tick } from "../support/processes.js";

const TRIALS = process.env.RELIABILITY_PROFILE === "full" ? 60 : 12;
const SEED = process.env.RELIABILITY_SEED ?? "reliability-kill-1";
const totals = { trials: 0, processes: 0, killedMidway: 0, killedLingering: 0, duplicateSends: 0 };
afterAll(() => console.log(JSON.stringify({ sigkill: { seed: SEED, ...totals } })));

describe(`SIGKILLed runs (${TRIALS} seeded trials)`, () => {
  it("every kill is repaired by the next run: nothing lost, nothing created twice, no lease left", async () => {
    const random = seededRandom(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      // Half the trials have tasks still running: the processes linger for their ends, and most
      // kills land while they wait.
      const lingering = random() < 0.5;
      const s = await scenario(
        12,
        1 + Math.floor(random() * 3),
        lingering ? { runningMs: Array.from({ length: 12 }, () => 200 + Math.floor(random() * 1_300)) } : {},
      );
      s.sim.faults.inject({ fault: { kind: "latency", ms: Math.floor(random() * 20) } });
      if (random() < 0.5) s.sim.faults.inject({ fault: { kind: "serverError", status: 503 }, times: 2 });
      const overlapping = random() < 0.3;
      const kills = Array.from({ length: overlapping ? 2 : 1 }, () => 80 + Math.floor(random() * 900));
      const results = await Promise.all(kills.map((ms) => tick(s.env, ms)));
      totals.processes += results.length;
      totals.killedMidway += results.filter((r) => r.signal === "SIGKILL").length;
      if (lingering) totals.killedLingering += results.filter((r) => r.signal === "SIGKILL").length;
      // The processes are gone, so nothing is in flight: let their leases run out, and the retries
      // they scheduled come due, at once (as the next timer tick would find them).
      s.store.db.exec(
        `UPDATE tasks SET lease_until_ms = 0, next_poll_at_ms = 0 WHERE state = 'active';
         UPDATE deliveries SET lease_until_ms = 0, next_attempt_at_ms = 0 WHERE status = 'pending';`,
      );
      s.sim.faults.clear();
      // Every task has ended by the time the repairing run looks (or it lingers until they do).
      const again = await tick(s.env);
      totals.processes++;
      expect(again.code, `${SEED} trial ${trial}`).toBe(0);
      totals.duplicateSends += await checkEverythingDelivered(s);
      for (const table of ["tasks", "deliveries"]) {
        const leased = s.store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE lease_owner IS NOT NULL`).get() as {
          n: number;
        };
        expect(leased.n, `${SEED} trial ${trial}: ${table} left leased`).toBe(0);
      }
      totals.trials++;
    }
    expect(totals.killedMidway).toBeGreaterThan(TRIALS / 2);
  }, 600_000);
});
