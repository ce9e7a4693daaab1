/**
 * The EventBridge emulator for the benchmarks, in its own process, so that what it costs to check
 * signatures and parse events is not counted as the relay's: a bus named "bench" that counts what
 * it takes without keeping it. Prints its URL; on SIGINT prints the events it took.
 */
import { startEventBridgeEmulator } from "../dev/eventbridge-emulator/server.js";

const emulator = await startEventBridgeEmulator({ buses: ["bench"], record: false });
process.stdout.write(`${emulator.url}\n`);
process.on("SIGINT", () => {
  process.stderr.write(`${emulator.taken()}\n`);
  void emulator.close().then(() => process.exit(0));
});
