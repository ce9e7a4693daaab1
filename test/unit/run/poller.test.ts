import { describe, expect, it } from "vitest";
import { TaskNotFoundError, ThrottledError } from "../../../lib/quanmiao/errors.js";
import type { TaskRow } from "../../../lib/store/store.js";
import { pollerParts } from "./poller-parts.js";
import { type Answer, phases } from "./support.js";

async function pollerFor(answers: Record<string, Answer>, env: Record<string, string> = {}) {
  const p = phases({ answers, env });
  const parts = pollerParts(p);
  /** Claims the task as a run would, and polls it. */
  const poll = async (taskId: string) => {
    const claimed = await p.store.claimDueTasks({
      owner: p.run.owner,
      nowMs: p.clock.now(),
      leaseMs: 60_000,
      limit: 10,
    });
    const task = claimed.find((t) => t.taskId === taskId) as TaskRow;
    await parts.poller.poll(task, parts.planner.tierOf(task));
    return (await p.store.getTask("llm-a", taskId)) as TaskRow;
  };
  return { ...p, ...parts, poll };
}

describe("the poller", () => {
  it("turns an end into its event and then marks the task done", async () => {
    const p = await pollerFor({ t1: { taskStatus: "SUCCESSED", result: 1 } });
    await p.register("llm-a", "t1");
    const task = await p.poll("t1");
    expect(task).toMatchObject({ state: "done", status: "SUCCESSED", pollCount: 1 });
    const [event] = await p.store.listEventsForTask("llm-a", "t1");
    expect(event?.type).toBe("video_analysis.succeeded");
    expect(p.run.summary).toMatchObject({ polled: 1, changed: 1, events: 1 });
    expect(p.calls).toEqual(["getTask llm-a/t1"]);
  });

  it("tells of a first RUNNING with an event, notes when it started, and waits for its next poll", async () => {
    const p = await pollerFor({ t1: { taskStatus: "RUNNING" } }, { RELAY_LINGER: "60s" });
    await p.register("llm-a", "t1");
    const task = await p.poll("t1");
    expect(task.status).toBe("RUNNING");
    expect(task.runningSinceMs).toBeLessThanOrEqual(p.clock.now());
    expect(task.nextPollAtMs).toBeGreaterThan(p.clock.now());
    expect((await p.store.listEventsForTask("llm-a", "t1")).map((e) => e.type)).toEqual(["video_analysis.running"]);
    // The lingering run now waits for exactly that poll.
    expect(await p.linger.wait(async () => {})).toBe(true);
    expect(p.clock.now()).toBe(task.nextPollAtMs);
  });

  it("ends a task the API does not know with a failed event that says why", async () => {
    const p = await pollerFor({
      t1: new TaskNotFoundError("no such task", { code: "DataNotExists", requestId: "r-1" }),
    });
    await p.register("llm-a", "t1");
    expect((await p.poll("t1")).state).toBe("done");
    const [event] = await p.store.listEventsForTask("llm-a", "t1");
    expect(event?.type).toBe("video_analysis.failed");
    expect(JSON.parse(event?.body as string).data.reason).toEqual({
      code: "DataNotExists",
      message: "no such task",
      requestId: "r-1",
    });
  });

  it("tries a throttled task again after the server's Retry-After, keeping the error", async () => {
    const p = await pollerFor({ t1: new ThrottledError("slow down", { retryAfterMs: 30_000 }) });
    await p.register("llm-a", "t1");
    const before = p.clock.now();
    const task = await p.poll("t1");
    expect(task.state).toBe("active");
    expect(task.nextPollAtMs).toBeGreaterThanOrEqual(before + 30_000);
    expect(task.lastError).toMatch(/ThrottledError: slow down/);
    expect(p.run.summary).toMatchObject({ throttled: 1, errors: 0 });
  });

  it("expires a task past its maximum age without calling the API again", async () => {
    const p = await pollerFor({ t1: { taskStatus: "RUNNING" } }, { RELAY_TASK_MAX_AGE: "1h" });
    await p.register("llm-a", "t1");
    await p.poll("t1");
    p.clock.advance(2 * 3_600_000);
    expect((await p.poll("t1")).state).toBe("done");
    expect(p.calls).toEqual(["getTask llm-a/t1"]);
    const types = (await p.store.listEventsForTask("llm-a", "t1")).map((e) => e.type);
    expect(types).toEqual(["video_analysis.running", "video_analysis.expired"]);
    expect(p.run.summary.expired).toBe(1);
  });

  it("asks once before expiring a task it never polled: one that finished meanwhile is delivered, not expired", async () => {
    const p = await pollerFor(
      { done: { taskStatus: "SUCCESSED", result: 1 }, stuck: { taskStatus: "RUNNING" } },
      { RELAY_TASK_MAX_AGE: "1h" },
    );
    await p.register("llm-a", "done");
    await p.register("llm-a", "stuck");
    // A relay down for longer than the maximum age, or a task registered that late.
    p.clock.advance(2 * 3_600_000);
    expect(await p.poll("done")).toMatchObject({ state: "done", status: "SUCCESSED" });
    expect((await p.store.listEventsForTask("llm-a", "done")).map((e) => e.type)).toEqual(["video_analysis.succeeded"]);
    // Still running when asked: expired on the poll after, which its expiry makes due at once.
    p.clock.advance(61_000); // past the lease the first claim took on it
    const asked = await p.poll("stuck");
    expect(asked).toMatchObject({ state: "active", pollCount: 1 });
    expect(asked.nextPollAtMs).toBeLessThanOrEqual(p.clock.now());
    expect((await p.poll("stuck")).state).toBe("done");
    expect(p.calls).toEqual(["getTask llm-a/done", "getTask llm-a/stuck"]);
    expect(p.run.summary.expired).toBe(1);
  });
});
