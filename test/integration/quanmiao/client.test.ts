import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { SIM_CREDENTIAL } from "../../../dev/quanmiao-simulator/server.js";
import { InputError } from "../../../lib/errors.js";
import { actionPath } from "../../../lib/quanmiao/actions.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import {
  ApiError,
  AuthError,
  MalformedResponseError,
  type QuanmiaoError,
  TaskNotFoundError,
  ThrottledError,
  TransientError,
} from "../../../lib/quanmiao/errors.js";
import { viewOf } from "../../../lib/quanmiao/schema.js";
import { rejection, simulatorWithClient } from "../../support/quanmiao.js";

const WS = "llm-test";
const SUB_RESULTS = [
  "videoAnalysisResult",
  "videoCaptionResult",
  "videoGenerateResult",
  "videoGenerateResults",
  "videoMindMappingGenerateResult",
  "videoTitleGenerateResult",
  "resultJsonFileUrl",
  "videoRoleRecognitionResult",
  "videoCalculatorResult",
  "addDatasetDocumentsResult",
];

describe("client against the simulator over loopback HTTP", () => {
  it("gets a finished task with every sub-result, raw data exactly as sent", async () => {
    const { sim, client, clock } = await simulatorWithClient();
    const task = sim.addTask(WS, { runMs: 60_000, outcome: "SUCCESSED" });
    clock.advance(61_000);
    const result = await client.getTask(WS, task.taskId);
    expect(result.status).toBe("SUCCESSED");
    expect(result.raw).toEqual(sim.taskData(WS, task.taskId));
    const view = viewOf(result);
    expect(Object.keys(view.payload?.output ?? {}).sort()).toEqual([...SUB_RESULTS].sort());
    expect(result.requestId).toMatch(/^[0-9A-F-]{36}$/);
    // The typed view is usable whether the numbers came as numbers or as strings.
    const usage = view.payload?.usage;
    expect(typeof usage?.totalTokens).toBe("number");
  });

  it("follows the FIFO queue: PENDING until a slot frees, RUNNING, then the outcome", async () => {
    const { sim, client, clock } = await simulatorWithClient({ workspaces: { [WS]: 1 } });
    const first = sim.addTask(WS, { runMs: 10_000, outcome: "FAILED" });
    const second = sim.addTask(WS, { runMs: 10_000, outcome: "CANCELED" });
    const status = async (id: string) => (await client.getTask(WS, id)).status;
    expect([await status(first.taskId), await status(second.taskId)]).toEqual(["RUNNING", "PENDING"]);
    clock.advance(10_000);
    expect([await status(first.taskId), await status(second.taskId)]).toEqual(["FAILED", "RUNNING"]);
    clock.advance(10_000);
    const canceled = await client.getTask(WS, second.taskId);
    expect(canceled.status).toBe("CANCELED");
    const failed = await client.getTask(WS, first.taskId);
    expect(failed.raw.errorMessage).toBeTruthy();
  });

  it("reads the workspace's asyncConcurrency", async () => {
    const { client } = await simulatorWithClient({ workspaces: { [WS]: 7 } });
    expect((await client.getConfig(WS)).asyncConcurrency).toBe(7);
  });

  it("submits a task as a form with JSON list fields, and refuses a reused deduplicationId", async () => {
    const { sim, client } = await simulatorWithClient();
    const submitted = await client.submitTask(WS, {
      videoUrl: "https://videos.example.com/a.mp4",
      generateOptions: ["videoAnalysis", "videoTitleGenerate"],
      frameSampleMethod: { methodName: "standard" },
      snapshotInterval: 2,
      deduplicationId: "order-42",
    });
    const task = sim.workspace(WS).tasks.get(submitted.taskId);
    expect(task?.request).toEqual({
      videoUrl: "https://videos.example.com/a.mp4",
      generateOptions: '["videoAnalysis","videoTitleGenerate"]',
      frameSampleMethod: '{"methodName":"standard"}',
      snapshotInterval: "2",
      deduplicationId: "order-42",
    });
    const again = await rejection(
      client.submitTask(WS, { videoUrl: "https://v.example.com/b.mp4", deduplicationId: "order-42" }),
    );
    expect(again).toBeInstanceOf(ApiError);
  });

  it("percent-encodes path segments: a workspace id with reserved characters round-trips; a slash is refused unsent", async () => {
    const { sim, client } = await simulatorWithClient();
    const odd = "llm a?c#d%中";
    const task = sim.addTask(odd, { runMs: 0 });
    expect((await client.getTask(odd, task.taskId)).raw.taskId).toBe(task.taskId);
    const before = sim.stats().calls.GetVideoAnalysisTask;
    await expect(client.getTask("llm a/b", task.taskId)).rejects.toThrow(/workspaceId must not contain "\/"/);
    expect(sim.stats().calls.GetVideoAnalysisTask).toBe(before);
  });

  it("signs STS requests: token and key id headers are sent and signed (the gateway insists)", async () => {
    const sts = { accessKeyId: "STS.rotating", accessKeySecret: "sts-secret", securityToken: "token-1" };
    const { sim, client, clock } = await simulatorWithClient(
      { credentials: [sts] },
      { credentials: staticCredentials(sts) },
    );
    const task = sim.addTask(WS);
    expect((await client.getTask(WS, task.taskId)).raw.taskId).toBe(task.taskId);
    const wrong = createQuanmiaoClient({
      endpoint: sim.url,
      clock,
      credentials: staticCredentials({ ...sts, securityToken: "token-stale" }),
    });
    const error = await rejection(wrong.getTask(WS, task.taskId));
    await wrong.close();
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("InvalidSecurityToken.MismatchWithAccessKey");
    expect((error as AuthError).scope).toBe("credentials");
  });

  it("reads rotating credentials from the provider on every call", async () => {
    const keys = [1, 2, 3].map((i) => ({ accessKeyId: `STS.k${i}`, accessKeySecret: `s${i}`, securityToken: `t${i}` }));
    let calls = 0;
    const { sim, client } = await simulatorWithClient(
      { credentials: keys },
      { credentials: () => keys[calls++ % keys.length] ?? keys[0] ?? SIM_CREDENTIAL },
    );
    const task = sim.addTask(WS);
    for (let i = 0; i < 3; i++) await client.getTask(WS, task.taskId);
    expect(calls).toBe(3);
  });
});

describe("every failure maps to the class that says what to do", () => {
  it.each([
    [{ kind: "throttle", retryAfterMs: 1500 } as const, ThrottledError],
    [{ kind: "serverError", status: 503 } as const, TransientError],
    [{ kind: "serverError", status: 500 } as const, TransientError],
    [{ kind: "malformed" } as const, MalformedResponseError],
    [{ kind: "truncated" } as const, TransientError],
    [{ kind: "drop" } as const, TransientError],
    [{ kind: "noPermission" } as const, AuthError],
    [{ kind: "notFound" } as const, TaskNotFoundError],
  ])("%o → %o", async (fault, errorClass) => {
    const { sim, client } = await simulatorWithClient();
    const task = sim.addTask(WS);
    sim.faults.inject({ fault, times: 1 });
    const error = await rejection(client.getTask(WS, task.taskId));
    expect(error).toBeInstanceOf(errorClass);
    expect((error as QuanmiaoError).action).toBe("GetVideoAnalysisTask");
    // The fault was one-off: the same call now succeeds.
    expect((await client.getTask(WS, task.taskId)).raw.taskId).toBe(task.taskId);
  });

  it("throttling carries the server's retry-after and the request id", async () => {
    const { sim, client } = await simulatorWithClient();
    sim.faults.inject({ fault: { kind: "throttle", retryAfterMs: 1500 }, times: 1 });
    const error = (await rejection(client.getConfig(WS))) as ThrottledError;
    expect(error.retryAfterMs).toBe(1500);
    expect(error.retryable).toBe(true);
    expect(error.code).toBe("Throttling.User");
    expect(error.requestId).toBeTruthy();
  });

  it("NoPermission for a workspace is an AuthError scoped to that workspace, with its request id", async () => {
    const { sim, client } = await simulatorWithClient();
    sim.denyWorkspace("llm-denied");
    const error = (await rejection(client.getTask("llm-denied", "t1"))) as AuthError;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.scope).toBe("workspace");
    expect(error.code).toBe("NoPermission");
    expect(error.requestId).toBeTruthy();
    expect(error.retryable).toBe(false);
  });

  it("an unknown task is TaskNotFoundError (HTTP 200, success:false, DataNotExists)", async () => {
    const { client } = await simulatorWithClient();
    const error = (await rejection(client.getTask(WS, "no-such-task"))) as TaskNotFoundError;
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error.httpStatus).toBe(200);
    expect(error.code).toBe("DataNotExists");
  });

  it("a slow answer times out as a TransientError of kind timeout", async () => {
    const { sim, client } = await simulatorWithClient({}, { requestTimeoutMs: 200 });
    const task = sim.addTask(WS);
    sim.faults.inject({ fault: { kind: "latency", ms: 1_000 }, times: 1 });
    const started = performance.now();
    const error = (await rejection(client.getTask(WS, task.taskId))) as TransientError;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.kind).toBe("timeout");
    expect(performance.now() - started).toBeLessThan(900);
  });

  it("a body over maxResponseBytes is refused as malformed, declared length or not", async () => {
    const { sim, client, clock } = await simulatorWithClient({}, { maxResponseBytes: 500 });
    const task = sim.addTask(WS, { runMs: 0, outcome: "SUCCESSED" });
    clock.advance(1);
    expect(await rejection(client.getTask(WS, task.taskId))).toBeInstanceOf(MalformedResponseError);
    // Chunked, without content-length: counted while reading.
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"success":true,"data":{"pad":"${"x".repeat(400)}`);
      res.end(`${"y".repeat(400)}"}}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const chunked = createQuanmiaoClient({
      endpoint: `http://127.0.0.1:${port}`,
      credentials: staticCredentials(SIM_CREDENTIAL),
      maxResponseBytes: 500,
    });
    const error = await rejection(chunked.getConfig(WS));
    await chunked.close();
    server.close();
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).message).toContain("over 500 bytes");
  });

  it("a refused connection is a retryable network error", async () => {
    const client = createQuanmiaoClient({
      endpoint: "http://127.0.0.1:9",
      credentials: staticCredentials(SIM_CREDENTIAL),
    });
    const error = (await rejection(client.getTask(WS, "t"))) as TransientError;
    await client.close();
    expect(error).toBeInstanceOf(TransientError);
    expect(error.kind).toBe("network");
    expect(error.cause).toBeDefined();
  });

  it("the gateway refuses a wrong secret, an unknown key, a skewed clock and a reused nonce", async () => {
    const { sim, clock } = await simulatorWithClient();
    const task = sim.addTask(WS);
    const attempt = async (options: Parameters<typeof createQuanmiaoClient>[0], times = 1) => {
      const c = createQuanmiaoClient(options);
      try {
        let last: unknown;
        for (let i = 0; i < times; i++) last = await rejection(c.getTask(WS, task.taskId)).catch((e) => e);
        return last as QuanmiaoError;
      } finally {
        await c.close();
      }
    };
    const badSecret = await attempt({
      endpoint: sim.url,
      clock,
      credentials: staticCredentials({ ...SIM_CREDENTIAL, accessKeySecret: "wrong" }),
    });
    expect([badSecret.constructor, badSecret.code]).toEqual([AuthError, "SignatureDoesNotMatch"]);
    const unknownKey = await attempt({
      endpoint: sim.url,
      clock,
      credentials: staticCredentials({ ...SIM_CREDENTIAL, accessKeyId: "nobody" }),
    });
    expect([unknownKey.constructor, unknownKey.code]).toEqual([AuthError, "InvalidAccessKeyId.NotFound"]);
    const skewed = await attempt({
      endpoint: sim.url,
      clock: { now: () => clock.now() - 16 * 60_000 },
      credentials: staticCredentials(SIM_CREDENTIAL),
    });
    expect([skewed.constructor, skewed.code]).toEqual([ApiError, "InvalidTimeStamp.Expired"]);
    const c = createQuanmiaoClient({
      endpoint: sim.url,
      clock,
      credentials: staticCredentials(SIM_CREDENTIAL),
      nonce: () => "same-nonce",
    });
    await c.getTask(WS, task.taskId);
    const reused = (await rejection(c.getTask(WS, task.taskId))) as QuanmiaoError;
    await c.close();
    expect([reused.constructor, reused.code]).toEqual([ApiError, "SignatureNonceUsed"]);
    expect(sim.stats().rejected).toBe(4);
  });

  it("with verifySignatures off (benchmark baselines) an unsigned request is served", async () => {
    const { sim } = await simulatorWithClient({ verifySignatures: false });
    const task = sim.addTask(WS);
    const res = await fetch(`${sim.url}${actionPath("GetVideoAnalysisTask", WS)}?taskId=${task.taskId}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual(sim.taskData(WS, task.taskId));
  });

  it("never puts a secret or token into an error, its description or its inspection", async () => {
    const secret = "very-secret-value-123";
    const token = "sts-token-value-456";
    const { sim, clock } = await simulatorWithClient();
    const errors: unknown[] = [];
    const c = createQuanmiaoClient({
      endpoint: sim.url,
      clock,
      credentials: staticCredentials({ accessKeyId: "STS.x", accessKeySecret: secret, securityToken: token }),
      requestTimeoutMs: 300,
    });
    errors.push(await rejection(c.getTask(WS, "t")));
    sim.faults.inject({ fault: { kind: "latency", ms: 600 }, times: 1 });
    errors.push(await rejection(c.getTask(WS, "t")));
    await c.close();
    for (const error of errors) {
      const text = [
        String(error),
        inspect(error, { depth: 10 }),
        JSON.stringify(error),
        (error as QuanmiaoError).describe(),
      ].join("\n");
      expect(text).not.toContain(secret);
      expect(text).not.toContain(token);
    }
  });
});

describe("connections and arguments", () => {
  it("keeps connections alive: 1,000 sequential calls open no more than the pool size", async () => {
    const { sim, client } = await simulatorWithClient({}, { connections: 4 });
    const task = sim.addTask(WS);
    for (let i = 0; i < 1_000; i++) await client.getTask(WS, task.taskId);
    expect(sim.stats().calls.GetVideoAnalysisTask).toBe(1_000);
    expect(sim.stats().connections).toBeGreaterThanOrEqual(1);
    expect(sim.stats().connections).toBeLessThanOrEqual(4);
  });

  it.each([
    ["", "t"],
    ["   ", "t"],
    [" llm-x", "t"],
    ["llm-x", "a".repeat(257)],
    ["llm-x", "bad\u0000id"],
    ["llm-x", "line\nbreak"],
    ["llm-x", "\ud800"],
  ])("rejects workspace %j / task %j before any request", async (ws, taskId) => {
    const { sim, client } = await simulatorWithClient();
    expect(await rejection(client.getTask(ws, taskId))).toBeInstanceOf(InputError);
    expect(await rejection(client.submitTask(ws || " ", { videoUrl: "" }))).toBeInstanceOf(InputError);
    expect(sim.stats()).toEqual({
      calls: { GetVideoAnalysisTask: 0, GetVideoAnalysisConfig: 0, SubmitVideoAnalysisTask: 0 },
      rejected: 0,
      connections: 0,
    });
  });
});
