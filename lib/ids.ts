/**
 * Identifiers. Event and delivery ids are derived from what they identify, so a re-run after a
 * crash writes the same rows instead of new ones; a delivery's id is its `webhook-id` header.
 * Standard Webhooks ids must not contain `.`: these are prefix + lowercase hex.
 */
import { createHash, randomBytes, randomFillSync } from "node:crypto";

function digest(...parts: string[]): string {
  // Length-prefixed, so no two different part lists can produce the same input.
  return createHash("sha256")
    .update(parts.map((p) => `${p.length}:${p}`).join(""))
    .digest("hex")
    .slice(0, 32);
}

/** `part` tells a task's progress events apart (one per finished sub-result). */
export function eventId(workspaceId: string, taskId: string, type: string, part?: string): string {
  return `evt_${part === undefined ? digest(workspaceId, taskId, type) : digest(workspaceId, taskId, type, part)}`;
}

export function deliveryId(eventIdValue: string, targetId: string): string {
  return `msg_${digest(eventIdValue, targetId)}`;
}

/** Per-task webhook URLs have no webhook row; this stands in for its id. */
export function taskTargetId(url: string): string {
  return `task:${digest(url).slice(0, 16)}`;
}

export type RandomBytes = (size: number) => Buffer;

export function newWebhookId(random: RandomBytes = randomBytes): string {
  return `wh_${random(12).toString("hex")}`;
}

// One getrandom call per 4 KiB rather than per id: span ids are made for every request.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

/** `bytes` random bytes as lowercase hex, drawn from a pooled buffer (at most 256 bytes a call). */
export function randomHex(bytes: number): string {
  if (bytes > 256) throw new RangeError("randomHex draws at most 256 bytes");
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const hex = POOL.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}
