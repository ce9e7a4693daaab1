/** `tablestore-emulator`: a local Tablestore in its own process, until Ctrl-C. */
import type { CliIo } from "../../lib/cli/io.js";
import { untilSignal } from "../../lib/cli/signals.js";
import { InputError } from "../../lib/errors.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../tablestore-emulator/server.js";

export async function tablestoreEmulatorCommand(io: CliIo, options: { port: string }): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError("--port must be 0 to 65535");
  const emulator = await startTablestoreEmulator({ port });
  io.out(`${emulator.url}\n`);
  io.err(
    `Tablestore emulator listening (instance "${emulator.instance}"). Connect with:\n` +
      `  TABLESTORE_ENDPOINT=${emulator.url} TABLESTORE_INSTANCE=${emulator.instance}\n` +
      `  AccessKey ${EMULATOR_CREDENTIAL.accessKeyId} / ${EMULATOR_CREDENTIAL.accessKeySecret}\n` +
      `Data lives in memory and is gone when it stops. Ctrl-C stops it.\n`,
  );
  await (io.stopSignal ?? untilSignal());
  await emulator.close();
  io.err(`tablestore emulator stopped: ${JSON.stringify(emulator.stats())}\n`);
}
