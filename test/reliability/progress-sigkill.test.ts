/**
 * Progress events under real crashes: `quanmiao-relay tick` processes SIGKILLed at seeded random
 * moments while tasks are running (their parts finishing one by one), then one run to finish the
 * work. After each: at most one progress event per task and part, every part the task's row counts
 * as reported has its event (the events are written before the row), every delivery made and
 * verified, one terminal event per task.
 */
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../dev/seeded-random.js";
import { TERMINAL_EVENT_TYPES } from "../../lib/events.js";
import { scenario, tick } from "../support/processes.js";

const PROGRESS = "video_analysis.progress";
const TRIALS = process.env.RELIABILITY_PROFILE === "full" ? 30 : 6;
const SEED = process.env.RELIABILITY_SEED ?? "reliability-progress-1";
const totals = { trials: 0, killedMidway: 0, progressEvents: 0, duplicateSends: 0 };
afterAll(() => console.log(JSON.stringify({ progressSigkill: { seed: SEED, ...totals } })));

describe(`SIGKILLed runs with progress events (${TRIALS} seeded trials)`, () => {
  it("every kill is repaired by the next run: no progress event lost or created twice", async () => {
    const random = seededRandom(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      const s = await scenario(8, 1, {
        runningMs: Array.from({ length: 8 }, () => 1_500 + Math.floor(random() * 2_500)),
        subscribers: [{ events: [...TERMINAL_EVENT_TYPES, PROGRESS] }],
      });
      const kills = Array.from({ length: random() < 0.3 ? 2 : 1 }, () => 300 + Math.floor(random() * 2_500));
      const results = await Promise.all(kills.map((ms) => tick(s.env, ms)));
      totals.killedMidway += results.filter((r) => r.signal === "SIGKILL").length;
      s.store.db.exec(
        `UPDATE tasks SET lease_until_ms = 0, next_poll_at_ms = 0 WHERE state = 'active';
         UPDATE deliveries SET lease_until_ms = 0, next_attempt_at_ms = 0 WHERE status = 'pending';`,
      );
      const again = await tick(s.env);
      expect(again.code, `${SEED} trial ${trial}`).toBe(0);

      let events = 0;
      for (const { ws, taskId } of s.ids) {
        const all = await s.store.listEventsForTask(ws, taskId);
        const terminal = all.filter((e) => (TERMINAL_EVENT_TYPES as readonly string[]).includes(e.type));
        expect(terminal, `${SEED} trial ${trial}`).toHaveLength(1);
        const parts = all.filter((e) => e.type === PROGRESS).map((e) => JSON.parse(e.body).data.part as string);
        expect(new Set(parts).size, `${SEED} trial ${trial}: a part twice`).toBe(parts.length);
        const task = await s.store.getTask(ws, taskId);
        for (const part of task?.progressParts ?? []) expect(parts, `${SEED} trial ${trial}: lost`).toContain(part);
        events += parts.length;
      }
      totals.progressEvents += events;
      const deliveries = (await s.store.listDeliveries({ limit: 10_000 })).items;
      expect(deliveries.every((d) => d.status === "delivered")).toBe(true);
      const [rx] = s.rx;
      const received = new Set(rx?.received.map((q) => String(q.headers["webhook-id"])));
      for (const d of deliveries) expect(received.has(d.id), `${SEED} trial ${trial}: not delivered`).toBe(true);
      expect(rx?.received.every((q) => q.verified !== undefined)).toBe(true);
      totals.duplicateSends += (rx?.received.length ?? 0) - deliveries.length;
      totals.trials++;
    }
    expect(totals.killedMidway).toBeGreaterThan(TRIALS / 2);
    // The runs saw parts finish while tasks ran: the trials exercised progress events at all.
    expect(totals.progressEvents).toBeGreaterThan(0);
  }, 600_000);
});
