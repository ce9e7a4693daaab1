/** `tablestore-emulator`: a local Tablestore in its own process, until Ctrl-C. */
import type { CliIo } from "../../lib/cli/io.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { loadKeyPair } from "../../lib/config.js";
import { InputError } from "../../lib/errors.js";
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
  // The AccessKey (and STS token) the relay itself would use, so one set of credentials serves the
  // emulator and the simulator together; the emulator's own key keeps working.
  const credentials = loadKeyPair(io.env);
  const emulator = await startTablestoreEmulator({
    port,
    instance,
    credentials: credentials ? [EMULATOR_CREDENTIAL, credentials] : [EMULATOR_CREDENTIAL],
  });
  io.out(`${emulator.url}\n`);
  io.err(
    `Tablestore emulator listening (instance "${emulator.instance}"). Connect with:\n` +
      `  TABLESTORE_ENDPOINT=${emulator.url} TABLESTORE_INSTANCE=${emulator.instance}\n` +
      (credentials
        ? `  the AccessKey in ALIBABA_CLOUD_ACCESS_KEY_ID (${credentials.accessKeyId}), or `
        : "  AccessKey ") +
      `${EMULATOR_CREDENTIAL.accessKeyId} / ${EMULATOR_CREDENTIAL.accessKeySecret}\n` +
      `Data lives in memory and is gone when it stops. Ctrl-C stops it.\n`,
  );
  await (io.stopSignal ?? untilSignal());
  await emulator.close();
  io.err(`tablestore emulator stopped: ${JSON.stringify(emulator.stats())}\n`);
}
