/**
 * `npm start` (`quanmiao-relay dev`) as a newcomer meets it: a real process in a fresh folder, its
 * banner, Ctrl-C, a bad setting, and the CLI and API run beside it in the same folder.
 */

import { once } from "node:events";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { bareEnv, emptyFolder, run, start, startNode } from "../../support/bin.js";

/** A sandbox in a fresh folder, its API on a free port; resolves once its banner is out. */
async function sandbox(extra: Record<string, string> = {}) {
  const cwd = emptyFolder();
  const env = bareEnv(cwd, { RELAY_API_PORT: "0", ...extra });
  const dev = start(["dev"], { env, cwd });
  await dev.waitFor(/Ctrl-C stops\.\n/, "out", 15_000);
  const api = dev.out().match(/HTTP API +(http:\/\/127\.0\.0\.1:\d+)\/v1/)?.[1];
  return { cwd, env, dev, api: api as string };
}

/** The task ids a sandbox, known by its banner, has registered. */
async function sampleTaskIds(banner: string): Promise<string[]> {
  const api = banner.match(/HTTP API +(http:\/\/127\.0\.0\.1:\d+)\/v1/)?.[1];
  const page = (await (await fetch(`${api}/v1/tasks?limit=100`)).json()) as { items: { taskId: string }[] };
  return page.items.map((t) => t.taskId);
}

/** Sends the head of a request promising a body, a little of it, and hangs up. */
async function abortUpload(url: string): Promise<void> {
  const { hostname, port, host } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(`POST /hook HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\n{"type": "`);
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
}

describe("npm start: start-up errors", () => {
  it.each([
    ["RELAY_API_TOKEN", "short"],
    ["RELAY_RETRY_SCHEDULE", "banana"],
  ])("a bad %s exits 3 at once, one line per variable, having opened nothing", async (name, value) => {
    const cwd = emptyFolder();
    const result = await run(["dev"], { env: bareEnv(cwd, { [name]: value }), cwd, timeoutMs: 10_000 });
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toMatch(new RegExp(`^error: invalid configuration:\\n  ${name}: .+\\n$`));
    expect(result.out).toBe("");
    // Nothing was started or deleted: no simulator, no store.
    expect(existsSync(join(cwd, ".relay"))).toBe(false);
  });

  it("a failure after the simulator started still ends the process with an error, closing what it opened", async () => {
    const cwd = emptyFolder();
    // SQLite cannot open the store with a folder where its journal goes: found only once the
    // simulator runs, whose open port would have kept the process alive before.
    mkdirSync(join(cwd, ".relay", "sandbox.db-journal"), { recursive: true });
    const result = await run(["dev"], { env: bareEnv(cwd, { RELAY_API_PORT: "0" }), cwd, timeoutMs: 10_000 });
    expect(result.code).toBe(EXIT.failure);
    expect(result.err).toMatch(/^error: unable to open database file\n$/m);
    expect(result.out).not.toContain("SANDBOX MODE");
  });

  it("with an AccessKey secret but no id, exits 3 naming the id, rather than starting the sandbox", async () => {
    const cwd = emptyFolder();
    const env = bareEnv(cwd, { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-without-id", RELAY_API_PORT: "0" });
    const result = await run(["dev"], { env, cwd, timeoutMs: 10_000 });
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toContain("ALIBABA_CLOUD_ACCESS_KEY_ID");
    expect(result.err).not.toContain("secret-without-id");
    expect(result.out).not.toContain("SANDBOX MODE");
  });

  it("with QUANMIAO_ENDPOINT but no credentials, exits 3 with a whole sentence before anything runs", async () => {
    const cwd = emptyFolder();
    const env = bareEnv(cwd, { QUANMIAO_ENDPOINT: "http://127.0.0.1:9", RELAY_API_PORT: "0" });
    const result = await run(["dev"], { env, cwd, timeoutMs: 10_000 });
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toMatch(/ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET/);
    expect(result.err).toMatch(/`npm start`.*sandbox.*\.\n$/);
    expect(existsSync(join(cwd, ".relay"))).toBe(false);
  });
});

describe("npm start: the sandbox", () => {
  it("prints where its state lives, the API and the console; / leads to the console; Ctrl-C stops it", async () => {
    const { cwd, env, dev, api } = await sandbox();
    const out = dev.out();
    expect(out).toContain("SANDBOX MODE");
    expect(out).toMatch(/Quanmiao API simulator {3}http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain(`state                    ${join(cwd, ".relay", "sandbox.db")}`);
    expect(out).toContain(`console                  ${api}/console`);
    // The store holds signing secrets: made private, so nothing to warn about.
    expect(statSync(join(cwd, ".relay")).mode & 0o777).toBe(0o700);
    expect(statSync(join(cwd, ".relay", "sandbox.db")).mode & 0o777).toBe(0o600);

    const root = await fetch(`${api}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/console");
    const page = await fetch(new URL(root.headers.get("location") as string, api));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");

    const first = await sampleTaskIds(out);
    dev.child.kill("SIGINT");
    expect(await dev.exited()).toEqual({ code: 0, signal: null });
    expect(dev.out()).toContain("stopping… (Ctrl-C again stops at once)\nstopped.\n");
    expect(dev.err()).not.toContain("readable by other users");
    // It no longer announces itself: the CLI goes back to the folder's own store.
    expect(existsSync(join(cwd, ".relay", "sandbox.json"))).toBe(false);

    // Started again, its sample tasks are new ones, as Alibaba's task ids are never reused.
    const again = start(["dev"], { env, cwd });
    await again.waitFor(/Ctrl-C stops\.\n/, "out", 15_000);
    const second = await sampleTaskIds(again.out());
    again.child.kill("SIGINT");
    expect(await again.exited()).toEqual({ code: 0, signal: null });
    expect(second).toHaveLength(5);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
  });

  it("outlives clients that hang up mid-upload, on each of its servers, and request targets no URL parser takes", async () => {
    const { dev, api } = await sandbox();
    const servers = [...dev.out().matchAll(/(?:simulator|receiver|emulator) +(http:\/\/127\.0\.0\.1:\d+)/g)].map(
      (m) => m[1],
    );
    expect(servers).toHaveLength(3);
    for (const url of [...servers, api]) await abortUpload(url as string);
    const odd = await fetch(`${api}//[`);
    expect(odd.status).toBe(404);
    // Every server in it takes 1 MiB at most: a body past that is not kept in npm start's memory.
    for (const url of servers) {
      const big = await fetch(`${url}/hook`, { method: "POST", body: new Uint8Array(1024 * 1024 + 64 * 1024) });
      expect(big.status, url).toBe(413);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(dev.child.exitCode).toBeNull();
    expect((await fetch(`${api}/v1/healthz`)).status).toBe(200);
    dev.child.kill("SIGINT");
    expect(await dev.exited()).toEqual({ code: 0, signal: null });
  });

  it("the CLI run next to it, with no variable, sees what it does and acts on it", async () => {
    const { cwd, env: devEnv, api, dev } = await sandbox();
    const env = bareEnv(cwd);
    const hooks = await run(["webhooks", "list", "--json"], { env, cwd });
    expect(hooks.code).toBe(EXIT.ok);
    expect(hooks.err).toMatch(/^note: acting on the sandbox that `npm start` runs in this folder/);
    expect(JSON.stringify(JSON.parse(hooks.out))).toContain("/subscriber");
    const tasks = await run(["tasks", "list", "--json"], { env, cwd });
    expect(JSON.parse(tasks.out).items).toHaveLength(5);

    // A task submitted to its simulator and registered from the CLI is the sandbox's to poll.
    const submitted = await run(["submit", "llm-sandbox", "--video-url", "https://v.example.com/a.mp4"], { env, cwd });
    expect(submitted.code).toBe(EXIT.ok);
    const taskId = submitted.out.trim();
    expect((await run(["tasks", "add", "llm-sandbox", taskId], { env, cwd })).code).toBe(EXIT.ok);
    const viaApi = (await (await fetch(`${api}/v1/tasks?limit=100`)).json()) as { items: { taskId: string }[] };
    expect(viaApi.items.map((t) => t.taskId)).toContain(taskId);
    // What the CLI says of it is the sandbox's pace, as the banner and the API say (not the defaults).
    const shown = await run(["tasks", "show", "llm-sandbox", taskId], { env, cwd });
    expect(shown.out).toMatch(/detection target +4 s/);

    // A store of one's own opts out, and a second sandbox in the same folder is refused.
    const own = await run(["tasks", "list", "--json"], { env: { ...env, RELAY_STORE: "sqlite:own.db" }, cwd });
    expect(own.err).not.toContain("sandbox");
    expect(JSON.parse(own.out).items).toEqual([]);
    const second = await run(["dev"], { env: devEnv, cwd, timeoutMs: 10_000 });
    expect(second.code).toBe(EXIT.failure);
    expect(second.err).toMatch(/a sandbox is already running in this folder \(pid \d+/);
    // Its runs have polled the sample tasks by now; healthy runs print no summary over the webhooks.
    expect(dev.err()).not.toContain('{"tick"');
  });
});

describe("npm start: a webhook that never answers", () => {
  it("holds up no poll and no other delivery: each run starts on time while the last one waits for it", async () => {
    const { dev, api } = await sandbox();
    // When each task's webhook reached the healthy subscriber, by task id.
    const arrivals = new Map<string, number>();
    const healthy = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        const { data } = JSON.parse(body) as { data: { taskId: string } };
        arrivals.set(data.taskId, performance.now());
        res.writeHead(204).end();
      });
    });
    // Reads the request and never answers: each attempt takes the whole delivery timeout (15 s).
    let hung = 0;
    const hanging = createServer((req) => {
      hung++;
      req.resume();
    });
    for (const server of [healthy, hanging]) {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    }
    onTestFinished(() => {
      for (const server of [healthy, hanging]) {
        server.closeAllConnections();
        server.close();
      }
    });
    const post = (path: string, body: unknown) =>
      fetch(`${api}/v1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const server of [hanging, healthy]) {
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}/hook`;
      expect((await post("/webhooks", { url, events: ["video_analysis.failed"] })).status).toBe(201);
    }
    // Ids the simulator does not know, registered without a submission time in a workspace with no
    // queue ahead of them: each is asked at the next run and fails at once (DataNotExists), so its
    // webhook is due a run after registration.
    const registeredAt = new Map<string, number>();
    for (const taskId of ["gone-1", "gone-2", "gone-3"]) {
      expect((await post("/tasks", { workspaceId: "llm-elsewhere", taskId })).status).toBe(201);
      registeredAt.set(taskId, performance.now());
      await new Promise((r) => setTimeout(r, 5_000));
    }
    await vi.waitFor(() => expect([...registeredAt.keys()].filter((id) => arrivals.has(id))).toHaveLength(3), {
      timeout: 20_000,
      interval: 100,
    });
    console.log(
      "LAGS",
      [...registeredAt].map(([id, at]) => (arrivals.get(id) as number) - at),
    );
    expect(hung).toBeGreaterThan(0);
    // Each by the next run: one starts 2 s after the last one's budget (5 s) at the latest, so within
    // 7 s. Behind the hanging webhook's attempts, which each run used to wait for (15 s), later
    // tasks waited for them too.
    for (const [taskId, at] of registeredAt) expect((arrivals.get(taskId) as number) - at, taskId).toBeLessThan(8_000);
    // Its attempts end at once when it goes away, so that Ctrl-C need not wait for them.
    hanging.close();
    hanging.closeAllConnections();
    dev.child.kill("SIGINT");
    expect((await dev.exited()).code).toBe(0);
  }, 60_000);
});

describe("npm start: EventBridge in the sandbox", () => {
  it("a bus subscribed from the CLI beside it publishes to the sandbox's own emulator, never to Alibaba Cloud", async () => {
    const { cwd, dev } = await sandbox();
    expect(dev.out()).toMatch(/EventBridge emulator +http:\/\/127\.0\.0\.1:\d+ +\(bus relay-events/);
    const env = bareEnv(cwd);
    // No region, account or endpoint given: the sandbox's stand-ins, pointing at its emulator.
    const added = await run(["webhooks", "add", "--eventbridge", "relay-events"], { env, cwd });
    expect(added.code).toBe(EXIT.ok);
    expect(JSON.parse(added.out).url).toBe("acs:eventbridge:cn-hangzhou:1234567890:eventbus/relay-events");
    // A sample event, as `trigger` makes it, goes to every matching subscription: the bus too.
    expect((await run(["trigger", "video_analysis.succeeded"], { env, cwd })).code).toBe(EXIT.ok);
    await dev.waitFor(/⇢ EventBridge relay-events: video_analysis\.succeeded .* id msg-[0-9a-f]+/, "out", 15_000);
  });
});

describe("Ctrl-C", () => {
  it("a second Ctrl-C while the first is still stopping ends the process at once, exit 130", async () => {
    // A command that runs until Ctrl-C, whose clean stop never ends: only the second signal can stop it.
    const cwd = emptyFolder();
    const script = join(cwd, "hangs-on-stop.mjs");
    const signals = new URL("../../../dist/lib/cli/signals.js", import.meta.url).href;
    writeFileSync(
      script,
      `import { untilSignal } from ${JSON.stringify(signals)};\n` +
        `const stop = untilSignal({ onFirst: () => process.stdout.write("stopping\\n") });\n` +
        // What a server would do: hold the process open, before and after the first signal.
        "setInterval(() => {}, 1000);\n" +
        `process.stdout.write("ready\\n");\n` +
        "await stop;\n",
    );
    const hangs = startNode([script], { env: bareEnv(cwd), cwd });
    await hangs.waitFor(/ready\n/);
    hangs.child.kill("SIGINT");
    await hangs.waitFor(/stopping\n/);
    expect(hangs.child.exitCode).toBeNull(); // still stopping
    hangs.child.kill("SIGINT");
    expect(await hangs.exited()).toEqual({ code: 130, signal: null });
    expect(hangs.err()).toBe("stopping at once.\n");
  });
});
