/** FC timer function: one relay run per tick. Per-item failures never throw (FC would retry the run). */
import { budgetFrom, contextCredentials, type FcContext, parseTimerEvent } from "../../lib/fc/context.js";
import { jsonLog } from "../../lib/log.js";
import { openRelay, type Relay } from "../../lib/relay.js";
import type { TickSummary } from "../../lib/tick.js";

let relay: Promise<Relay> | undefined;
let context: FcContext | undefined;

export async function handler(event: unknown, ctx: FcContext): Promise<TickSummary> {
  context = ctx;
  const trigger = parseTimerEvent(event);
  const log = jsonLog((line) => process.stdout.write(line), process.env.RELAY_LOG_LEVEL);
  relay ??= openRelay({ env: process.env, credentials: () => contextCredentials(context), log }).catch((error) => {
    relay = undefined; // a bad start is not cached: the next tick tries again
    throw error;
  });
  const summary = await (await relay).tick(budgetFrom(ctx, process.env));
  log({
    level: "info",
    msg: "tick",
    requestId: ctx.requestId,
    trigger: trigger.triggerName,
    triggerTime: trigger.triggerTime,
    ...summary,
  });
  return summary;
}
