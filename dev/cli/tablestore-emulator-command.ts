/** `tablestore-emulator`: a local Tablestore in its own process, until Ctrl-C. */
import type { CliIo } from "../../lib/cli/io.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { loadKeyPair } from "../../lib/config.js";
import { InputError } from "../../lib/errors.js";
import { SIM_CREDENTIAL } from "../quanmiao-simulator/server.js";
import { EMULATOR_CREDENTIAL, EMULATOR_INSTANCE, startTablestoreEmulator } from "../tablestore-emulator/server.js";

/** Tablestore instance names: letters, digits and hyphens, 3 to 16, starting with a letter. */
const INSTANCE_NAME = /^[A-Za-z][A-Za-z0-9-]{2,15}$/;

export async function tablestoreEmulatorCommand(
  io: CliIo,
  options: { port: string; instance?: string },
): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError("--port must be 0 to 65535");
  const instance = options.instance ?? EMULATOR_INSTANCE;
  if (!INSTANCE_NAME.test(instance)) {
    throw new InputError(`--instance "${instance}" must be 3 to 16 letters, digits or hyphens, starting with a letter`);
  }
  // The API simulator's key, so one key serves both dev servers (the banner prints it), and the
  // AccessKey (and STS token) in ALIBABA_CLOUD_* when set, the one the relay would use; the
  // emulator's own key keeps working.
  const credentials = loadKeyPair(io.env);
  const emulator = await startTablestoreEmulator({
    port,
    instance,
    credentials: [EMULATOR_CREDENTIAL, SIM_CREDENTIAL, ...(credentials ? [credentials] : [])],
  });
  io.out(`${emulator.url}\n`);
  io.err(
    `Tablestore emulator listening on ${emulator.url} (instance "${emulator.instance}").\n` +
      "Point the relay at it: paste these lines in the terminal you run the relay from (in this project's folder):\n" +
      `  export RELAY_STORE=tablestore\n` +
      `  export TABLESTORE_ENDPOINT=${emulator.url}\n` +
      `  export TABLESTORE_INSTANCE=${emulator.instance}\n` +
      `  export ALIBABA_CLOUD_ACCESS_KEY_ID=${SIM_CREDENTIAL.accessKeyId}\n` +
      `  export ALIBABA_CLOUD_ACCESS_KEY_SECRET=${SIM_CREDENTIAL.accessKeySecret}\n` +
      "  npx quanmiao-relay init\n" +
      "That key is the API simulator's too: paste the lines `npx quanmiao-relay simulator` prints as well\n" +
      "(its QUANMIAO_ENDPOINT), and `npm start` or `tick` runs on this emulator against the simulator." +
      (credentials ? ` Your own AccessKey (${credentials.accessKeyId}) works here as well.` : "") +
      "\nData lives in memory: after a restart, run init again. Ctrl-C stops it.\n",
  );
  await (io.stopSignal ?? untilSignal());
  await emulator.close();
  io.err(`tablestore emulator stopped: ${JSON.stringify(emulator.stats())}\n`);
}
