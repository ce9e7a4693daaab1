/**
 * `listen`, `trigger` and `events resend` as a newcomer runs them next to a relay: real processes
 * (serve, tick, listen, trigger) on one SQLite file, and loopback receivers that verify every
 * request with the `standardwebhooks` library.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { eventSchemaErrors } from "../../support/event-schemas.js";
import { startReceiver } from "../../support/receiver.js";
import { tempDir } from "../../support/relay.js";

const CLI = new URL("../../../bin/quanmiao-relay.js", import.meta.url).pathname;
const TIME = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d";

interface Proc {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  readonly exit: Promise<number | null>;
}

function start(args: readonly string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return { child, out: () => out, err: () => err, exit };
}

async function run(args: readonly string[], env: Record<string, string>) {
  const p = start(args, env);
  const code = await p.exit;
  return { code, out: p.out(), err: p.err() };
}

/** A store, a config directory and (for `tick`) a simulator with its credentials. */
async function setup() {
  const dir = tempDir();
  const sim = await startSimulator({ runMs: 0 });
  onTestFinished(() => sim.close());
  return {
    dir,
    env: {
      QUANMIAO_ENDPOINT: sim.url,
      ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
      PATH: process.env.PATH ?? "",
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, "config"),
      RELAY_STORE: `sqlite:${join(dir, "relay.db")}`,
      RELAY_ALLOW_PRIVATE_TARGETS: "true",
    },
  };
}

/** `listen` started and ready: its secret (first stdout line) and start-up text. */
async function listen(args: readonly string[], env: Record<string, string>) {
  const p = start(["listen", "--interval", "100ms", ...args], env);
  await vi.waitFor(() => expect(p.err()).toContain("Ctrl-C stops"), { timeout: 10_000 });
  const secret = p.out().split("\n")[0] ?? "";
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
  return { ...p, secret };
}

async function stop(p: Proc) {
  p.child.kill("SIGINT");
  expect(await p.exit).toBe(0);
}

describe("listen, trigger and events resend, as processes", () => {
  it("a triggered event reaches a subscriber (via a run) and listen (signed with its stable secret); resend sends it again", async () => {
    const { env, dir } = await setup();
    const serve = start(["serve", "--port", "0", "--no-auth"], env);
    await vi.waitFor(() => expect(serve.out()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\n/), { timeout: 10_000 });
    const relay = serve.out().split("\n")[0] as string;

    let subscriberSecret = "";
    const subscriber = await startReceiver({ secret: () => subscriberSecret, now: () => Date.now() });
    const made = await run(["webhooks", "add", subscriber.url, "--json"], env);
    expect(made.code).toBe(0);
    subscriberSecret = JSON.parse(made.out).secret as string;

    let listenSecret = "";
    const local = await startReceiver({ secret: () => listenSecret, now: () => Date.now() });
    // No scheme: a local address is taken as http://.
    const forwardTo = local.url.slice("http://".length);
    const first = await listen(["--forward-to", forwardTo, "--relay", relay], env);
    listenSecret = first.secret;
    expect(first.err()).toContain(`a new signing secret for ${relay}`);
    expect(first.err()).toContain(`to ${local.url}`);
    expect(first.err()).toContain("what a subscription gets by default");
    const file = join(dir, "config", "quanmiao-relay", "listen-secrets.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // An opt-in type is neither forwarded by default nor sent to a default subscription.
    const running = await run(["trigger", "video_analysis.running"], env);
    expect(running.code).toBe(0);
    expect(running.out).toContain("no subscription receives video_analysis.running");
    const triggered = await run(["trigger", "video_analysis.succeeded"], env);
    expect(triggered.code).toBe(0);
    const eventId = /^triggered (evt_[0-9a-f]{32}) \(video_analysis\.succeeded, llm-sample\/(sample-[0-9a-f]+)\)/m.exec(
      triggered.out,
    );
    expect(eventId, triggered.out).not.toBeNull();
    const [, evt, taskId] = eventId as unknown as [string, string, string];
    expect(triggered.out).toMatch(/msg_[0-9a-f]{32} +wh_[0-9a-f]+ +http:\/\/127\.0\.0\.1:\d+\/hook +new/);
    // The table lists subscriptions; the session running here is named apart, as one not in it.
    expect(triggered.err).toContain("not listed above: a running `listen` session forwards it too");

    await vi.waitFor(() => expect(local.received).toHaveLength(1), { timeout: 10_000 });
    const forwarded = local.received[0];
    expect(forwarded?.verifyError).toBeUndefined();
    expect(forwarded?.verified).toMatchObject({ type: "video_analysis.succeeded", data: { taskId } });
    expect(eventSchemaErrors(forwarded?.verified)).toBeUndefined();
    const msgId = String(forwarded?.headers["webhook-id"]);
    await vi.waitFor(
      () =>
        expect(first.out()).toMatch(
          new RegExp(
            `\\n${TIME}  → video_analysis\\.succeeded  llm-sample/${taskId}  \\[200\\] \\d+ ms  ${evt}  ${msgId}\\n`,
          ),
        ),
      { timeout: 5_000 },
    );
    expect(first.out()).not.toContain("video_analysis.running");

    // The subscriber gets it from the relay's next run.
    expect((await run(["tick"], env)).code).toBe(0);
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.received[0]?.verifyError).toBeUndefined();
    expect(subscriber.received[0]?.verified).toMatchObject({ type: "video_analysis.succeeded", data: { taskId } });
    const delivery = String(subscriber.received[0]?.headers["webhook-id"]);

    const resent = await run(["events", "resend", evt], env);
    expect(resent.code).toBe(0);
    expect(resent.out).toContain(`resending ${evt}`);
    expect(resent.out).toMatch(new RegExp(`${delivery} +wh_[0-9a-f]+ +\\S+ +again \\(attempt 2\\)`));
    expect((await run(["tick"], env)).code).toBe(0);
    expect(subscriber.received).toHaveLength(2);
    expect(subscriber.received[1]?.headers["webhook-id"]).toBe(delivery);
    expect(subscriber.received[1]?.body).toBe(subscriber.received[0]?.body);
    // listen forwards it again too, with the same message id, and says it was resent.
    await vi.waitFor(() => expect(local.received).toHaveLength(2), { timeout: 10_000 });
    expect(local.received[1]?.verified).toEqual(forwarded?.verified);
    expect(local.received[1]?.headers["webhook-id"]).toBe(msgId);
    await vi.waitFor(() => expect(first.out()).toMatch(new RegExp(`  ${evt}  ${msgId}  \\(resent\\)\\n`)), {
      timeout: 5_000,
    });
    await stop(first);

    // A restart signs with the same secret; --rotate-secret makes and keeps a new one.
    const again = await listen(["--forward-to", forwardTo, "--relay", relay], env);
    expect(again.secret).toBe(first.secret);
    expect(again.err()).toContain("the same on every start");
    await stop(again);
    const rotated = await listen(["--forward-to", forwardTo, "--relay", relay, "--rotate-secret"], env);
    expect(rotated.secret).not.toBe(first.secret);
    await stop(rotated);
    const after = await listen(["--forward-to", forwardTo, "--relay", relay, "--all-events"], env);
    expect(after.secret).toBe(rotated.secret);
    expect(after.err()).toContain("every event type");
    listenSecret = after.secret;
    expect((await run(["trigger", "video_analysis.running"], env)).code).toBe(0);
    await vi.waitFor(() => expect(local.received).toHaveLength(3), { timeout: 10_000 });
    expect(local.received[2]?.verified).toMatchObject({ type: "video_analysis.running" });
    // A progress event, printed with the part that finished.
    expect((await run(["trigger", "video_analysis.progress"], env)).code).toBe(0);
    await vi.waitFor(() => expect(local.received).toHaveLength(4), { timeout: 10_000 });
    expect(local.received[3]?.verified).toMatchObject({
      type: "video_analysis.progress",
      data: { part: "videoCaptionResult", result: { generateFinished: true } },
    });
    await vi.waitFor(
      () => expect(after.out()).toContain("→ video_analysis.progress · videoCaptionResult  llm-sample/"),
      {
        timeout: 5_000,
      },
    );
    await stop(after);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("says what is wrong: no relay running, unknown types, a remote URL without a scheme, an unknown event", async () => {
    const { env } = await setup();
    const closed = await listenOnLoopback((_req, res) => res.end());
    await closed.close();
    const refused = await run(["listen", "--forward-to", "localhost:3000/hook", "--relay", closed.url], env);
    // Nothing answering yet is worth trying again (exit 6), as the exit code table says.
    expect(refused.code).toBe(6);
    expect(refused.err).toContain(`nothing answers at ${closed.url} (ECONNREFUSED) — is \`npm start\``);
    expect(refused.err.trim().split("\n")).toHaveLength(1);

    const unknown = await run(["trigger", "video_analysis.done"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      'error: "video_analysis.done" is not an event type; the types are video_analysis.succeeded, ' +
        "video_analysis.failed, video_analysis.canceled, video_analysis.expired, video_analysis.running, " +
        "video_analysis.progress\n",
    );
    const events = await run(
      ["listen", "--forward-to", "localhost:3000", "--events", "video_analysis.failed,nope"],
      env,
    );
    expect(events.code).toBe(2);
    expect(events.err).toMatch(/--events: "nope" is not an event type; the types are video_analysis\.succeeded/);
    const remote = await run(["listen", "--forward-to", "example.com/hook"], env);
    expect(remote.code).toBe(2);
    expect(remote.err).toMatch(/"example\.com\/hook" has no scheme: .*write http:\/\/… or https:\/\/…/);
    const missing = await run(["events", "resend", "evt_0000"], env);
    expect(missing.code).toBe(4);
    expect(missing.err).toBe("error: no event with id evt_0000\n");
  });
});
