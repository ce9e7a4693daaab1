/**
 * The CLI's plain-text output never carries a raw control or bidi character, whatever the store
 * holds (rows written directly here, as an older relay or another tool could have), and it refuses
 * such characters when given them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { runCli } from "../../support/cli.js";
import { tempDir } from "../../support/relay.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = "\u001b[2J\u001b]0;pwned\u0007\r\nwh_fake  http://evil/  enabled\u202e";

function env() {
  const dir = tempDir();
  return { RELAY_STORE: `sqlite:${join(dir, "relay.db")}`, RELAY_ALLOW_PRIVATE_TARGETS: "true", dir };
}

describe("terminal output", () => {
  it("webhooks list, tasks list and tasks show escape what the store holds: no raw controls, no fake lines", async () => {
    const e = env();
    const store = new SqliteStore(e.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    await store.createWebhook({
      id: "wh_hostile",
      url: `http://127.0.0.1:9/${HOSTILE}`,
      secrets: [{ secret: "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }],
      events: undefined,
      workspaceId: `ws${HOSTILE}`,
      headers: {},
      enabled: false,
      disabledReason: `reason${HOSTILE}`,
      failingSinceMs: undefined,
      rateLimitPerSecond: undefined,
      format: undefined,
      eventBridge: undefined,
      createdAtMs: 0,
    });
    await store.registerTask({ workspaceId: "llm-a", taskId: `t${HOSTILE}`, submittedAtMs: 0, profile: HOSTILE }, 0);

    const webhooks = await runCli(["webhooks", "list"], e);
    expect(webhooks.code).toBe(EXIT.ok);
    expect(webhooks.out).not.toMatch(RAW);
    expect(webhooks.out.trimEnd().split("\n")).toHaveLength(2); // the header and the one row
    expect(webhooks.out).toContain("\\u001b[2J\\u001b]0;pwned\\u0007\\u000d\\u000awh_fake");
    expect(webhooks.out).toContain("\\u202e");

    const tasks = await runCli(["tasks", "list"], e);
    expect(tasks.out).not.toMatch(RAW);
    expect(tasks.out.trimEnd().split("\n")).toHaveLength(2);
    const shown = await runCli(["tasks", "show", "llm-a", `t${HOSTILE}`], e);
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.out).not.toMatch(RAW);
    expect(shown.out).not.toContain("\nwh_fake");
    // JSON output escapes them too, and still parses to what the store holds.
    const json = await runCli(["webhooks", "list", "--json"], e);
    expect(json.out).not.toMatch(RAW);
    expect(JSON.parse(json.out).items[0].url).toBe(`http://127.0.0.1:9/${HOSTILE}`);
  });

  it("refuses control characters given as arguments, with a one-line error naming the field", async () => {
    const e = env();
    const url = await runCli(["webhooks", "add", "http://127.0.0.1:9/\u001b[31mred"], e);
    expect(url.code).toBe(EXIT.usage);
    expect(url.err).toMatch(/^error: url: must not contain control .*\(U\+001B at position 19\)\n$/);
    const task = await runCli(["tasks", "add", "llm-a", "t\r\nfake"], e);
    expect(task.code).toBe(EXIT.usage);
    expect(task.err).not.toMatch(RAW);
    expect(task.err.trimEnd().split("\n")).toHaveLength(1);
    const header = await runCli(["webhooks", "add", "http://127.0.0.1:9/h", "--header", "X\u001b[2J: v"], e);
    expect(header.code).toBe(EXIT.usage);
    expect(header.err).not.toMatch(RAW);
  });

  it("tasks import checks every line first: too-deep or too-large metadata and control characters are reported by line", async () => {
    const e = env();
    const file = join(e.dir, "tasks.ndjson");
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    writeFileSync(
      file,
      [
        '{"workspaceId":"llm-a","taskId":"t1"}',
        `{"workspaceId":"llm-a","taskId":"t2","metadata":${deep}}`,
        `{"workspaceId":"llm-a","taskId":"t3","metadata":{"blob":"${"x".repeat(17_000)}"}}`,
        '{"workspaceId":"llm-a","taskId":"t4\\u001b[2J"}',
        "llm-a,t5",
      ].join("\n"),
    );
    const run = await runCli(["tasks", "import", file], e);
    expect(run.code).toBe(EXIT.failure);
    expect(JSON.parse(run.out)).toEqual({ imported: 2, alreadyRegistered: 0, rejected: 3 });
    expect(run.err).toMatch(/^line 2: metadata(\.a){32}: nests deeper than 32/m);
    expect(run.err).toMatch(/^line 3: metadata: must be at most 16384 bytes/m);
    expect(run.err).toMatch(/^line 4: taskId: must not contain control/m);
    expect(run.err).not.toMatch(RAW);
  });
});
