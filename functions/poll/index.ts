/** FC timer function: one relay run per tick. Per-item failures never throw (FC would retry the run). */
import { budgetFrom, type FcContext, parseTimerEvent } from "../../lib/fc/context.js";
import { instanceRelay } from "../../lib/fc/instance-relay.js";
import type { TickSummary } from "../../lib/run/run.js";

const instance = instanceRelay(process.env);

export async function handler(event: unknown, ctx: FcContext): Promise<TickSummary> {
  const trigger = parseTimerEvent(event);
  const relay = await instance.open(ctx);
  const summary = await relay.tick(budgetFrom(ctx, relay.config.tick));
  instance.log({
    level: "info",
    msg: "tick",
    requestId: ctx.requestId,
    trigger: trigger.triggerName,
    triggerTime: trigger.triggerTime,
    ...summary,
  });
  return summary;
}
