import { describe, expect, it } from "vitest";
import { AuthError } from "../../../lib/quanmiao/errors.js";
import { WorkspacePlanner } from "../../../lib/run/planner.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { phases } from "./support.js";

describe("the workspace planner", () => {
  it("asks each workspace's concurrency once per run and sorts its queue head into tiers", async () => {
    const p = phases();
    for (const id of ["t1", "t2", "t3", "t4", "t5"]) {
      await p.register("llm-a", id);
      p.clock.advance(1_000);
    }
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true);
    await planner.plan(true);
    expect(p.calls).toEqual(["getConfig llm-a"]);
    const tiers = await Promise.all(
      ["t1", "t2", "t3", "t4", "t5"].map(async (id) => planner.tierOf((await p.store.getTask("llm-a", id)) as TaskRow)),
    );
    // Concurrency 2: two in the window, the next two in the band, the rest parked.
    expect(tiers).toEqual(["window", "window", "band", "band", "parked"]);
    expect((await p.store.getWorkspace("llm-a"))?.asyncConcurrency).toBe(2);
  });

  it("pulls a window task that was parked forward to now", async () => {
    const p = phases();
    await p.register("llm-a", "t1");
    // Polled once and left for later, as a parked task would be.
    const [claimed] = await p.store.claimDueTasks({ owner: "x", nowMs: p.clock.now(), leaseMs: 1_000, limit: 1 });
    await p.store.updateTask(claimed as TaskRow, "x", {
      nextPollAtMs: p.clock.now() + 3_600_000,
      pollCount: 1,
      pollsInStatus: 1,
      lastPolledAtMs: p.clock.now(),
      lastError: undefined,
    });
    p.clock.advance(60_000);
    await new WorkspacePlanner(p.run, () => {}).plan(true);
    expect((await p.store.getTask("llm-a", "t1"))?.nextPollAtMs).toBe(p.clock.now());
  });

  it("backs a refused workspace off as a whole, and plans no head for it", async () => {
    const p = phases();
    await p.register("llm-a", "t1");
    p.client.getConfig = async () => {
      throw new AuthError("NoPermission", { scope: "workspace", code: "NoPermission" });
    };
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true);
    const ws = await p.store.getWorkspace("llm-a");
    expect(ws?.authFailures).toBe(1);
    expect(ws?.backoffUntilMs).toBeGreaterThan(p.clock.now());
    expect(p.run.summary.authFailures).toEqual(["llm-a"]);
    expect(planner.tierOf((await p.store.getTask("llm-a", "t1")) as TaskRow)).toBe("parked");
    // A later success heals the streak.
    await planner.healed("llm-a");
    expect((await p.store.getWorkspace("llm-a"))?.authFailures).toBe(0);
  });

  it("tells of every running task in a queue head, and plans again only workspaces whose head moved", async () => {
    const p = phases();
    await p.register("llm-a", "t1");
    await p.register("llm-b", "t2");
    const [claimed] = await p.store.claimDueTasks({ owner: "x", nowMs: p.clock.now(), leaseMs: 1_000, limit: 1 });
    await p.store.updateTask(claimed as TaskRow, "x", {
      status: "RUNNING",
      nextPollAtMs: p.clock.now() + 30_000,
      pollCount: 1,
      pollsInStatus: 0,
      lastPolledAtMs: p.clock.now(),
      lastError: undefined,
    });
    const dueAtMs = p.clock.now() + 30_000;
    const running: string[] = [];
    const planner = new WorkspacePlanner(p.run, (t) => running.push(`${t.taskId}@${t.nextPollAtMs}`));
    await planner.plan(true);
    expect(running).toEqual([`${claimed?.taskId}@${dueAtMs}`]);
    p.calls.length = 0;
    const reads: string[] = [];
    const oldest = p.store.oldestActiveTasks.bind(p.store);
    p.store.oldestActiveTasks = async (ws, limit) => {
      reads.push(ws);
      return oldest(ws, limit);
    };
    await planner.plan(false);
    expect(reads).toEqual([]);
    planner.noteEnd((await p.store.getTask("llm-b", "t2")) as TaskRow, p.clock.now() - 5_000);
    await planner.plan(false);
    expect(reads).toEqual(["llm-b"]);
    expect(planner.slotFreedAfterMs("llm-b")).toBe(p.clock.now() - 5_000);
  });
});
