import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../dev/seeded-random.js";
import { checkEverythingDelivered, scenario, tick } from "../../support/processes.js";

describe("real tick processes on one SQLite file", () => {
  it("a tick killed with SIGKILL at random points, then run again: nothing lost, nothing created twice (20 seeded trials)", async () => {
    const random = seededRandom("crash-trials");
    let duplicates = 0;
    let killedMidway = 0;
    // Kill points are drawn within how long a whole tick takes on this machine now (process start
    // included), so that most trials die midway on a fast machine and on a loaded one alike.
    const calibration = await scenario(12);
    const startedMs = Date.now();
    expect((await tick(calibration.env)).code).toBe(0);
    const wholeMs = Date.now() - startedMs;
    for (let trial = 0; trial < 20; trial++) {
      const s = await scenario(12);
      const killAt = Math.floor(wholeMs * (0.1 + 0.8 * random()));
      const killed = await tick(s.env, killAt);
      if (killed.signal === "SIGKILL") killedMidway++;
      // The process is gone, so nothing is in flight: let its leases run out at once. A delivery it
      // created leased to itself is due when that lease ends, so it comes due now too.
      s.store.db.exec(`UPDATE tasks SET lease_until_ms = 0;
        UPDATE deliveries SET lease_until_ms = 0, next_attempt_at_ms = CASE
          WHEN lease_until_ms > 0 AND next_attempt_at_ms >= lease_until_ms THEN 0 ELSE next_attempt_at_ms END;`);
      const again = await tick(s.env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.out)).toMatchObject({ errors: 0 });
      duplicates += await checkEverythingDelivered(s);
    }
    console.log(JSON.stringify({ trials: 20, killedMidway, duplicateSendsAfterCrashes: duplicates }));
    expect(killedMidway).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it("two tick processes at once: every delivery made, none sent twice", async () => {
    // Ten workspaces: one workspace only offers its window (N tasks) at a time, which one run holds.
    const s = await scenario(100, 10);
    // Each API call takes a little while, so the two runs overlap instead of one finishing first.
    s.sim.faults.inject({ fault: { kind: "latency", ms: 15 } });
    const [a, b] = await Promise.all([tick(s.env), tick(s.env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const summaries = [JSON.parse(a.out), JSON.parse(b.out)];
    expect(summaries[0].delivered + summaries[1].delivered).toBe(200);
    expect(await checkEverythingDelivered(s)).toBe(0);
    // Both processes did real work.
    expect(summaries.every((x) => x.polled > 0)).toBe(true);
  }, 60_000);
});
