import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { TablestoreStore } from "../../../lib/store/tablestore.js";
import { registerTask } from "../../../lib/tasks.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { TOKEN } from "../../support/api.js";
import { invokeBundle, isolated } from "../../support/bundles.js";
import { startReceiver } from "../../support/receiver.js";

describe("FC bundles (npm run build → dist/<fn>/index.js)", () => {
  it("poll, api and deliver run standalone with FC events and context against the simulator and Tablestore", async () => {
    const sim = await startSimulator({ runMs: 0 });
    const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL, SIM_CREDENTIAL] });
    onTestFinished(async () => {
      await sim.close();
      await emulator.close();
    });
    const store = new TablestoreStore({
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    });
    await store.init();
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
    secret = (await createWebhook(deps, { url: rx.url })).secret;
    const task = sim.addTask("llm-fc", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1_000 });
    await registerTask(deps, { workspaceId: "llm-fc", taskId: task.taskId });

    const env = {
      RELAY_STORE: "tablestore",
      TABLESTORE_ENDPOINT: emulator.url,
      TABLESTORE_INSTANCE: emulator.instance,
      QUANMIAO_ENDPOINT: sim.url,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
      RELAY_API_TOKEN: TOKEN,
    };
    // FC passes the function role's STS credentials in the context (here: the key both servers accept).
    const context = {
      requestId: "req",
      credentials: { ...SIM_CREDENTIAL, securityToken: "" },
      function: { name: "x", timeout: 60, memory: 512 },
    };

    const timer = { triggerTime: new Date().toISOString(), triggerName: "every-minute", payload: "" };
    const summary = await invokeBundle(isolated("poll"), timer, context, env);
    expect(summary).toMatchObject({ polled: 1, events: 1, delivered: 1, errors: 0 });
    expect(rx.received[0]?.verified?.type).toBe("video_analysis.succeeded");

    const httpEvent = {
      version: "v1",
      rawPath: `/v1/tasks/llm-fc/${task.taskId}`,
      headers: { Authorization: `Bearer ${TOKEN}` },
      queryParameters: {},
      body: "",
      isBase64Encoded: false,
      requestContext: { http: { method: "GET", path: `/v1/tasks/llm-fc/${task.taskId}` } },
    };
    const answer = await invokeBundle(isolated("api"), httpEvent, context, env);
    expect(answer.statusCode).toBe(200);
    const shown = JSON.parse(answer.body);
    expect(shown.task.state).toBe("done");

    // The console from the minified api bundle: HTML whose script still compiles.
    const page = await invokeBundle(
      isolated("api"),
      { ...httpEvent, rawPath: "/console", headers: {}, requestContext: { http: { method: "GET", path: "/console" } } },
      context,
      env,
    );
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body)?.[1] ?? "";
    expect(script.length).toBeGreaterThan(1_000);
    expect(() => new Function(script)).not.toThrow();

    const [delivery] = shown.deliveries as Array<{ id: string }>;
    await store.replayDelivery(delivery?.id ?? "", Date.now());
    const counts = await invokeBundle(isolated("deliver"), { deliveryIds: [delivery?.id] }, context, env);
    expect(counts).toMatchObject({ delivered: 1, errors: 0 });
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]?.headers["webhook-id"]).toBe(delivery?.id);
  }, 60_000);

  it("leave prom-client out of poll and deliver: they serve no metrics", () => {
    for (const fn of ["poll", "deliver"]) {
      const text = readFileSync(new URL(`../../../dist/${fn}/index.js`, import.meta.url), "utf8");
      expect(text.includes("quanmiao_relay_polls_total")).toBe(false);
    }
  });

  it("leave better-sqlite3 out, with a stub that says why", () => {
    for (const fn of ["poll", "deliver", "api"]) {
      const text = readFileSync(new URL(`../../../dist/${fn}/index.js`, import.meta.url), "utf8");
      expect(text.includes("better-sqlite3")).toBe(false);
      expect(text.includes("the FC bundles have no SQLite store")).toBe(true);
    }
  });

  it("keep poll and deliver under 1 MB: no Tablestore SDK, no zod, no undici fetch (cold start is what FC bills)", () => {
    // Each marker is a name the left-out code keeps through minification (checked by bundling it).
    const markers = { "tablestore SDK": "PlainBufferCodedInputStream", zod: "ZodError", "undici fetch": "fetchFinale" };
    for (const fn of ["poll", "deliver"]) {
      const url = new URL(`../../../dist/${fn}/index.js`, import.meta.url);
      expect(statSync(url).size).toBeLessThan(1024 * 1024);
      const text = readFileSync(url, "utf8");
      for (const [what, marker] of Object.entries(markers))
        expect({ fn, what, found: text.includes(marker) }).toEqual({ fn, what, found: false });
    }
  });

  it("keep WebAssembly on V8's baseline tier: optimising undici's HTTP parser is a third of a poll run's peak memory", async () => {
    // A small exported function made hot: V8 optimises it within 200 ms unless held at the baseline.
    const probe = (bundle: string | undefined) => `
      ${bundle ? `await import(${JSON.stringify(bundle)});` : ""}
      const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,7,5,1,1,102,0,0,10,9,1,7,0,32,0,65,1,106,11]);
      const { f } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
      for (let i = 0; i < 2e6; i++) f(i);
      await new Promise((resolve) => setTimeout(resolve, 200));
      process.stdout.write(JSON.stringify({ optimised: %IsTurboFanFunction(f) }));`;
    const tier = async (bundle?: string) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--allow-natives-syntax", "--input-type=module", "-e", probe(bundle)],
        { env: { PATH: process.env.PATH ?? "" } },
      );
      return JSON.parse(stdout) as { optimised: boolean };
    };
    // Without a bundle loaded the probe sees V8 optimise: it can tell the two apart.
    expect(await tier()).toEqual({ optimised: true });
    for (const fn of ["poll", "deliver", "api"])
      expect({ fn, ...(await tier(isolated(fn))) }).toEqual({ fn, optimised: false });
  }, 30_000);
});
