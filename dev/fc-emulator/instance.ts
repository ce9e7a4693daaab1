/**
 * One emulated FC instance: a process that loads a function's handler once (its cold start) and
 * then runs one invocation at a time, as FC 3.0's built-in runtimes do, driven over IPC.
 *
 * The program is plain JavaScript handed to `node -e`, not a file: the emulator runs from source
 * under vitest and from dist/ in benchmarks, and a child process cannot load TypeScript, so a
 * script file would have to be looked for in a build output. Arguments: <handler module> [export].
 */
export const INSTANCE_PROGRAM = `
const { pathToFileURL } = require("node:url");
const send = (message) => process.send && process.send(message);
(async () => {
  const [modulePath, exportName = "handler"] = process.argv.slice(1);
  if (!modulePath) throw new Error("usage: <handler module> [export]");
  const mod = await import(pathToFileURL(modulePath).href);
  const handler = mod[exportName] ?? (mod.default && mod.default[exportName]);
  if (typeof handler !== "function") throw new Error(modulePath + ' exports no function "' + exportName + '"');
  process.on("message", (message) => {
    (async () => {
      try {
        const result = await handler(Buffer.from(message.event, "base64"), message.context);
        send({ requestId: message.requestId, ok: true, result: result ?? null });
      } catch (error) {
        send({ requestId: message.requestId, ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  send({ ready: true });
})().catch((error) => {
  process.stderr.write((error instanceof Error ? error.stack || error.message : String(error)) + "\\n");
  process.exit(1);
});
`;
