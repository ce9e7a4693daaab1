/** `quanmiao-relay eventbridge-emulator`: its banner's lines, set as printed, make the relay publish to it. */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL } from "../../../dev/quanmiao-simulator/server.js";
import { EXIT, main } from "../../../lib/cli.js";
import { openRelay } from "../../../lib/relay.js";
import { runCli } from "../../support/cli.js";
import { busWebhook, seedDeliveries } from "../../support/eventbridge.js";
import { tempDir } from "../../support/relay.js";

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe("the eventbridge-emulator command", () => {
  it("prints its URL first and the lines that point the relay at it; the relay publishes there with the simulator's key", async () => {
    let out = "";
    let err = "";
    let stop: () => void = () => {};
    const stopSignal = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const exited = main(["eventbridge-emulator", "--port", "0", "--bus", "orders"], {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      env: {},
      stopSignal,
    });
    onTestFinished(() => stop());
    await until(() => err.includes("Ctrl-C stops it."), "the banner");
    const url = out.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const exports = Object.fromEntries(
      [...err.matchAll(/^ {2}export (.+)$/gm)].flatMap((m) =>
        (m[1] ?? "").split(" ").map((pair) => pair.split("=") as [string, string]),
      ),
    );
    expect(exports).toEqual({ RELAY_EVENTBRIDGE_ENDPOINT: url, FC_ACCOUNT_ID: "1234567890", FC_REGION: "cn-hangzhou" });

    const relay = await openRelay({
      env: {
        RELAY_STORE: `sqlite:${join(tempDir(), "relay.db")}`,
        ALIBABA_CLOUD_ACCESS_KEY_ID: SIM_CREDENTIAL.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: SIM_CREDENTIAL.accessKeySecret,
        ...exports,
      },
    });
    onTestFinished(() => relay.close());
    await relay.store.createWebhook(busWebhook("wh_bus", "orders"));
    const { ids } = await seedDeliveries(relay.store, "wh_bus", 2, Date.now());
    expect(await relay.deliver(ids, 10_000)).toMatchObject({ delivered: 2 });

    stop();
    expect(await exited).toBe(EXIT.ok);
    expect(err).toMatch(/eventbridge emulator stopped: 2 events taken\n$/);
  });

  it("names a bad --bus or --port", async () => {
    const bus = await runCli(["eventbridge-emulator", "--bus", "no spaces"]);
    expect(bus.code).not.toBe(EXIT.ok);
    expect(bus.err).toMatch(/--bus: "no spaces" is not an event bus name/);
    // The names a subscription cannot be registered with are refused here too.
    expect((await runCli(["eventbridge-emulator", "--bus", "default"])).err).toMatch(/--bus: .*custom bus/);
    const port = await runCli(["eventbridge-emulator", "--port", "70000"]);
    expect(port.err).toMatch(/--port must be 0 to 65535/);
  });
});
