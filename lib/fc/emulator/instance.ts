/**
 * One emulated FC instance: a process that loads a function's handler once (its cold start) and
 * then runs one invocation at a time, as FC 3.0's built-in runtimes do. Driven over IPC by the
 * emulator; started as `node instance.js <handler module>`.
 */
import { pathToFileURL } from "node:url";

interface Invocation {
  readonly requestId: string;
  readonly event: string;
  readonly context: Record<string, unknown>;
}

type Handler = (event: Buffer, context: Record<string, unknown>) => unknown;

const send = (message: unknown) => process.send?.(message);

async function main(): Promise<void> {
  const [modulePath, exportName = "handler"] = process.argv.slice(2);
  if (!modulePath) throw new Error("usage: instance.js <handler module> [export]");
  const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const handler = (mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName]) as
    | Handler
    | undefined;
  if (typeof handler !== "function") throw new Error(`${modulePath} exports no function "${exportName}"`);
  process.on("message", (message: Invocation) => {
    void (async () => {
      try {
        const result = await handler(Buffer.from(message.event, "base64"), message.context);
        send({ requestId: message.requestId, ok: true, result: result ?? null });
      } catch (error) {
        send({
          requestId: message.requestId,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    })();
  });
  send({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
