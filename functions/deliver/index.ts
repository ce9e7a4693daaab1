/** FC deliver function: attempts a batch of delivery ids that poll handed over by async invocation. */
import { parseBatchPayload } from "../../lib/delivery/fanout.js";
import { budgetFrom, type FcContext } from "../../lib/fc/context.js";
import { instanceRelay } from "../../lib/fc/instance-relay.js";

const instance = instanceRelay(process.env);

export async function handler(event: unknown, ctx: FcContext) {
  // An unreadable event is an empty batch, logged, never retried.
  const ids = parseBatchPayload(event);
  const relay = await instance.open(ctx);
  const counts =
    ids.length === 0
      ? { delivered: 0, retried: 0, dead: 0, errors: 0 }
      : await relay.deliver(ids, budgetFrom(ctx, relay.config.tick));
  instance.log({ level: "info", msg: "deliver", requestId: ctx.requestId, batch: ids.length, ...counts });
  return counts;
}
