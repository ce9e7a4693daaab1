/** FC deliver function: attempts a batch of delivery ids that poll handed over by async invocation. */
import { budgetFrom, contextCredentials, type FcContext } from "../../lib/fc/context.js";
import { jsonLog } from "../../lib/log.js";
import { openRelay, type Relay } from "../../lib/relay.js";

let relay: Promise<Relay> | undefined;
let context: FcContext | undefined;

/** `{"deliveryIds": ["msg_…", …]}`; anything else is an empty batch, logged, never retried. */
function deliveryIds(event: unknown): string[] {
  try {
    const parsed = JSON.parse(Buffer.isBuffer(event) ? event.toString("utf8") : String(event)) as {
      deliveryIds?: unknown;
    };
    return Array.isArray(parsed.deliveryIds)
      ? parsed.deliveryIds.filter((id): id is string => typeof id === "string").slice(0, 1000)
      : [];
  } catch {
    return [];
  }
}

export async function handler(event: unknown, ctx: FcContext) {
  context = ctx;
  const log = jsonLog((line) => process.stdout.write(line), process.env.RELAY_LOG_LEVEL);
  const ids = deliveryIds(event);
  relay ??= openRelay({ env: process.env, credentials: () => contextCredentials(context), log }).catch((error) => {
    relay = undefined;
    throw error;
  });
  const counts =
    ids.length === 0
      ? { delivered: 0, retried: 0, dead: 0, errors: 0 }
      : await (await relay).deliver(ids, budgetFrom(ctx, process.env));
  log({ level: "info", msg: "deliver", requestId: ctx.requestId, batch: ids.length, ...counts });
  return counts;
}
