import { describe, expect, it } from "vitest";
import { type Outcome, type SimTask, SimWorkspace } from "../../../dev/quanmiao-simulator/workspace.js";

const task = (id: string, submittedAtMs: number, runMs: number, outcome: Outcome = "SUCCESSED"): SimTask => ({
  taskId: id,
  workspaceId: "ws",
  submittedAtMs,
  runMs,
  outcome,
  request: {},
});

describe("SimWorkspace", () => {
  it("runs at most asyncConcurrency tasks, starting the rest in submission order as slots free", () => {
    const ws = new SimWorkspace("ws", 2);
    const [a, b, c, d] = [task("a", 0, 100), task("b", 0, 50), task("c", 10, 100), task("d", 20, 10, "FAILED")];
    for (const t of [a, b, c, d]) ws.add(t);
    expect([a, b, c, d].map((t) => ws.statusOf(t, 20))).toEqual(["RUNNING", "RUNNING", "PENDING", "PENDING"]);
    // b ends at 50 → c starts at 50; a ends at 100 → d starts at 100.
    expect([a, b, c, d].map((t) => ws.statusOf(t, 100))).toEqual(["SUCCESSED", "SUCCESSED", "RUNNING", "RUNNING"]);
    expect(c.startedAtMs).toBe(50);
    expect(d.startedAtMs).toBe(100);
    expect(ws.statusOf(d, 110)).toBe("FAILED");
    expect(ws.counts(200)).toEqual({ PENDING: 0, RUNNING: 0, SUCCESSED: 3, FAILED: 1, CANCELED: 0 });
  });

  it("a task never starts before it was submitted, even with free slots", () => {
    const ws = new SimWorkspace("ws", 5);
    const late = task("late", 1000, 10);
    ws.add(late);
    expect(ws.statusOf(late, 500)).toBe("PENDING");
    expect(ws.statusOf(late, 1000)).toBe("RUNNING");
  });

  it("raising the concurrency starts queued tasks at once; lowering it never preempts", () => {
    const ws = new SimWorkspace("ws", 1);
    const [a, b, c] = [task("a", 0, 100), task("b", 0, 100), task("c", 0, 100)];
    for (const t of [a, b, c]) ws.add(t);
    expect(ws.statusOf(b, 10)).toBe("PENDING");
    ws.setConcurrency(3, 10);
    expect([a, b, c].map((t) => ws.statusOf(t, 10))).toEqual(["RUNNING", "RUNNING", "RUNNING"]);
    ws.setConcurrency(1, 20);
    expect([a, b, c].map((t) => ws.statusOf(t, 20))).toEqual(["RUNNING", "RUNNING", "RUNNING"]);
  });
});
