/**
 * `events resend <id>` and `trigger <type>`: an event (again, or a sample) queued for every
 * subscription that wants it; the running relay's next run sends it, as it sends everything. A
 * `listen` session forwards a triggered event as it forwards any new one, and a resent one again.
 */
import { deliveryView, eventView } from "../api/presenters.js";
import { TERMINAL_EVENT_TYPES } from "../events.js";
import { randomHex } from "../ids.js";
import { type Queued, queueEvent, resendEvent } from "../resend.js";
import { checkEventType, sampleEvent } from "../sample-events.js";
import { checkWorkspaceField } from "../tasks.js";
import type { CliIo } from "./io.js";
import { withRelay } from "./relay-commands.js";
import { shown, table } from "./table.js";

const isDefaultType = (type: string) => (TERMINAL_EVENT_TYPES as readonly string[]).includes(type);

const NEXT_RUN =
  "the running relay sends them on its next run (`npm start`: within RELAY_TICK_INTERVAL; else the next `tick`)";

/** Listen sessions are not stored, so no table can list them: said to stderr, apart from what is queued. */
const LISTENERS = (how: "too" | "again") =>
  `not listed above: a running \`listen\` session forwards it ${how}, if it follows this event's type\n`;

function report(io: CliIo, queued: Queued, json: boolean | undefined, what: string): void {
  if (json) {
    io.out(
      `${JSON.stringify(
        {
          event: eventView(queued.event),
          deliveries: [
            ...queued.created.map((d) => ({ ...deliveryView(d), queued: "new" })),
            ...queued.again.map((d) => ({ ...deliveryView(d), queued: "again" })),
          ],
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const { event } = queued;
  io.out(`${what} ${shown(event.id)} (${shown(event.type)}, ${shown(event.workspaceId)}/${shown(event.taskId)})\n`);
  const rows = [
    ...queued.created.map((d) => [d.id, d.webhookId, d.url, "new"]),
    ...queued.again.map((d) => [d.id, d.webhookId, d.url, `again (attempt ${d.attempts + 1})`]),
  ];
  if (rows.length === 0) {
    const subscribe = isDefaultType(event.type) ? "" : ` --event ${shown(event.type)}`;
    io.out(
      `no subscription receives ${shown(event.type)}, so no delivery is queued (\`webhooks add URL${subscribe}\` subscribes one)\n`,
    );
    return;
  }
  io.out(table(["MESSAGE", "ENDPOINT", "URL", "QUEUED"], rows));
  io.out(`${rows.length} ${rows.length === 1 ? "delivery" : "deliveries"} due now: ${NEXT_RUN}\n`);
}

export async function eventsResend(
  io: CliIo,
  id: string,
  options: { webhook?: string; json?: boolean },
): Promise<void> {
  const queued = await withRelay(io, (relay) => resendEvent(relay.store, id, relay.clock.now(), options.webhook));
  report(io, queued, options.json, "resending");
  if (!options.json && options.webhook === undefined) io.err(LISTENERS("again"));
}

export async function triggerCommand(
  io: CliIo,
  type: string,
  options: { workspace?: string; json?: boolean },
): Promise<void> {
  const eventType = checkEventType(type);
  const workspaceId =
    options.workspace === undefined ? undefined : checkWorkspaceField("--workspace", options.workspace);
  const queued = await withRelay(io, (relay) => {
    const nowMs = relay.clock.now();
    return queueEvent(relay.store, sampleEvent(eventType, nowMs, randomHex(8), workspaceId), nowMs);
  });
  report(io, queued, options.json, "triggered");
  if (!options.json) io.err(LISTENERS("too"));
}
