/**
 * The tablestore SDK's own compiled protobuf definitions: the emulator decodes requests and encodes
 * answers with exactly the messages the SDK uses. protobufjs messages are untyped here; the server
 * reads them through small typed views.
 */
import { createRequire } from "node:module";

interface Message {
  decode(bytes: Uint8Array): Record<string, unknown>;
  encode(value: Record<string, unknown>): { finish(): Uint8Array };
}

const compiled = createRequire(import.meta.url)("tablestore/lib/protocol/tablestore_compiled_proto.js") as {
  main: { proto: Record<string, Message> };
  filter: { proto: Record<string, Message> };
};

export function message(name: string): Message {
  const m = compiled.main.proto[name];
  if (!m) throw new Error(`no protobuf message ${name}`);
  return m;
}

export function filterMessage(name: string): Message {
  const m = compiled.filter.proto[name];
  if (!m) throw new Error(`no protobuf filter message ${name}`);
  return m;
}
