/**
 * A loopback stand-in for Function Compute 3.0's invoke API, enough to run fan-out end to end.
 *
 * It accepts `POST /2023-03-30/functions/{name}/invocations` with `x-fc-invocation-type: Async`,
 * checks what FC checks (account, date, Content-MD5, the FC signature and STS token, the 128 KB
 * async limit), answers 202 at once, and runs the invocation later on an emulated instance: a
 * child process that loads the function's handler and takes one invocation at a time, with the
 * function role's credentials in its context. Instances start on demand up to a limit, so a
 * backlog of invocations waits as it would for FC's instance quota.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenOnLoopback } from "../loopback.js";
import { INSTANCE_PROGRAM } from "./instance.js";
import { fcContentMd5, fcSignature, fcStringToSign } from "./signature.js";

export const FC_EMULATOR_ACCOUNT = "1234567890123456";
/** The function role's credentials, as an STS triple: the emulator accepts them and passes them on. */
export const FC_EMULATOR_CREDENTIAL = {
  accessKeyId: "STS.relayEmulatorRole",
  accessKeySecret: "fc-emulator-role-secret",
  securityToken: "fc-emulator-role-token",
};
const ASYNC_LIMIT_BYTES = 128 * 1024;
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

export interface EmulatedFunction {
  /** Path of the module whose `handler` export runs (a bundle from `npm run build`). */
  readonly module: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Most instances at once (FC: the function's instance limit). */
  readonly maxInstances?: number;
  readonly timeoutS?: number;
  readonly memoryMb?: number;
}

export interface FcEmulatorOptions {
  readonly functions: Readonly<Record<string, EmulatedFunction>>;
  readonly accountId?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
  /** Instances to start before the first invocation (per function), so cold starts are not measured. */
  readonly prewarm?: number;
  readonly port?: number;
}

export interface InvocationRecord {
  readonly requestId: string;
  readonly functionName: string;
  readonly body: string;
  readonly acceptedAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  instance?: number;
  result?: unknown;
  error?: string;
}

export interface RejectedRequest {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface FcEmulator {
  readonly url: string;
  readonly accountId: string;
  readonly region: string;
  readonly invocations: readonly InvocationRecord[];
  readonly rejected: readonly RejectedRequest[];
  /** Instances started so far (cold starts), per function. */
  readonly started: Readonly<Record<string, number>>;
  /** Resolves when every accepted invocation has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

class FcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Instance {
  readonly id: number;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  busy: InvocationRecord | undefined;
  timer?: NodeJS.Timeout;
}

export async function startFcEmulator(options: FcEmulatorOptions): Promise<FcEmulator> {
  const accountId = options.accountId ?? FC_EMULATOR_ACCOUNT;
  const region = options.region ?? "cn-beijing";
  const credential = options.credentials ?? FC_EMULATOR_CREDENTIAL;
  const invocations: InvocationRecord[] = [];
  const rejected: RejectedRequest[] = [];
  const started: Record<string, number> = {};
  const queues = new Map<string, InvocationRecord[]>();
  const instances = new Map<string, Instance[]>();
  let nextInstanceId = 1;
  let closing = false;
  const idleWaiters: Array<() => void> = [];

  const pending = () =>
    invocations.some((i) => i.finishedAtMs === undefined) || [...queues.values()].some((q) => q.length > 0);
  const checkIdle = () => {
    if (pending()) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  function spawnInstance(name: string, fn: EmulatedFunction): Instance {
    const child = spawn(process.execPath, ["-e", INSTANCE_PROGRAM, fn.module], {
      env: {
        PATH: process.env.PATH ?? "",
        FC_ACCOUNT_ID: accountId,
        FC_REGION: region,
        FC_FUNCTION_NAME: name,
        FC_FUNCTION_MEMORY_SIZE: String(fn.memoryMb ?? 512),
        ...fn.env,
      },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    started[name] = (started[name] ?? 0) + 1;
    let resolveReady: () => void = () => {};
    let rejectReady: (error: Error) => void = () => {};
    const instance: Instance = {
      id: nextInstanceId++,
      child,
      busy: undefined,
      ready: new Promise<void>((resolve, reject) => {
        resolveReady = resolve;
        rejectReady = reject;
      }),
    };
    instance.ready.catch(() => {});
    child.on(
      "message",
      (message: { ready?: boolean; requestId?: string; ok?: boolean; result?: unknown; error?: string }) => {
        if (message.ready) {
          resolveReady();
          return;
        }
        const record = instance.busy;
        if (!record || record.requestId !== message.requestId) return;
        clearTimeout(instance.timer);
        record.finishedAtMs = Date.now();
        if (message.ok) record.result = message.result;
        else record.error = message.error ?? "the handler failed";
        instance.busy = undefined;
        schedule(name);
        checkIdle();
      },
    );
    child.on("exit", (code, signal) => {
      rejectReady(new Error(`instance exited (${signal ?? code}) before it was ready`));
      const list = instances.get(name) ?? [];
      const at = list.indexOf(instance);
      if (at >= 0) list.splice(at, 1);
      const record = instance.busy;
      if (record && record.finishedAtMs === undefined) {
        record.finishedAtMs = Date.now();
        record.error ??= `the instance exited (${signal ?? code}) during the invocation`;
      }
      if (!closing) schedule(name);
      checkIdle();
    });
    const list = instances.get(name) ?? [];
    list.push(instance);
    instances.set(name, list);
    return instance;
  }

  function run(name: string, fn: EmulatedFunction, instance: Instance, record: InvocationRecord): void {
    instance.busy = record;
    void instance.ready.then(
      () => {
        record.startedAtMs = Date.now();
        record.instance = instance.id;
        const timeoutS = fn.timeoutS ?? 60;
        // FC stops an invocation that outlives the function's timeout by ending its instance.
        instance.timer = setTimeout(() => {
          record.error = `timed out after ${timeoutS} s`;
          instance.child.kill("SIGKILL");
        }, timeoutS * 1000);
        instance.child.send({
          requestId: record.requestId,
          event: Buffer.from(record.body).toString("base64"),
          context: {
            requestId: record.requestId,
            credentials: credential,
            function: { name, handler: "index.handler", memory: fn.memoryMb ?? 512, timeout: timeoutS },
            region,
            accountId,
          },
        });
      },
      (error: Error) => {
        record.finishedAtMs = Date.now();
        record.error = error.message;
        instance.busy = undefined;
        checkIdle();
      },
    );
  }

  function schedule(name: string): void {
    const fn = options.functions[name];
    const queue = queues.get(name);
    if (!fn || !queue || closing) return;
    while (queue.length > 0) {
      const list = instances.get(name) ?? [];
      let instance = list.find((i) => !i.busy);
      if (!instance && list.length < (fn.maxInstances ?? 1)) instance = spawnInstance(name, fn);
      if (!instance) return;
      run(name, fn, instance, queue.shift() as InvocationRecord);
    }
  }

  function authenticate(req: IncomingMessage, path: string, body: Buffer): void {
    const h = req.headers;
    if (h["x-fc-account-id"] !== accountId)
      throw new FcError(403, "AccessDenied", "x-fc-account-id is not this account");
    const dateMs = Date.parse(String(h.date ?? ""));
    if (!Number.isFinite(dateMs) || Math.abs(Date.now() - dateMs) > MAX_CLOCK_SKEW_MS)
      throw new FcError(403, "InvalidArgument", "the Date header is missing or more than 15 minutes off");
    if (body.length > 0 && h["content-md5"] !== fcContentMd5(body))
      throw new FcError(400, "InvalidArgument", "Content-MD5 does not match the body");
    const match = /^FC ([^:]+):(.+)$/.exec(String(h.authorization ?? ""));
    if (!match) throw new FcError(403, "InvalidAccessKeyId", "no FC Authorization header");
    if (match[1] !== credential.accessKeyId) throw new FcError(403, "InvalidAccessKeyId", "unknown AccessKeyId");
    if (credential.securityToken !== undefined && h["x-fc-security-token"] !== credential.securityToken)
      throw new FcError(403, "InvalidSecurityToken", "the STS token is missing or wrong");
    const expected = fcSignature(credential.accessKeySecret, fcStringToSign(req.method ?? "", path, h));
    if (match[2] !== expected) throw new FcError(403, "SignatureNotMatch", "the request signature does not match");
  }

  function accept(req: IncomingMessage, body: Buffer): InvocationRecord {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const route = /^\/2023-03-30\/functions\/([^/]+)\/invocations$/.exec(path);
    if (req.method !== "POST" || !route) throw new FcError(404, "NotFound", `no such API: ${req.method} ${path}`);
    authenticate(req, path, body);
    const functionName = decodeURIComponent(route[1] ?? "");
    if (!options.functions[functionName])
      throw new FcError(404, "FunctionNotFound", `function ${functionName} does not exist`);
    if (String(req.headers["x-fc-invocation-type"] ?? "").toLowerCase() !== "async")
      throw new FcError(400, "InvalidArgument", "this emulator runs asynchronous invocations only");
    if (body.length > ASYNC_LIMIT_BYTES)
      throw new FcError(
        413,
        "RequestEntityTooLarge",
        `an asynchronous invocation carries at most ${ASYNC_LIMIT_BYTES} bytes`,
      );
    const record: InvocationRecord = {
      requestId: randomUUID(),
      functionName,
      body: body.toString("utf8"),
      acceptedAtMs: Date.now(),
    };
    invocations.push(record);
    const queue = queues.get(functionName) ?? [];
    queue.push(record);
    queues.set(functionName, queue);
    return record;
  }

  const loopback = await listenOnLoopback((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const record = accept(req, Buffer.concat(chunks));
        res.writeHead(202, { "x-fc-request-id": record.requestId, "content-length": "0" }).end();
        schedule(record.functionName);
      } catch (error) {
        const e = error instanceof FcError ? error : new FcError(500, "InternalError", String(error));
        rejected.push({ status: e.status, code: e.code, message: e.message });
        const body = JSON.stringify({ ErrorCode: e.code, ErrorMessage: e.message });
        res.writeHead(e.status, { "content-type": "application/json", "x-fc-request-id": randomUUID() }).end(body);
      }
    });
  }, options.port);

  for (const [name, fn] of Object.entries(options.functions)) {
    for (let i = 0; i < Math.min(options.prewarm ?? 0, fn.maxInstances ?? 1); i++) spawnInstance(name, fn);
  }
  await Promise.all([...instances.values()].flat().map((i) => i.ready));

  return {
    url: loopback.url,
    accountId,
    region,
    invocations,
    rejected,
    started,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    async close() {
      closing = true;
      const all = [...instances.values()].flat();
      await Promise.all(
        all.map(
          (i) =>
            new Promise<void>((resolve) => {
              clearTimeout(i.timer);
              if (i.child.exitCode !== null || i.child.signalCode !== null) return resolve();
              i.child.once("exit", () => resolve());
              i.child.kill("SIGKILL");
            }),
        ),
      );
      await loopback.close();
    },
  };
}
