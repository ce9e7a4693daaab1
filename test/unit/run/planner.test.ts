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
    // Two more in llm-b: with concurrency 2, one waits behind its window.
    await p.register("llm-b", "t3");
    await p.register("llm-b", "t4");
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

  it("reads a head again after an end only where tasks wait behind the window", async () => {
    const p = phases();
    await p.register("llm-a", "a1");
    for (const id of ["b1", "b2", "b3"]) await p.register("llm-b", id);
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true);
    const reads = spyOnHeadReads(p);
    // llm-a holds one task of the two it may run: its end lets no other task in.
    planner.noteEnd((await p.store.getTask("llm-a", "a1")) as TaskRow, undefined);
    await planner.plan(false);
    expect(reads).toEqual([]);
    planner.noteEnd(await endTask(p, "llm-b", "b1"), undefined);
    await planner.plan(false);
    expect(reads).toEqual(["llm-b"]);
    expect(planner.tierOf((await p.store.getTask("llm-b", "b3")) as TaskRow)).toBe("window");
  });

  it("puts a task registered after its head was read next in line, and plans a new workspace", async () => {
    const p = phases();
    await p.register("llm-a", "a1");
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true);
    const reads = spyOnHeadReads(p);
    const tierOf = async (ws: string, id: string) => planner.tierOf((await p.store.getTask(ws, id)) as TaskRow);
    await p.register("llm-a", "a2");
    await p.register("llm-a", "a3");
    expect(await tierOf("llm-a", "a2")).toBe("window");
    expect(await tierOf("llm-a", "a3")).toBe("band");
    // Now a task waits behind llm-a's window, so an end there is planned again.
    planner.noteEnd(await endTask(p, "llm-a", "a1"), undefined);
    await p.register("llm-c", "c1");
    expect(await tierOf("llm-c", "c1")).toBe("parked");
    await planner.plan(false);
    expect(reads.sort()).toEqual(["llm-a", "llm-c"]);
    expect(await tierOf("llm-c", "c1")).toBe("window");
    expect(await tierOf("llm-a", "a3")).toBe("window");
  });
});

/** Records each workspace whose queue head is read from the store. */
function spyOnHeadReads(p: ReturnType<typeof phases>): string[] {
  const reads: string[] = [];
  const oldest = p.store.oldestActiveTasks.bind(p.store);
  p.store.oldestActiveTasks = async (ws, limit) => {
    reads.push(ws);
    return oldest(ws, limit);
  };
  return reads;
}

/** Ends one task in the store, as a poll that saw it succeed would. */
async function endTask(p: ReturnType<typeof phases>, ws: string, id: string): Promise<TaskRow> {
  const claimed = await p.store.claimDueTasks({
    owner: "x",
    nowMs: p.clock.now() + 86_400_000,
    leaseMs: 1_000,
    limit: 100,
  });
  for (const t of claimed) {
    if (t.workspaceId !== ws || t.taskId !== id) await p.store.releaseTask(t, "x", t.nextPollAtMs);
    else
      await p.store.updateTask(t, "x", {
        status: "SUCCESS",
        state: "done",
        nextPollAtMs: t.nextPollAtMs,
        pollCount: t.pollCount + 1,
        pollsInStatus: 0,
        lastPolledAtMs: p.clock.now(),
        terminalAtMs: p.clock.now(),
      });
  }
  return (await p.store.getTask(ws, id)) as TaskRow;
}

describe("the workspace planner, in a roomy workspace", () => {
  it("pulls forward a task registered parked behind the window once a slot frees", async () => {
    const p = phases();
    await p.register("llm-a", "a1");
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true); // head [a1] of 2: roomy
    await p.register("llm-a", "a2"); // one ahead: due at once
    await p.register("llm-a", "a3"); // two ahead: parked at registration, so no run claims it
    expect((await p.store.getTask("llm-a", "a3"))?.nextPollAtMs).toBeGreaterThan(p.clock.now() + 3_600_000);
    expect(planner.tierOf((await p.store.getTask("llm-a", "a2")) as TaskRow)).toBe("window");
    planner.noteEnd(await endTask(p, "llm-a", "a1"), undefined);
    p.clock.advance(5_000);
    await planner.plan(false);
    expect((await p.store.getTask("llm-a", "a3"))?.nextPollAtMs).toBeLessThanOrEqual(p.clock.now());
  });

  it("plans a workspace whose back-off ran out since the run planned it", async () => {
    const p = phases();
    await p.register("llm-a", "a1");
    let refuse = true;
    const getConfig = p.client.getConfig;
    p.client.getConfig = async (ws) => {
      if (refuse) throw new AuthError("NoPermission", { scope: "workspace", code: "NoPermission" });
      return getConfig(ws);
    };
    const planner = new WorkspacePlanner(p.run, () => {});
    await planner.plan(true);
    refuse = false;
    p.clock.advance(61_000);
    expect(planner.tierOf((await p.store.getTask("llm-a", "a1")) as TaskRow)).toBe("parked");
    await planner.plan(false);
    expect(planner.tierOf((await p.store.getTask("llm-a", "a1")) as TaskRow)).toBe("window");
  });
});
