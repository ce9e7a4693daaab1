/**
 * Fan-out end to end: a relay run (in process, then the poll bundle in a fresh process) hands due
 * deliveries to the deliver function through @alicloud/fc2 and a loopback FC 3.0 endpoint that
 * checks path, headers and signature; the endpoint runs the deliver bundle in its own processes,
 * which deliver to receivers that verify with standardwebhooks.
 */
import { request } from "undici";
import { describe, expect, it, onTestFinished } from "vitest";
import { startFcEmulator } from "../../../dev/fc-emulator/server.js";
import { fcContentMd5, fcSignature, fcStringToSign } from "../../../dev/fc-emulator/signature.js";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { batchPayload } from "../../../lib/delivery/fanout.js";
import { createFcInvoker, InvokeError } from "../../../lib/fc/invoke.js";
import { deliveryId } from "../../../lib/ids.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { openRelay } from "../../../lib/relay.js";
import { TablestoreStore } from "../../../lib/store/tablestore.js";
import { registerTask } from "../../../lib/tasks.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { invokeBundle, isolated } from "../../support/bundles.js";
import { startReceiver } from "../../support/receiver.js";

const DELIVER = "quanmiao-relay-deliver";

/** Simulator, Tablestore emulator, two subscribed receivers, finished tasks, an FC endpoint. */
async function world(options: { tasks: number; fcCredential?: typeof SIM_CREDENTIAL; maxInstances?: number }) {
  // A workspace with room for every task, so each poll batch finishes many and leaves a backlog.
  const sim = await startSimulator({ runMs: 0, workspaces: { "llm-fan": 50 } });
  const tablestore = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL, SIM_CREDENTIAL] });
  onTestFinished(async () => {
    await sim.close();
    await tablestore.close();
  });
  const store = new TablestoreStore({
    endpoint: tablestore.url,
    instance: tablestore.instance,
    credentials: staticCredentials(EMULATOR_CREDENTIAL),
  });
  await store.init();
  onTestFinished(() => store.close());
  const deps = { store, clock: systemClock, poll: loadConfig({}).poll, allowPrivateTargets: true };
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  for (let i = 0; i < 2; i++) {
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    secret = (await createWebhook(deps, { url: rx.url })).secret;
    receivers.push(rx);
  }
  for (let i = 0; i < options.tasks; i++) {
    const task = sim.addTask("llm-fan", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 60_000 });
    await registerTask(deps, { workspaceId: "llm-fan", taskId: task.taskId });
  }
  const storeEnv = {
    RELAY_STORE: "tablestore",
    TABLESTORE_ENDPOINT: tablestore.url,
    TABLESTORE_INSTANCE: tablestore.instance,
    QUANMIAO_ENDPOINT: sim.url,
    RELAY_ALLOW_PRIVATE_TARGETS: "true",
    RELAY_API_QPS: "1000",
  };
  // FC gives every instance the function role's credentials; here, the key all three servers accept.
  const fc = await startFcEmulator({
    credentials: options.fcCredential ?? SIM_CREDENTIAL,
    functions: { [DELIVER]: { module: isolated("deliver"), env: storeEnv, maxInstances: options.maxInstances ?? 2 } },
  });
  onTestFinished(() => fc.close());
  const fanOutEnv = {
    ...storeEnv,
    RELAY_DISPATCH: "fc",
    RELAY_FC_ENDPOINT: fc.url,
    FC_ACCOUNT_ID: fc.accountId,
    FC_REGION: fc.region,
    RELAY_FANOUT_BATCH: "10",
    RELAY_DELIVERY_CONCURRENCY: "4",
  };
  const delivered = () => receivers.flatMap((rx) => rx.received.map((r) => String(r.headers["webhook-id"])));
  return { sim, store, receivers, fc, fanOutEnv, delivered };
}

describe("fan-out to the deliver function (RELAY_DISPATCH=fc)", () => {
  it("hands batches to the deliver function, which delivers each exactly once", async () => {
    const w = await world({ tasks: 30 });
    const relay = await openRelay({ env: w.fanOutEnv, credentials: staticCredentials(SIM_CREDENTIAL) });
    onTestFinished(() => relay.close());
    const summary = await relay.tick(30_000);
    expect(summary).toMatchObject({ polled: 30, events: 30, errors: 0 });
    await w.fc.idle();

    // 60 deliveries (30 events × 2 webhooks), due at once, in batches of 10: none was left to the run.
    expect(summary.handedOff + summary.delivered).toBe(60);
    expect(summary.handedOff).toBeGreaterThanOrEqual(40);
    expect(summary.invocations).toBeGreaterThanOrEqual(Math.ceil(summary.handedOff / 10));
    expect(w.fc.rejected).toEqual([]);
    expect(w.fc.invocations).toHaveLength(summary.invocations);
    for (const inv of w.fc.invocations) {
      expect(inv.error).toBeUndefined();
      expect(JSON.parse(inv.body).deliveryIds.length).toBeLessThanOrEqual(10);
    }
    const sent = w.delivered();
    expect(sent).toHaveLength(60);
    expect(new Set(sent).size).toBe(60);
    for (const rx of w.receivers)
      for (const r of rx.received) expect(r.verified?.type).toBe("video_analysis.succeeded");
    expect((await w.store.listDeliveries({ status: "delivered", limit: 100 })).items).toHaveLength(60);
    // The deliver function ran on the emulated instances (at most two), not in this process.
    const handled = w.fc.invocations.reduce(
      (n, inv) => n + ((inv.result as { delivered?: number } | undefined)?.delivered ?? 0),
      0,
    );
    expect(handled).toBe(summary.handedOff);
    expect(w.fc.started[DELIVER]).toBeLessThanOrEqual(2);
  }, 60_000);

  it("runs end to end from the poll bundle in a fresh process, as FC's timer would start it", async () => {
    const w = await world({ tasks: 12 });
    const timer = { triggerTime: new Date().toISOString(), triggerName: "every-minute", payload: "" };
    const context = {
      requestId: "req",
      credentials: { ...SIM_CREDENTIAL, securityToken: "" },
      function: { name: "quanmiao-relay-poll", timeout: 60, memory: 512 },
      accountId: w.fc.accountId,
      region: w.fc.region,
    };
    const summary = await invokeBundle(isolated("poll"), timer, context, w.fanOutEnv);
    expect(summary).toMatchObject({ polled: 12, events: 12, errors: 0 });
    expect(summary.invocations).toBeGreaterThan(0);
    await w.fc.idle();
    const sent = w.delivered();
    expect(sent).toHaveLength(24);
    expect(new Set(sent).size).toBe(24);
    expect(w.fc.invocations.every((inv) => inv.error === undefined)).toBe(true);
  }, 60_000);

  it("falls back to inline delivery when FC refuses the hand-off, losing nothing", async () => {
    const w = await world({ tasks: 10, fcCredential: { ...SIM_CREDENTIAL, accessKeySecret: "not-the-role's" } });
    const logged: Array<Record<string, unknown>> = [];
    const relay = await openRelay({
      env: w.fanOutEnv,
      credentials: staticCredentials(SIM_CREDENTIAL),
      log: (e) => logged.push(e),
    });
    onTestFinished(() => relay.close());
    const summary = await relay.tick(30_000);
    expect(summary).toMatchObject({ events: 10, delivered: 20, handedOff: 0, invocations: 0, errors: 0 });
    // Invocations go out a few at a time: each of the first few was refused, then the run went inline.
    expect(w.fc.rejected.length).toBeGreaterThan(0);
    expect(new Set(w.fc.rejected.map((r) => r.code))).toEqual(new Set(["SignatureNotMatch"]));
    expect(logged).toContainEqual(
      expect.objectContaining({ level: "error", msg: "fan-out failed; delivering inline for the rest of this run" }),
    );
    expect(new Set(w.delivered()).size).toBe(20);
  }, 60_000);

  it("falls back to inline delivery when the FC endpoint is unreachable", async () => {
    const w = await world({ tasks: 10 });
    await w.fc.close();
    const relay = await openRelay({ env: w.fanOutEnv, credentials: staticCredentials(SIM_CREDENTIAL) });
    onTestFinished(() => relay.close());
    const summary = await relay.tick(30_000);
    expect(summary).toMatchObject({ events: 10, delivered: 20, invocations: 0 });
    expect(new Set(w.delivered()).size).toBe(20);
  }, 60_000);
});

describe("FC invoke path and signature", () => {
  it("posts to /2023-03-30/functions/{name}/invocations, signed, with x-fc-invocation-type: Async", async () => {
    const credential = { accessKeyId: "STS.key", accessKeySecret: "secret", securityToken: "token" };
    const fc = await startFcEmulator({
      credentials: credential,
      functions: { [DELIVER]: { module: "/nonexistent.js", maxInstances: 0 } },
    });
    onTestFinished(() => fc.close());
    const invoker = createFcInvoker(
      { accountId: fc.accountId, region: fc.region, endpoint: fc.url, timeoutMs: 5_000 },
      staticCredentials(credential),
    );
    const { requestId } = await invoker.invokeAsync(DELIVER, batchPayload(["msg_1"]));
    expect(fc.invocations.map((i) => [i.requestId, i.functionName, i.body])).toEqual([
      [requestId, DELIVER, '{"deliveryIds":["msg_1"]}'],
    ]);

    // An unknown function is permanent: asking again will not help.
    const missing = await invoker.invokeAsync("nope", "{}").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvokeError);
    expect(missing).toMatchObject({ retryable: false, status: 404, code: "FunctionNotFound" });

    // The emulator's check is not a formality: a body changed after signing, a wrong signature
    // or a missing STS token is refused.
    const body = Buffer.from(batchPayload(["msg_2"]));
    const path = `/2023-03-30/functions/${DELIVER}/invocations`;
    const headers: Record<string, string> = {
      date: new Date().toUTCString(),
      "content-type": "application/octet-stream",
      "content-md5": fcContentMd5(body),
      "x-fc-account-id": fc.accountId,
      "x-fc-invocation-type": "Async",
      "x-fc-security-token": "token",
    };
    const sign = (h: Record<string, string>) => `FC STS.key:${fcSignature("secret", fcStringToSign("POST", path, h))}`;
    const post = async (h: Record<string, string>, b: Buffer) => {
      const r = await request(`${fc.url}${path}`, { method: "POST", headers: h, body: b });
      const text = await r.body.text();
      return { status: r.statusCode, code: text ? JSON.parse(text).ErrorCode : undefined };
    };
    expect(await post({ ...headers, authorization: sign(headers) }, body)).toEqual({ status: 202, code: undefined });
    expect(await post({ ...headers, authorization: sign(headers) }, Buffer.from(batchPayload(["msg_3"])))).toEqual({
      status: 400,
      code: "InvalidArgument",
    });
    expect(await post({ ...headers, authorization: `FC STS.key:${"A".repeat(44)}` }, body)).toMatchObject({
      status: 403,
      code: "SignatureNotMatch",
    });
    const { "x-fc-security-token": _, ...noToken } = headers;
    expect(await post({ ...noToken, authorization: sign(noToken) }, body)).toMatchObject({
      status: 403,
      code: "InvalidSecurityToken",
    });
    const sync = { ...headers, "x-fc-invocation-type": "Sync" };
    expect(await post({ ...sync, authorization: sign(sync) }, body)).toMatchObject({ status: 400 });
  });

  it("keeps the largest batch far below FC's 128 KB asynchronous limit", () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => deliveryId(`evt_${i}`, `wh_${i}`));
    expect(Buffer.byteLength(batchPayload(ids))).toBeLessThan(64 * 1024);
  });
});
