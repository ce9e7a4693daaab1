/** `webhooks add --format` and `webhooks add --eventbridge`: what is stored and listed, and each refusal. */
import { describe, expect, it } from "vitest";
import { EXIT } from "../../../lib/cli.js";
import { cliEnv, runCli } from "../../support/cli.js";

const OWN = { FC_REGION: "cn-beijing", FC_ACCOUNT_ID: "1234567890123456" };

describe("webhooks add: formats and EventBridge buses", () => {
  it("--format and --eventbridge are stored, and list shows the format column and the bus", async () => {
    const { env } = await cliEnv();
    const structured = await runCli(
      [
        "webhooks",
        "add",
        "http://127.0.0.1:9/s",
        "--format",
        "cloudevents-structured",
        "--event",
        "video_analysis.failed",
      ],
      env,
    );
    expect(structured.code, structured.err).toBe(EXIT.ok);
    expect(JSON.parse(structured.out)).toMatchObject({
      format: "cloudevents-structured",
      eventBridge: null,
      events: ["video_analysis.failed"],
    });
    const own = await runCli(["webhooks", "add", "--eventbridge", "relay-events", "--workspace", "llm-a"], {
      ...env,
      ...OWN,
    });
    expect(own.code, own.err).toBe(EXIT.ok);
    expect(JSON.parse(own.out)).toMatchObject({
      url: "acs:eventbridge:cn-beijing:1234567890123456:eventbus/relay-events",
      format: null,
      eventBridge: { busName: "relay-events", region: "cn-beijing", accountId: "1234567890123456" },
      workspaceId: "llm-a",
    });
    const given = await runCli(
      ["webhooks", "add", "--eventbridge", "b2", "--region", "cn-hangzhou", "--account-id", "42", "--rate-limit", "5"],
      env,
    );
    expect(JSON.parse(given.out)).toMatchObject({
      url: "acs:eventbridge:cn-hangzhou:42:eventbus/b2",
      rateLimitPerSecond: 5,
    });

    const table = (await runCli(["webhooks", "list"], env)).out.split("\n");
    expect(table[0]).toMatch(/^ID\s+URL\s+STATE\s+CIRCUIT\s+EVENTS\s+WORKSPACE\s+RATE LIMIT\s+FORMAT$/);
    expect(table.find((l) => l.includes("http://127.0.0.1:9/s"))).toMatch(/\s-\s+cloudevents-structured$/);
    expect(table.find((l) => l.includes("eventbus/relay-events"))).toMatch(/llm-a\s+-\s+eventbridge$/);
    expect(table.find((l) => l.includes("eventbus/b2"))).toMatch(/5\/s\s+eventbridge$/);
    const listed = JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out).items;
    expect(listed.map((w: { format: string | null }) => w.format).sort()).toEqual([
      "cloudevents-structured",
      null,
      null,
    ]);
  });

  it.each([
    [
      ["http://127.0.0.1:9/h", "--format", "cloudevents"],
      /--format: must be one of standard, cloudevents-structured, cloudevents-binary/,
    ],
    [["--eventbridge", "default"], /--eventbridge: "default" is the bus of Alibaba Cloud services' own events/],
    [["--eventbridge", "eventbridge-reserved-x"], /--eventbridge: .*reserved by EventBridge/],
    [["--eventbridge", "bad_name"], /--eventbridge: "bad_name" is not an event bus name/],
    [["--eventbridge", "b", "--region", "Hangzhou"], /--region: must be a region id like cn-hangzhou/],
    [["--eventbridge", "b", "--region", "cn-hangzhou", "--account-id", "x1"], /--account-id: must be an Alibaba/],
    [
      ["--eventbridge", "b"],
      /--region: the relay does not know its own region and account .*pass --region and --account-id/,
    ],
    [
      ["--eventbridge", "b", "--region", "cn-hangzhou", "--account-id", "1", "--format", "cloudevents-binary"],
      /--format: an EventBridge target always receives CloudEvents/,
    ],
    [
      ["--eventbridge", "b", "--region", "cn-hangzhou", "--account-id", "1", "--header", "X-A: 1"],
      /--header: an EventBridge target takes no custom headers/,
    ],
    [
      ["http://127.0.0.1:9/h", "--eventbridge", "b"],
      /--eventbridge: give url \(an endpoint\) or --eventbridge \(a bus\), not both/,
    ],
    [["http://127.0.0.1:9/h", "--region", "cn-hangzhou"], /--region: goes with --eventbridge <bus>/],
    [
      ["http://127.0.0.1:9/h", "--format", "cloudevents-binary", "--header", "ce-x: 1"],
      /--header: "ce-x": ce-\* headers/,
    ],
    [[], /url: must be given: the endpoint's URL, or --eventbridge/],
  ])("refuses %j, naming the option", async (args, message) => {
    const { env } = await cliEnv();
    const r = await runCli(["webhooks", "add", ...args], env);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(message);
    expect(JSON.parse((await runCli(["webhooks", "list", "--json"], env)).out).items).toEqual([]);
  });
});
