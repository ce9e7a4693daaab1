import { onTestFinished } from "vitest";
import {
  SIM_CREDENTIAL,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../../dev/quanmiao-simulator/server.js";
import { createQuanmiaoClient, type QuanmiaoClient, type QuanmiaoClientOptions } from "../../lib/quanmiao/client.js";
import { staticCredentials } from "../../lib/quanmiao/credentials.js";
import { FakeClock } from "./fake-clock.js";

/** A simulator and a client on one fake clock, both closed after the test. */
export async function simulatorWithClient(
  simOptions: SimulatorOptions = {},
  clientOptions: Partial<QuanmiaoClientOptions> = {},
): Promise<{ sim: Simulator; client: QuanmiaoClient; clock: FakeClock }> {
  const clock = new FakeClock();
  const sim = await startSimulator({ clock, ...simOptions });
  const client = createQuanmiaoClient({
    endpoint: sim.url,
    credentials: staticCredentials(SIM_CREDENTIAL),
    clock,
    requestTimeoutMs: 5_000,
    ...clientOptions,
  });
  onTestFinished(async () => {
    await client.close();
    await sim.close();
  });
  return { sim, client, clock };
}

/** Awaits a promise expected to reject, and returns the rejection for closer checks. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}
