import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { budgetFrom, parseTimerEvent } from "../../../lib/fc/context.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { registerTask } from "../../../lib/tasks.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { startReceiver } from "../../support/receiver.js";
import { tempDir } from "../../support/relay.js";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.resetModules();
  vi.restoreAllMocks();
});

const timerEvent = Buffer.from(
  JSON.stringify({ triggerTime: "2026-11-25T12:00:00Z", triggerName: "every-minute", payload: "" }),
);

async function setUp() {
  const sim = await startSimulator({ runMs: 0 });
  onTestFinished(() => sim.close());
  let secret = "";
  const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
  const path = join(tempDir(), "relay.db");
  // No key variables: on FC the credentials come from the context.
  delete process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  delete process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  Object.assign(process.env, {
    RELAY_STORE: `sqlite:${path}`,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
  });
  const store = new SqliteStore(path);
  onTestFinished(() => store.close());
  const deps = { store, clock: systemClock, poll: loadConfig(process.env).poll, allowPrivateTargets: true };
  secret = (await createWebhook(deps, { url: rx.url })).secret;
  const task = sim.addTask("llm-fc", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1000 });
  await registerTask(deps, { workspaceId: "llm-fc", taskId: task.taskId });
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return { rx, store, lines };
}

describe("FC poll function", () => {
  it("runs one tick with the context's credentials and budget, logs the summary as one JSON line, returns it", async () => {
    const { rx, lines } = await setUp();
    const { handler } = await import("../../../functions/poll/index.js");
    const summary = await handler(timerEvent, {
      requestId: "req-1",
      credentials: { ...SIM_CREDENTIAL, securityToken: "" },
      function: { name: "poll", timeout: 60 },
    });
    expect(summary).toMatchObject({ polled: 1, events: 1, delivered: 1, errors: 0 });
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]?.verifyError).toBeUndefined();
    expect(rx.received[0]?.verified?.type).toBe("video_analysis.succeeded");
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "tick");
    expect(logged).toMatchObject({ requestId: "req-1", trigger: "every-minute", delivered: 1 });
  });

  it("never throws for per-item failures: without credentials every poll fails and is counted", async () => {
    const { rx } = await setUp();
    const { handler } = await import("../../../functions/poll/index.js");
    const summary = await handler(Buffer.from("not json"), { requestId: "req-2", function: { timeout: 30 } });
    expect(summary.errors).toBeGreaterThan(0);
    expect(rx.received).toHaveLength(0);
  });

  it("reads the timer event leniently and derives the budget from the function timeout", () => {
    expect(parseTimerEvent(timerEvent)).toEqual({
      triggerTime: "2026-11-25T12:00:00Z",
      triggerName: "every-minute",
      payload: "",
    });
    expect(parseTimerEvent(Buffer.from("{oops"))).toEqual({
      triggerTime: undefined,
      triggerName: undefined,
      payload: undefined,
    });
    expect(budgetFrom({ function: { timeout: 300 } }, loadConfig({}).tick)).toBe(270_000);
    expect(budgetFrom({ function: { timeout: 30 } }, loadConfig({}).tick)).toBe(25_000);
    expect(budgetFrom({ function: { timeout: 300 } }, loadConfig({ RELAY_TICK_BUDGET: "45s" }).tick)).toBe(45_000);
  });
});
