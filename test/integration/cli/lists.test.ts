import { describe, expect, it, onTestFinished } from "vitest";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { cliEnv, runCli } from "../../support/cli.js";
import { seedDeliveries } from "../../support/lists.js";

describe("the CLI's lists", () => {
  it("deliveries list: newest first with time, event type, endpoint, status and attempts; --failed; paging", async () => {
    const { env } = await cliEnv();
    const store = new SqliteStore(env.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    await seedDeliveries(store);

    const listed = await runCli(["deliveries", "list"], env);
    expect(listed.code).toBe(0);
    const lines = listed.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME +EVENT TYPE +ENDPOINT +STATUS +ATTEMPTS +LAST +ID +ERROR$/);
    expect(lines.slice(1).map((l) => l.match(/msg_\d/)?.[0])).toEqual(["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"]);
    expect(lines[1]).toMatch(
      /^2026-12-01T09:04:00Z +video_analysis\.failed +https:\/\/main\.example\/hook +pending +0 +- +msg_4/,
    );
    expect(lines[2]).toMatch(/dead +1 +410 +msg_3 +HTTP 410$/);

    const failed = await runCli(["deliveries", "list", "--failed"], env);
    expect(failed.out.match(/msg_\d/g)).toEqual(["msg_3", "msg_1"]);
    expect((await runCli(["deliveries", "list", "--status", "failed"], env)).out).toBe(failed.out);

    const first = await runCli(["deliveries", "list", "--limit", "3", "--json"], env);
    const page = JSON.parse(first.out);
    expect(page.items.map((d: { id: string }) => d.id)).toEqual(["msg_4", "msg_3", "msg_2"]);
    expect(page.items[0]).toMatchObject({ createdAt: "2026-12-01T09:04:00.000Z", url: "https://main.example/hook" });
    const rest = JSON.parse(
      (await runCli(["deliveries", "list", "--limit", "3", "--cursor", page.next, "--json"], env)).out,
    );
    expect(rest).toMatchObject({ items: [{ id: "msg_1" }, { id: "msg_0" }], next: null });
    // In a table, the next page's cursor goes to stderr, so the table stays clean.
    const table = await runCli(["deliveries", "list", "--limit", "3"], env);
    expect(table.err).toBe(`more: repeat with --cursor ${page.next}\n`);

    const bad = await runCli(["deliveries", "list", "--status", "banana"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--status.*failed/);
    expect((await runCli(["deliveries", "list", "--since", "yesterday-ish"], env)).err).toMatch(/--since/);
    expect((await runCli(["deliveries", "list", "--since", "2026-12-01T09:03:00Z", "--json"], env)).out).toMatch(
      /msg_4[\s\S]*msg_3/,
    );
  });

  it("events list and tasks list: newest first", async () => {
    const { env } = await cliEnv();
    const store = new SqliteStore(env.RELAY_STORE.slice("sqlite:".length));
    onTestFinished(() => store.close());
    for (const i of [0, 1])
      await store.createEvent({
        id: `evt_${i}`,
        type: "video_analysis.succeeded",
        workspaceId: "w",
        taskId: `t${i}`,
        body: "{}",
        createdAtMs: Date.parse("2026-12-01T09:00:00Z") + i * 1_000,
      });
    const events = await runCli(["events", "list"], env);
    expect(events.out.split("\n")[0]).toMatch(/^TIME +TYPE +WORKSPACE +TASK +ID$/);
    expect(events.out.match(/evt_\d/g)).toEqual(["evt_1", "evt_0"]);
    for (const [i, id] of ["t-a", "t-b"].entries()) await store.registerTask({ workspaceId: "w", taskId: id }, i);
    expect((await runCli(["tasks", "list"], env)).out.match(/t-[ab]/g)).toEqual(["t-b", "t-a"]);
  });
});
