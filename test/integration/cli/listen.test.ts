import { describe, expect, it, onTestFinished, vi } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { EXIT, main } from "../../../lib/cli.js";
import { noteResend } from "../../../lib/event-resends.js";
import { apiHarness, TOKEN } from "../../support/api.js";
import { eventSchemaErrors } from "../../support/event-schemas.js";
import { startReceiver } from "../../support/receiver.js";
import { tempDir } from "../../support/relay.js";

/** listen keeps its secret under the config directory: a temporary one, never the user's. */
const configEnv = () => ({ XDG_CONFIG_HOME: tempDir() });

async function finishTask(h: Awaited<ReturnType<typeof apiHarness>>, ws: string) {
  const task = h.sim.addTask(ws, { outcome: "SUCCESSED", runMs: 0 });
  const registered = await h.call("node", {
    method: "POST",
    path: "/v1/tasks",
    body: { workspaceId: ws, taskId: task.taskId },
  });
  expect(registered.status).toBe(201);
  await h.relay.tick(5_000);
  return task.taskId;
}

/**
 * Runs `listen` with `args` until `stop()`; `out()`/`err()` are what it printed so far, and
 * `secret()` resolves to the secret it prints first.
 */
function startListen(args: string[]) {
  let out = "";
  let err = "";
  let stop: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const running = main(["listen", ...args, "--interval", "50ms"], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: configEnv(),
    stopSignal,
  });
  const secret = async () => {
    await vi.waitFor(() => expect(out).toMatch(/^whsec_\S+\n/), { timeout: 5_000 });
    return out.split("\n")[0] as string;
  };
  return { out: () => out, err: () => err, stop, running, secret };
}

describe("quanmiao-relay listen", () => {
  it("forwards each new event to a local URL, signed with the secret it prints first; older events stay", async () => {
    const h = await apiHarness();
    const before = await finishTask(h, "llm-listen");
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const listen = startListen(["--forward-to", rx.url, "--relay", h.server.url, "--token", TOKEN]);
    secret = await listen.secret();
    expect(listen.err()).toContain(`to ${rx.url}`);

    const after = await finishTask(h, "llm-listen");
    await vi.waitFor(() => expect(rx.received).toHaveLength(1), { timeout: 5_000 });
    const [request] = rx.received;
    expect(request?.verifyError).toBeUndefined();
    expect(request?.verified).toMatchObject({ type: "video_analysis.succeeded", data: { taskId: after } });
    expect(eventSchemaErrors(request?.verified)).toBeUndefined();
    expect(JSON.stringify(rx.received)).not.toContain(before);
    // The line is printed once the answer is back, which can be a moment after the receiver has it.
    await vi.waitFor(
      () =>
        expect(listen.out()).toMatch(
          new RegExp(
            `\\d\\d:\\d\\d:\\d\\d  → video_analysis.succeeded  llm-listen/${after}  \\[200\\] \\d+ ms  evt_\\w+  msg_\\w+\\n`,
          ),
        ),
      { timeout: 5_000 },
    );

    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
  });

  it("says what is wrong with its options, and with a relay that refuses it", async () => {
    const bad = async (argv: string[]) => {
      let err = "";
      const io = {
        out: () => {},
        err: (t: string) => {
          err += t;
        },
        env: configEnv(),
      };
      const code = await main(["listen", ...argv], io);
      return { code, err };
    };
    expect(await bad(["--forward-to", "ftp://localhost:3000"])).toMatchObject({
      code: EXIT.usage,
      err: /--forward-to/,
    });
    expect(await bad(["--forward-to", "http://127.0.0.1:9/h", "--event", "video_analysis.done"])).toMatchObject({
      code: EXIT.usage,
      err: /--events: "video_analysis.done" is not an event type/,
    });
    expect(
      await bad(["--forward-to", "http://127.0.0.1:9/h", "--events", "video_analysis.failed", "--all-events"]),
    ).toMatchObject({
      code: EXIT.usage,
      err: /give --events or --all-events, not both/,
    });
    expect(
      await bad(["--forward-to", "http://127.0.0.1:9/h", "--secret", `whsec_${"A".repeat(44)}`, "--rotate-secret"]),
    ).toMatchObject({
      code: EXIT.usage,
      err: /--secret: give --secret or --rotate-secret, not both/,
    });
    expect(await bad(["--forward-to", "http://127.0.0.1:9/h", "--interval", "0s"])).toMatchObject({
      code: EXIT.usage,
      err: /--interval/,
    });
    const h = await apiHarness();
    const refused = await bad([
      "--forward-to",
      "http://127.0.0.1:9/h",
      "--relay",
      h.server.url,
      "--token",
      "wrong-token-0123456789",
    ]);
    expect(refused.code).toBe(EXIT.auth);
    expect(refused.err).toMatch(/refused the token \(HTTP 401\): give --token, or set RELAY_API_TOKEN/);
  });
  it("says so on the event's line when nothing answers at the URL it forwards to, and keeps listening", async () => {
    const h = await apiHarness();
    const closed = await listenOnLoopback((_req, res) => res.end());
    await closed.close();
    const target = `127.0.0.1:${closed.port}/hook`;
    const listen = startListen(["--forward-to", target, "--relay", h.server.url, "--token", TOKEN]);
    await listen.secret();
    const taskId = await finishTask(h, "llm-listen");
    await vi.waitFor(
      () =>
        expect(listen.out()).toContain(
          `  → video_analysis.succeeded  llm-listen/${taskId}  [failed: nothing answers at 127.0.0.1:${closed.port} — is your server running?]  evt_`,
        ),
      { timeout: 5_000 },
    );
    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
  });
  it("takes a target's status line for its answer when the body trickles: the next event is not held behind it", async () => {
    const h = await apiHarness();
    const trickles: NodeJS.Timeout[] = [];
    onTestFinished(() => {
      for (const t of trickles) clearInterval(t);
    });
    const target = await listenOnLoopback((req, res) => {
      req.resume();
      res.writeHead(200, { "content-length": "100000" });
      trickles.push(setInterval(() => res.write("."), 200));
    });
    onTestFinished(() => target.close());
    const listen = startListen(["--forward-to", `${target.url}/hook`, "--relay", h.server.url, "--token", TOKEN]);
    await listen.secret();
    const first = await finishTask(h, "llm-listen");
    const second = await finishTask(h, "llm-listen");
    // Each line within the second listen gives a body, not the 15 s deadline nor the 8 minutes the body takes.
    await vi.waitFor(
      () => {
        expect(listen.out()).toMatch(new RegExp(`llm-listen/${first}  \\[200\\] \\d+ ms`));
        expect(listen.out()).toMatch(new RegExp(`llm-listen/${second}  \\[200\\] \\d+ ms`));
      },
      { timeout: 6_000 },
    );
    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
  });

  it("forwards oldest first whatever order the relay lists events in, with one `since` for all pages of a look", async () => {
    const startedMs = Date.now();
    const event = (n: number) => ({
      id: `evt_${String(n).padStart(32, "0")}`,
      type: "video_analysis.failed",
      createdAt: new Date(startedMs + n * 1_000).toISOString(),
      body: { type: "video_analysis.failed", data: { workspaceId: "llm-order", taskId: `t${n}` } },
    });
    const asked: string[] = [];
    let looks = 0;
    // A relay's API that lists newest first, two pages a look; the first look (listen's start) is empty.
    const api = await listenOnLoopback((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      // A relay from before resends were logged: listen does without them.
      if (url.pathname !== "/v1/events") {
        res.statusCode = 404;
        return void res.end(JSON.stringify({ error: { code: "not_found" } }));
      }
      asked.push(`${url.searchParams.get("since")} ${url.searchParams.get("cursor")}`);
      const after = url.searchParams.get("cursor");
      if (after === null) looks++;
      const body =
        looks === 1
          ? { items: [], next: null }
          : after === null
            ? { items: [event(3), event(2)], next: "page-2" }
            : { items: [event(1)], next: null };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(body));
    });
    onTestFinished(() => api.close());
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const listen = startListen(["--forward-to", rx.url, "--relay", api.url]);
    secret = await listen.secret();
    await vi.waitFor(() => expect(rx.received.length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
    expect(rx.received.map((r) => r.verified?.data.taskId)).toEqual(["t1", "t2", "t3"]);
    const [second, page2] = asked.slice(1, 3);
    expect(page2).toBe(`${second?.split(" ")[0]} page-2`);
  });

  it("forwards every resend of a burst between two looks, however many pages it fills", async () => {
    const h = await apiHarness();
    const taskId = await finishTask(h, "llm-burst");
    const [event] = await h.relay.store.listEventsForTask("llm-burst", taskId);
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const listen = startListen(["--forward-to", rx.url, "--relay", h.server.url, "--token", TOKEN]);
    secret = await listen.secret();
    // 250 resends, a millisecond apart: three pages of the log, all written before the next look reads them.
    const baseMs = Date.now();
    await Promise.all(
      Array.from({ length: 250 }, (_, i) => noteResend(h.relay.store, event?.id as string, baseMs - 250 + i)),
    );
    await vi.waitFor(() => expect(rx.received).toHaveLength(250), { timeout: 10_000 });
    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
    expect(new Set(rx.received.map((r) => r.verified?.data.taskId))).toEqual(new Set([taskId]));
  });

  it("a relay that answers every page with the cursor it was given holds no look: each event is forwarded once", async () => {
    const startedMs = Date.now();
    const event = {
      id: `evt_${"7".repeat(32)}`,
      type: "video_analysis.succeeded",
      createdAt: new Date(startedMs + 1_000).toISOString(),
      body: { type: "video_analysis.succeeded", data: { workspaceId: "llm-stuck", taskId: "t-stuck" } },
    };
    let looks = 0;
    let pages = 0;
    const api = await listenOnLoopback((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      pages++;
      if (url.searchParams.get("cursor") === null && url.pathname === "/v1/events") looks++;
      // The first look (listen's start) is empty; after it, one event, then "stuck" for ever.
      const body =
        looks <= 1
          ? { items: [], next: null }
          : url.pathname === "/v1/events"
            ? { items: [event], next: "stuck" }
            : { items: [{ ...event, resentAt: new Date(startedMs + 2_000).toISOString() }], next: "stuck" };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(body));
    });
    onTestFinished(() => api.close());
    let secret = "";
    const rx = await startReceiver({ secret: () => secret, now: () => Date.now() });
    const listen = startListen(["--forward-to", rx.url, "--relay", api.url]);
    secret = await listen.secret();
    // The event, and its resend: once each, however often the relay repeats them.
    await vi.waitFor(() => expect(rx.received).toHaveLength(2), { timeout: 5_000 });
    const pagesThen = pages;
    await new Promise((resolve) => setTimeout(resolve, 300));
    listen.stop();
    expect(await listen.running).toBe(EXIT.ok);
    expect(rx.received).toHaveLength(2);
    // Looks went on at the interval (50 ms), two or three pages each, not page after page.
    expect(pages - pagesThen).toBeLessThan(60);
  });
});
