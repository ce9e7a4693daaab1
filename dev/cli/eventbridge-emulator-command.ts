/** `eventbridge-emulator`: a local EventBridge data plane (PutEvents) in its own process, until Ctrl-C. */
import type { CliIo } from "../../lib/cli/io.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { loadKeyPair } from "../../lib/config.js";
import { InputError } from "../../lib/errors.js";
import { checkBusName } from "../../lib/webhook-targets.js";
import { EVENTBRIDGE_EMULATOR_CREDENTIAL, startEventBridgeEmulator } from "../eventbridge-emulator/server.js";
import { SIM_CREDENTIAL } from "../quanmiao-simulator/server.js";

/** The bus a relay's docs and examples publish to, when none is named. */
export const EMULATOR_DEFAULT_BUS = "relay-events";

export async function eventBridgeEmulatorCommand(io: CliIo, options: { port: string; bus: string[] }): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError("--port must be 0 to 65535");
  // The names a subscription may be registered with, and no other: a bus no subscription can name is no use.
  const buses = options.bus.length > 0 ? options.bus.map((b) => checkBusName(b, "--bus")) : [EMULATOR_DEFAULT_BUS];
  // As the Tablestore emulator: its own key, the simulator's, and the relay's own when set.
  const credentials = loadKeyPair(io.env);
  const emulator = await startEventBridgeEmulator({
    port,
    buses,
    credentials: [EVENTBRIDGE_EMULATOR_CREDENTIAL, SIM_CREDENTIAL, ...(credentials ? [credentials] : [])],
  });
  io.out(`${emulator.url}\n`);
  io.err(
    `EventBridge emulator listening on ${emulator.url} (buses: ${buses.join(", ")}).\n` +
      "Point the relay at it: paste these lines in the terminal you start the relay from (a relay already\n" +
      "running reads them only when restarted; `npm start`'s sandbox has an emulator of its own):\n" +
      `  export RELAY_EVENTBRIDGE_ENDPOINT=${emulator.url}\n` +
      "  export FC_ACCOUNT_ID=1234567890 FC_REGION=cn-hangzhou\n" +
      "It takes the API simulator's key (and yours, when ALIBABA_CLOUD_* is set). Ctrl-C stops it.\n",
  );
  await (io.stopSignal ?? untilSignal());
  await emulator.close();
  io.err(`eventbridge emulator stopped: ${emulator.taken()} events taken\n`);
}
