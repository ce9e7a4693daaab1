/** What the isolation tests share: a workspace, finished tasks, and subscribers that hang or time their deliveries. */
import type { relayHarness } from "./relay.js";

export const WS = "llm-isolation";
export type Harness = Awaited<ReturnType<typeof relayHarness>>;

export async function finishedTasks(h: Harness, n: number) {
  for (let i = 0; i < n; i++) {
    const task = h.sim.addTask(WS, { outcome: "SUCCESSED", runMs: 0 });
    await h.register({ workspaceId: WS, taskId: task.taskId });
  }
}

/** A subscriber that accepts the request and never answers (until the test ends and closes it). */
export const stuck = (h: Harness) => h.subscriber({ reply: () => ({ delayMs: 60_000 }) });

/** A subscriber answering 204 at once, and when (real ms from now) each request reached it. */
export async function timedHealthy(h: Harness) {
  const startedAt = performance.now();
  const healthyAt: number[] = [];
  const healthy = await h.subscriber({
    reply: () => {
      healthyAt.push(performance.now() - startedAt);
      return { status: 204 };
    },
  });
  return { healthy, healthyAt, startedAt };
}

export async function deliveriesOf(h: Harness, webhookId: string) {
  return (await h.store.listDeliveries({ webhookId, limit: 100 })).items;
}
