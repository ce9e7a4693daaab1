import { createServer } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { type CircuitState, CLOSED, circuitKey, circuitView, transitions } from "../../../lib/delivery/circuit.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { cliEnv, runCli } from "../../support/cli.js";

/** A loopback port nothing listens on: connecting to it is refused at once. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("circuits in the CLI", () => {
  it("webhooks list shows each circuit in a short cell, webhooks show and --json the whole of it", async () => {
    const { env } = await cliEnv();
    const store = new SqliteStore(env.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    const add = async (path: string) =>
      (JSON.parse((await runCli(["webhooks", "add", `http://127.0.0.1:9/${path}`], env)).out) as { id: string }).id;
    // The circuits as the delivery code leaves them, made by its own transitions (whole seconds, so
    // the expected times are exact).
    const config = { failures: 5, cooldownMs: 30_000, cooldownMaxMs: 600_000 };
    const nowMs = Math.floor(Date.now() / 1000) * 1000;
    const fail = (times: number, atMs: number, from: CircuitState = CLOSED) => {
      let s = from;
      for (let i = 0; i < times; i++) s = transitions.failed(s, atMs, config);
      return s;
    };
    const states: Record<string, CircuitState> = {
      fine: CLOSED,
      flaky: fail(2, nowMs),
      down: fail(5, nowMs),
      due: fail(5, nowMs - 60_000),
      probing: transitions.probe(fail(5, nowMs - 60_000), nowMs, 5_000),
    };
    const ids: Record<string, string> = {};
    for (const [name, state] of Object.entries(states)) {
      ids[name] = await add(name);
      if (state !== CLOSED) await store.compareAndSetSetting(circuitKey(ids[name]), undefined, JSON.stringify(state));
    }

    const listed = await runCli(["webhooks", "list"], env);
    expect(listed.code).toBe(EXIT.ok);
    const lines = listed.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +URL +STATE +CIRCUIT +EVENTS +WORKSPACE +RATE LIMIT +FORMAT$/);
    const cell = (name: string) => {
      const line = lines.find((l) => l.startsWith(ids[name] as string)) ?? "";
      return line.split(/ {2,}/)[3];
    };
    const reopens = new Date(nowMs + 30_000).toISOString().slice("YYYY-MM-DDT".length, -".000Z".length);
    expect(cell("fine")).toBe("closed");
    expect(cell("flaky")).toBe("closed (2 failures)");
    expect(cell("down")).toBe(`open until ${reopens}Z (5 failures)`);
    expect(cell("due")).toBe("open, probe due (5 failures)");
    expect(cell("probing")).toBe("probing (5 failures)");

    // --json and show: the circuit as the API gives it.
    const down = circuitView(states.down as CircuitState);
    expect(down).toEqual({
      state: "open",
      consecutiveFailures: 5,
      openUntil: new Date(nowMs + 30_000).toISOString(),
      openedAt: new Date(nowMs).toISOString(),
      cooldownMs: 30_000,
    });
    const json = JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out).items as Array<{
      id: string;
      circuit: unknown;
    }>;
    expect(json.map((w) => w.circuit)).toEqual(Object.values(states).map(circuitView));
    const shown = await runCli(["webhooks", "show", ids.down as string], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(JSON.parse(shown.out)).toMatchObject({ id: ids.down, circuit: down });
    expect(JSON.parse((await runCli(["webhooks", "show", ids.fine as string], env)).out).circuit).toEqual({
      state: "closed",
      consecutiveFailures: 0,
      openUntil: null,
      openedAt: null,
      cooldownMs: null,
    });
  });

  it("tasks show lists the task's own webhook URLs with their circuits, opened here by a failed delivery", async () => {
    const { env, sim } = await cliEnv();
    const failing = { ...env, RELAY_CIRCUIT_FAILURES: "1" };
    const url = `http://127.0.0.1:${await refusedPort()}/callback`;
    const task = sim.addTask("llm-cli", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1_000 });
    await runCli(["tasks", "add", "llm-cli", task.taskId, "--webhook", url], failing);
    const before = Date.now();
    expect(JSON.parse((await runCli(["tick"], failing)).out)).toMatchObject({ events: 1, delivered: 0 });

    const shown = await runCli(["tasks", "show", "llm-cli", task.taskId], failing);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.out).toMatch(
      new RegExp(`\\nWebhook URLs\\nURL +CIRCUIT\\n${url} +open until \\d\\d:\\d\\d:\\d\\dZ \\(1 failure\\)\\n`),
    );
    const json = JSON.parse((await runCli(["tasks", "show", "llm-cli", task.taskId, "--json"], failing)).out);
    expect(json.webhookCircuits).toMatchObject([
      { url, circuit: { state: "open", consecutiveFailures: 1, cooldownMs: 30_000 } },
    ]);
    expect(Date.parse(json.webhookCircuits[0].circuit.openedAt)).toBeGreaterThanOrEqual(before);

    // A task without URLs of its own has no such section.
    const other = sim.addTask("llm-cli", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1_000 });
    await runCli(["tasks", "add", "llm-cli", other.taskId], failing);
    expect((await runCli(["tasks", "show", "llm-cli", other.taskId], failing)).out).not.toContain("Webhook URLs");
  });
});
