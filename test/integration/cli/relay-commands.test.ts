import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { recordRunTime, serializeModels } from "../../../lib/runtimes.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { cliEnv, runCli } from "../../support/cli.js";
import { startReceiver } from "../../support/receiver.js";

describe("relay CLI commands", () => {
  it("tasks add --profile, and tasks show prints what was learned about its run time", async () => {
    const { env } = await cliEnv();
    const store = new SqliteStore(env.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    // 25 ends of the profile, about 4 min each, as earlier runs would have recorded them.
    let models = {};
    for (let i = 0; i < 25; i++) models = recordRunTime(models, "full", 240_000 + i * 1_000);
    await store.compareAndSetSetting("runtimes:llm-cli", undefined, serializeModels(models));

    // A workspace with too few ends for a model says so, not "prior, 6 ends".
    let few = {};
    for (let i = 0; i < 6; i++) few = recordRunTime(few, "full", 240_000);
    await store.compareAndSetSetting("runtimes:llm-few", undefined, serializeModels(few));
    expect((await runCli(["tasks", "add", "llm-few", "t-few"], env)).code).toBe(EXIT.ok);
    expect((await runCli(["tasks", "show", "llm-few/t-few"], env)).out).toMatch(
      /learned from {6}nothing yet: the prior \(6 of the 10 ends a model needs\)\n/,
    );

    const added = await runCli(["tasks", "add", "llm-cli", "t-profiled", "--profile", "full", "--json"], env);
    expect(added.code).toBe(EXIT.ok);
    expect(JSON.parse(added.out).task.profile).toBe("full");
    const shown = await runCli(["tasks", "show", "llm-cli", "t-profiled"], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.out).toMatch(
      /Timing\n {2}detection target {2}10 s\n {2}learned from {6}profile \(profile full\), 25 ends\n/,
    );
    expect(shown.out).toMatch(/ {2}run time {10}p25 2\d\d s · p50 2\d\d s · p75 2\d\d s · p95 2\d\d s/);
    expect(shown.out).toMatch(/ {2}polled densely {4}\d+ s–\d+ s of run time/);
    const json = JSON.parse((await runCli(["tasks", "show", "llm-cli", "t-profiled", "--json"], env)).out);
    expect(json.timing).toMatchObject({
      learnedFrom: "profile",
      samples: 25,
      profile: "full",
      detectionTargetMs: 10_000,
    });
    const bad = await runCli(["tasks", "add", "llm-cli", "t-2", "--profile", "x".repeat(201)], env);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toMatch(/profile: must be 1 to 200 characters/);
  });

  it("tasks show says where failures keep to a fixed time and are planned apart from the video's length", async () => {
    const { env } = await cliEnv();
    const store = new SqliteStore(env.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    // 100 ends: every fifth a failure at ~20 s, the rest half as long as their 2–11 min videos.
    let models = {};
    for (let i = 0; i < 100; i++) {
      const videoMs = (2 + (i % 10)) * 60_000;
      const failed = i % 5 === 0;
      models = recordRunTime(models, undefined, failed ? 20_000 + (i % 7) * 100 : videoMs / 2, videoMs, failed);
    }
    await store.compareAndSetSetting("runtimes2:llm-cli", undefined, serializeModels(models));

    expect((await runCli(["tasks", "add", "llm-cli", "t-video", "--video-duration", "600"], env)).code).toBe(EXIT.ok);
    const shown = await runCli(["tasks", "show", "llm-cli", "t-video"], env);
    expect(shown.out).toMatch(/learned from {6}workspace, \d+ ends, per minute of video\n/);
    expect(shown.out).toMatch(/ {2}failures {10}20 % of ends, at ~20 s of run time whatever the video's length\n/);
    const { timing } = JSON.parse((await runCli(["tasks", "show", "llm-cli", "t-video", "--json"], env)).out);
    expect(timing.failuresApart).toEqual({ share: expect.closeTo(0.2, 1), p50Ms: expect.closeTo(20_300, -3) });
    // Polled around 20 s and around 5 min of run time (half the video), not in between.
    expect(timing.densePollingMs[0].fromMs).toBeLessThan(20_000);
    expect(timing.runTimeMs.p50).toBeGreaterThan(4 * 60_000);
  });

  it("webhooks add/list/disable/enable/rotate-secret/default-secret, tasks add/show, tick, deliveries list/replay", async () => {
    const { sim, env } = await cliEnv();
    let secrets: string[] = [];
    const rx = await startReceiver({ secret: () => secrets, now: () => Date.now() });

    const added = await runCli(["webhooks", "add", rx.url, "--header", "X-Tenant: acme"], env);
    expect(added.code).toBe(EXIT.ok);
    const hook = JSON.parse(added.out) as {
      id: string;
      url: string;
      secret: string;
      enabled: boolean;
      headers: string[];
    };
    expect(hook).toMatchObject({ url: rx.url, enabled: true, headers: ["X-Tenant"] });
    expect(hook.secret).toMatch(/^whsec_/);
    // The JSON's null (follow the defaults) is read for the newcomer, off stdout.
    expect(added.err).toContain(
      '"events": null receives the default types (video_analysis.succeeded, video_analysis.failed',
    );
    secrets = [hook.secret];

    const list = JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out).items as Array<{
      id: string;
      enabled: boolean;
    }>;
    expect(list.map((w) => [w.id, w.enabled])).toEqual([[hook.id, true]]);
    expect(JSON.parse((await runCli(["webhooks", "disable", hook.id], env)).out)).toMatchObject({
      enabled: false,
      disabledReason: "disabled by its owner",
    });
    expect((await runCli(["webhooks", "list"], env)).out).toContain("disabled: disabled by its owner");
    expect(JSON.parse((await runCli(["webhooks", "enable", hook.id], env)).out)).toMatchObject({ enabled: true });

    // Rotation: the new secret and the old one both sign for 24 h; a receiver holding either verifies.
    const rotated = JSON.parse((await runCli(["webhooks", "rotate-secret", hook.id], env)).out) as { secret: string };
    expect(rotated.secret).not.toBe(hook.secret);
    secrets = [hook.secret]; // this receiver has not switched yet

    const task = sim.addTask("llm-cli", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1_000 });
    const defaultSecret = (await runCli(["webhooks", "default-secret"], env)).out.trim();
    expect(defaultSecret).toMatch(/^whsec_/);
    const reg = await runCli(
      [
        "tasks",
        "add",
        "llm-cli",
        task.taskId,
        "--metadata",
        '{"order":7}',
        "--webhook",
        `${rx.url}/per-task`,
        "--json",
      ],
      env,
    );
    expect(JSON.parse(reg.out)).toMatchObject({ created: true, task: { metadata: { order: 7 } } });
    expect((await runCli(["tasks", "add", "llm-cli", task.taskId], env)).out).toBe(
      `already registered: llm-cli/${task.taskId}\n`,
    );

    const tick = await runCli(["tick"], env);
    expect(tick.code).toBe(EXIT.ok);
    expect(JSON.parse(tick.out)).toMatchObject({ polled: 1, events: 1, delivered: 2, errors: 0 });
    const toHook = rx.received.find((r) => r.headers["x-tenant"] === "acme");
    expect(toHook?.verified?.type).toBe("video_analysis.succeeded");
    expect(String(toHook?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    const toTaskUrl = rx.received.find((r) => r.headers["x-tenant"] === undefined);
    expect(toTaskUrl?.verifyError).toBeDefined(); // signed with the default secret, which this receiver lacks…
    secrets = [defaultSecret];
    expect(toTaskUrl).toBeDefined();

    const shown = JSON.parse((await runCli(["tasks", "show", "llm-cli", task.taskId, "--json"], env)).out);
    expect(shown.task).toMatchObject({ state: "done", status: "SUCCESSED" });
    expect(shown.events).toHaveLength(1);
    expect(shown.deliveries.map((d: { status: string }) => d.status)).toEqual(["delivered", "delivered"]);
    expect((await runCli(["tasks", "list", "--state", "done"], env)).out).toContain(task.taskId);

    const deliveries = JSON.parse((await runCli(["deliveries", "list", "--status", "delivered", "--json"], env)).out);
    expect(deliveries.items).toHaveLength(2);
    const replay = await runCli(["deliveries", "replay", deliveries.items[0].id], env);
    expect(replay.out).toContain("replaying");
    expect(JSON.parse((await runCli(["tick"], env)).out)).toMatchObject({ delivered: 1 });
    // …and verifies once it holds that secret: the replay carries the same webhook-id.
    const replayed = rx.received[rx.received.length - 1];
    expect(replayed?.headers["webhook-id"]).toBe(deliveries.items[0].id);
    expect(replayed?.verifyError === undefined || replayed?.headers["x-tenant"] === "acme").toBe(true);
  });

  it("a task named workspace/task splits at the first slash, which no workspace id holds", async () => {
    const { env } = await cliEnv();
    expect((await runCli(["tasks", "add", "llm-cli", "a/b"], env)).code).toBe(EXIT.ok);
    const shown = await runCli(["tasks", "show", "llm-cli/a/b", "--json"], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(JSON.parse(shown.out).task).toMatchObject({ workspaceId: "llm-cli", taskId: "a/b" });
    const refused = await runCli(["tasks", "add", "llm/cli", "b"], env);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.err).toMatch(/workspaceId: must not contain "\/": it is one segment of the Quanmiao API's paths/);
  });

  it("tasks import: good lines imported, bad ones reported by number, exit 1", async () => {
    const { env, dir } = await cliEnv();
    const file = join(dir, "tasks.csv");
    writeFileSync(
      file,
      [
        "workspaceId,taskId,submittedAt",
        "llm-a,t1,2026-11-25T10:00:00Z",
        "llm-a,",
        "llm-a,t2",
        '{"workspaceId":"llm-b","taskId":"t3"}',
        "{nope",
      ].join("\n"),
    );
    const result = await runCli(["tasks", "import", file], env);
    expect(result.code).toBe(EXIT.failure);
    expect(JSON.parse(result.out)).toEqual({ imported: 3, alreadyRegistered: 0, rejected: 2 });
    expect(result.err).toContain("line 3: taskId");
    expect(result.err).toContain("line 6: not valid JSON");
    const again = await runCli(["tasks", "import", file], env);
    expect(JSON.parse(again.out)).toEqual({ imported: 0, alreadyRegistered: 3, rejected: 2 });
    const listed = JSON.parse((await runCli(["tasks", "list", "--json"], env)).out);
    expect(listed.items.map((t: { taskId: string }) => t.taskId)).toEqual(["t3", "t2", "t1"]);
  });

  it.each([
    [["webhooks", "add", "not a url"], EXIT.usage, /url: "not a url" is not a URL/],
    [
      ["webhooks", "add", "localhost:3000/hook"],
      EXIT.usage,
      /url: "localhost:3000\/hook" has no scheme: write it as http:\/\/localhost:3000\/hook or https:/,
    ],
    [["webhooks", "add", "example.com"], EXIT.usage, /url: "example.com" has no scheme/],
    [["webhooks", "add", "http://127.0.0.1:0/h"], EXIT.usage, /url: port 0 cannot be connected to/],
    [
      ["webhooks", "add", "http://127.0.0.1:9/h", "--event", "video_analysis.done"],
      EXIT.usage,
      /^error: --event: "video_analysis.done" is not an event type/m,
    ],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--header", "webhook-id: x"], EXIT.usage, /cannot be overridden/],
    [["webhooks", "disable", "wh_nope"], EXIT.notFound, /no webhook with id wh_nope/],
    [["webhooks", "show", "wh_nope"], EXIT.notFound, /no webhook with id wh_nope/],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "0"], EXIT.usage, /--rate-limit: must be .* got 0$/m],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit=-2"], EXIT.usage, /--rate-limit: must be .* got -2$/m],
    [
      ["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "10001"],
      EXIT.usage,
      /--rate-limit: must be a number of requests per second from 0.0001 \(one every 10,000 s\) to 10000/,
    ],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "1e400"], EXIT.usage, /got Infinity$/m],
    [
      ["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "fast"],
      EXIT.usage,
      /--rate-limit: "fast" is not a number of requests per second/,
    ],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "0x10"], EXIT.usage, /"0x10" is not a number/],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", "Infinity"], EXIT.usage, /"Infinity" is not a number/],
    [["webhooks", "add", "http://127.0.0.1:9/h", "--rate-limit", ""], EXIT.usage, /"" is not a number/],
    [["tasks", "add", "llm-a", "t", "--metadata", "[1]"], EXIT.usage, /--metadata: must be a JSON object/],
    [
      ["tasks", "add", "llm-a", "t", "--metadata", '{"order":{"__proto__":{"a":1}}}'],
      EXIT.usage,
      /metadata\.order\.__proto__: is a key named __proto__/,
    ],
    [["tasks", "add", "llm-a", " "], EXIT.usage, /taskId/],
    [["tasks", "show", "llm-a", "missing"], EXIT.notFound, /no task llm-a\/missing/],
    [["tasks", "list", "--state", "odd"], EXIT.usage, /'--state <state>' argument 'odd' is invalid.*active, done/],
    [["tasks", "list", "--status", "banana"], EXIT.usage, /'banana' is invalid. Allowed choices are PENDING, RUNNING/],
    [
      ["deliveries", "list", "--status", "lost"],
      EXIT.usage,
      /'lost' is invalid. Allowed choices are pending, delivered/,
    ],
    [["deliveries", "replay", "msg_nope"], EXIT.notFound, /no delivery with id msg_nope/],
    [["tasks", "import", "/nonexistent/file.csv"], EXIT.usage, /cannot read/],
    [["tick", "--budget", "soon"], EXIT.usage, /--budget/],
  ])("%j → exit %i with a clear message, nothing written", async (argv, code, message) => {
    const { env } = await cliEnv();
    const result = await runCli(argv as string[], env);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
    expect(JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out)).toEqual({ items: [], next: null });
  });

  it("webhooks add --rate-limit stores it; list and show print it, a dash or null without one", async () => {
    const { env } = await cliEnv();
    const slow = await runCli(["webhooks", "add", "http://127.0.0.1:9/slow", "--rate-limit", "0.5"], env);
    expect(slow.code).toBe(EXIT.ok);
    const hook = JSON.parse(slow.out) as { id: string; rateLimitPerSecond: number | null };
    expect(hook.rateLimitPerSecond).toBe(0.5);
    const free = JSON.parse((await runCli(["webhooks", "add", "http://127.0.0.1:9/free"], env)).out);
    expect(free.rateLimitPerSecond).toBeNull();

    const shown = await runCli(["webhooks", "show", hook.id], env);
    expect(shown.code).toBe(EXIT.ok);
    expect(JSON.parse(shown.out)).toMatchObject({
      id: hook.id,
      url: "http://127.0.0.1:9/slow",
      rateLimitPerSecond: 0.5,
    });
    expect(shown.out).not.toContain("whsec_");
    expect(JSON.parse((await runCli(["webhooks", "show", free.id, "--json"], env)).out).rateLimitPerSecond).toBeNull();

    const listed = JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out).items as Array<{
      rateLimitPerSecond: number | null;
    }>;
    expect(listed.map((w) => w.rateLimitPerSecond)).toEqual([0.5, null]);
    const lines = (await runCli(["webhooks", "list"], env)).out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/ RATE LIMIT +FORMAT$/);
    expect(lines.find((l) => l.startsWith(hook.id))).toMatch(/ 0\.5\/s +standard$/);
    expect(lines.find((l) => l.startsWith(free.id))).toMatch(/ - +standard$/);
  });

  it("webhooks add refuses each hop-by-hop/connection header by name (exit 2), and keeps the others", async () => {
    const { env } = await cliEnv();
    const names = [
      "Transfer-Encoding",
      "expect",
      "UPGRADE",
      "Keep-Alive",
      "connection",
      "Host",
      "content-length",
      "TE",
      "trailer",
      "Proxy-Connection",
      "proxy-authenticate",
      "Proxy-Authorization",
    ];
    for (const name of names) {
      const result = await runCli(["webhooks", "add", "http://127.0.0.1:9/h", "--header", `${name}: x`], env);
      expect(result.code, name).toBe(EXIT.usage);
      expect(result.err).toBe(
        `error: headers: "${name}" is a hop-by-hop/connection header that the relay's HTTP client sets itself; it cannot be sent\n`,
      );
    }
    expect(JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out)).toEqual({ items: [], next: null });
    const kept = await runCli(
      ["webhooks", "add", "http://127.0.0.1:9/h", "--header", "Authorization: Bearer t", "--header", "X-Tenant: a"],
      env,
    );
    expect(kept.code).toBe(EXIT.ok);
    expect(JSON.parse(kept.out).headers).toEqual(["Authorization", "X-Tenant"]);
  });

  it("a bad RELAY_* variable is named in one configuration error (exit 3)", async () => {
    const { env } = await cliEnv();
    const result = await runCli(["tick"], {
      ...env,
      RELAY_RETRY_SCHEDULE: "0,5x",
      RELAY_STORE: "mysql:x",
      RELAY_POLL_INTERVAL_MIN: "5m",
      RELAY_POLL_INTERVAL_MAX: "1m",
    });
    expect(result.code).toBe(EXIT.config);
    expect(result.err).toContain("RELAY_RETRY_SCHEDULE");
    expect(result.err).toContain("RELAY_STORE");
  });

  it("every command that prints JSON takes --json, as scripts pass it everywhere", async () => {
    const { env, sim } = await cliEnv();
    const rx = await startReceiver({ secret: () => [], now: () => Date.now() });
    const json = async (argv: string[]) => {
      const result = await runCli([...argv, "--json"], env);
      expect(result.code, `${argv.join(" ")}: ${result.err}`).toBe(EXIT.ok);
      return JSON.parse(result.out);
    };
    expect(await json(["init"])).toMatchObject({ created: [] });
    const hook = await json(["webhooks", "add", rx.url]);
    expect(hook.secret).toMatch(/^whsec_/);
    expect(await json(["webhooks", "disable", hook.id])).toMatchObject({ enabled: false });
    expect(await json(["webhooks", "enable", hook.id])).toMatchObject({ enabled: true });
    expect(await json(["webhooks", "show", hook.id])).toMatchObject({ id: hook.id, rateLimitPerSecond: null });
    expect((await json(["webhooks", "rotate-secret", hook.id])).secret).toMatch(/^whsec_/);
    expect((await json(["webhooks", "default-secret"])).secret).toMatch(/^whsec_/);
    const task = sim.addTask("llm-cli", { outcome: "SUCCESSED", runMs: 0, submittedAtMs: Date.now() - 1_000 });
    await json(["tasks", "add", "llm-cli", task.taskId]);
    expect(await json(["tick"])).toMatchObject({ polled: 1, delivered: 1 });
    const [delivery] = (await json(["deliveries", "list"])).items;
    expect(await json(["deliveries", "replay", delivery.id])).toMatchObject({ id: delivery.id, status: "pending" });
    expect(await json(["webhooks", "delete", hook.id])).toEqual({ id: hook.id, deleted: true });
    // `remove`, as a newcomer typed it, is the same command.
    const other = await json(["webhooks", "add", rx.url]);
    expect(await json(["webhooks", "remove", other.id])).toEqual({ id: other.id, deleted: true });
  });
});
