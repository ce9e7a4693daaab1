/// <reference lib="dom" />
/**
 * The console's detail pages: one delivery with its attempts, and one task with its events and
 * deliveries.
 *
 * Runs in the browser: page.ts sends this function's source text, so it uses nothing from outside
 * its own body but what it is given.
 */
import type { ConsoleKit, Json } from "./kit.js";
import type { ConsoleLists } from "./lists.js";

export function consoleDetails(kit: ConsoleKit, lists: ConsoleLists) {
  const { api, badge, el, eventLabel, shortId, show, table, when } = kit;
  type Cell = Node | string;

  const facts = (pairs: Array<[string, Cell]>) =>
    el("dl", {}, ...pairs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));

  /**
   * An attempt's outcome in words: a 2xx answer is a success, whatever else the record holds; a
   * failure without an answer says which kind (timeout, connection, dns, ...).
   */
  function outcome(a: Json): HTMLElement {
    const code = a.statusCode as number | null;
    if (code !== null && code >= 200 && code < 300) return badge("success", "ok");
    if (code !== null) return badge(`failed: HTTP ${code}`, "bad");
    return badge(`failed: ${show(a.failure ?? "no answer")}`, "bad");
  }

  /**
   * A circuit as a badge: an open one stands out and says when the one probe may go. The browser's
   * clock decides "probe due"; a few seconds of skew only moves that word.
   */
  function circuit(c: Json | null | undefined): HTMLElement {
    if (!c) return el("span", { text: "-" });
    const n = c.consecutiveFailures === 1 ? "1 failure" : `${c.consecutiveFailures} failures`;
    if (c.state === "closed") return el("span", { text: c.consecutiveFailures ? `closed (${n})` : "closed" });
    if (c.state === "probing") return el("span", { class: "circuit probing", text: `probing (${n})` });
    const due = Date.parse(c.openUntil) <= Date.now();
    return el(
      "span",
      {},
      el("span", { class: "circuit open", text: due ? "open, probe due" : `open until ${when(c.openUntil)}` }),
      el("span", {
        class: "hint block",
        text: ` ${n}, opened ${when(c.openedAt)}, cool-down ${Math.round((c.cooldownMs ?? 0) / 1000)} s`,
      }),
    );
  }

  const taskHref = (ws: string, id: string) => `#/task/${encodeURIComponent(ws)}/${encodeURIComponent(id)}`;

  async function delivery(id: string, render: (nodes: HTMLElement[]) => void): Promise<void> {
    const { status, json: d } = await api("GET", `/v1/deliveries/${encodeURIComponent(id)}`);
    if (status === 404) return render([el("h1", { text: "Delivery" }), el("p", { text: `No delivery ${id}.` })]);
    const task = d.event ? `${d.event.workspaceId}/${d.event.taskId}` : "-";
    const attempts = ((d.attemptLog ?? []) as Json[]).map((a) => [
      when(a.at),
      `${a.durationMs} ms`,
      show(a.statusCode),
      outcome(a),
      el("code", { class: "answer", text: show(a.error ?? a.response) }),
    ]);
    render([
      el("h1", { text: "Delivery" }),
      facts([
        ["Message", el("code", { text: d.id })],
        ["Status", lists.deliveryStatus(d)],
        ["Event", el("span", {}, `${eventLabel(d.event, d.eventType)} `, el("code", { text: show(d.eventId) }))],
        ["Task", d.event ? el("a", { href: taskHref(d.event.workspaceId, d.event.taskId), text: task }) : "-"],
        [
          "Endpoint",
          el("span", { class: "url" }, `${d.url} `, el("span", { class: "hint", text: `(${d.webhookId})` })),
        ],
        ["Created", when(d.createdAt)],
        ["Attempts", String(d.attempts)],
      ]),
      el(
        "p",
        { class: "hint" },
        "The message id is the webhook-id header of every attempt: a replay sends the same one.",
      ),
      ...(d.status === "pending" ? [] : [lists.replayButton(d, () => delivery(id, render))]),
      el("h2", { text: "Attempts" }),
      el(
        "div",
        { class: "table" },
        table(
          "attempts",
          ["When", "Duration", "HTTP status", "Outcome", "Answer or error"],
          attempts,
          "No attempt yet: the first one leaves with the next run.",
        ),
      ),
    ]);
  }

  async function task(ws: string, id: string, render: (nodes: HTMLElement[]) => void): Promise<void> {
    const { status, json } = await api("GET", `/v1/tasks/${encodeURIComponent(ws)}/${encodeURIComponent(id)}`);
    if (status === 404) return render([el("h1", { text: "Task" }), el("p", { text: `No task ${ws}/${id}.` })]);
    const t = json.task as Json;
    const types = new Map(((json.events ?? []) as Json[]).map((e) => [e.id as string, eventLabel(e)]));
    render([
      el("h1", { text: `Task ${ws}/${id}` }),
      facts([
        ["State", t.state],
        ["Status", show(t.status)],
        ["Polls", String(t.pollCount)],
        ["Registered", when(t.registeredAt)],
        ["Finished", when(t.finishedAt)],
        ["Last error", show(t.lastError)],
      ]),
      ...(json.webhookCircuits?.length
        ? [
            el("h2", { text: "This task's own webhook URLs" }),
            el(
              "div",
              { class: "table" },
              table(
                "task webhook urls",
                ["URL", "Circuit"],
                (json.webhookCircuits as Json[]).map((w) => [
                  el("span", { class: "url", text: w.url }),
                  circuit(w.circuit),
                ]),
                "None.",
              ),
            ),
          ]
        : []),
      el("h2", { text: "Events" }),
      el(
        "div",
        { class: "table" },
        table(
          "events",
          ["Time", "Event", "Event id"],
          ((json.events ?? []) as Json[]).map((e) => [when(e.createdAt), eventLabel(e), shortId(e.id)]),
          "No events yet: one is made when the task changes state.",
        ),
      ),
      el("h2", { text: "Deliveries" }),
      el(
        "div",
        { class: "table" },
        table(
          "task deliveries",
          ["Time", "Event", "Endpoint", "Status", "Attempts", "Message"],
          ((json.deliveries ?? []) as Json[]).map((d) => [
            when(d.createdAt),
            types.get(d.eventId) ?? show(d.eventType),
            el("span", { class: "url", text: d.url }),
            lists.deliveryStatus(d),
            String(d.attempts),
            shortId(d.id, `#/delivery/${encodeURIComponent(d.id)}`),
          ]),
          "No deliveries: no endpoint was subscribed to this task's events.",
        ),
      ),
      el("h2", { text: "Timing" }),
      el("pre", { text: JSON.stringify(json.timing ?? null, null, 2) }),
    ]);
  }

  return { circuit, delivery, task };
}

export type ConsoleDetails = ReturnType<typeof consoleDetails>;
