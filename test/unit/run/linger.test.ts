import { describe, expect, it } from "vitest";
import { LingerSchedule } from "../../../lib/run/linger.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { phases } from "./support.js";

const task = (taskId: string) => ({ workspaceId: "llm-a", taskId }) as TaskRow;

describe("a lingering run's schedule", () => {
  it("does not wait when lingering is off, or when nothing is running", async () => {
    const off = phases();
    const schedule = new LingerSchedule(off.run);
    schedule.set(task("t1"), off.clock.now() + 5_000);
    expect(await schedule.wait(async () => {})).toBe(false);
    const on = phases({ env: { RELAY_LINGER: "60s" } });
    expect(await new LingerSchedule(on.run).wait(async () => {})).toBe(false);
  });

  it("sleeps on the clock until the next running task is due, and counts the time", async () => {
    const p = phases({ env: { RELAY_LINGER: "60s" } });
    const schedule = new LingerSchedule(p.run);
    const start = p.clock.now();
    schedule.set(task("t1"), start + 20_000);
    schedule.set(task("t2"), start + 7_000);
    let saved = 0;
    expect(
      await schedule.wait(async () => {
        saved++;
      }),
    ).toBe(true);
    expect(p.clock.now()).toBe(start + 7_000);
    expect(p.run.summary.lingeredMs).toBe(7_000);
    // A wait of 10 s or less saves nothing first; a longer one saves what the run learned.
    expect(saved).toBe(0);
    schedule.delete(task("t2"));
    expect(await schedule.wait(async () => void saved++)).toBe(true);
    expect(saved).toBe(1);
    expect(p.clock.now()).toBe(start + 20_000);
  });

  it("ends the run when the next due time is past the linger window or the budget", async () => {
    const p = phases({ env: { RELAY_LINGER: "30s" }, budgetMs: 50_000 });
    const schedule = new LingerSchedule(p.run);
    schedule.set(task("t1"), p.clock.now() + 31_000);
    expect(await schedule.wait(async () => {})).toBe(false);
    const q = phases({ env: { RELAY_LINGER: "10m" }, budgetMs: 50_000 });
    const late = new LingerSchedule(q.run);
    // The budget keeps a reserve of 10 s: a task due at 45 s is not worth waiting for.
    late.set(task("t1"), q.clock.now() + 45_000);
    expect(await late.wait(async () => {})).toBe(false);
  });

  it("ends the run when woken early (Ctrl-C), and forgets tasks another run claimed", async () => {
    const p = phases({ env: { RELAY_LINGER: "60s" } });
    const woken = { ...p.run, deps: { ...p.deps, sleep: async () => p.clock.advance(1_000) } };
    const schedule = new LingerSchedule(woken);
    schedule.set(task("t1"), p.clock.now() + 5_000);
    expect(await schedule.wait(async () => {})).toBe(false);
    schedule.forgetTakenElsewhere(p.clock.now() + 5_000, []);
    expect(await schedule.wait(async () => {})).toBe(false);
    const kept = new LingerSchedule(p.run);
    kept.set(task("t1"), p.clock.now() + 5_000);
    kept.forgetTakenElsewhere(p.clock.now() + 5_000, [task("t1")]);
    expect(await kept.wait(async () => {})).toBe(true);
  });
});
