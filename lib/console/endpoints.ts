/// <reference lib="dom" />
/**
 * The console's endpoints (webhook subscriptions, `wh_…`): their state, circuit and last day, a
 * test send, enable or disable, and a new secret shown once.
 *
 * Runs in the browser: page.ts sends this function's source text, so it uses nothing from outside
 * its own body but what it is given.
 */
import type { ConsoleDetails } from "./details.js";
import type { ConsoleKit, Json } from "./kit.js";

export function consoleEndpoints(kit: ConsoleKit, details: ConsoleDetails) {
  const { api, badge, button, el, notice, show, table } = kit;

  /**
   * The new secret, once: it lives in this panel only, and goes with Done or with the next page
   * drawn. Nothing keeps it (the API will not show it again either).
   */
  function secretPanel(w: Json, secret: string, validUntil: string): HTMLElement {
    const field = el("input", {
      id: "new-secret",
      readonly: "",
      value: secret,
      "aria-label": "New signing secret",
      spellcheck: "false",
    }) as HTMLInputElement;
    const copied = el("span", { class: "hint", role: "status" });
    const copy = el("button", { type: "button", text: "Copy" });
    copy.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(secret);
      } catch {
        // Outside a secure context the clipboard API is missing; the selected text copies the old way.
        document.execCommand("copy");
      }
      copied.textContent = "Copied.";
    });
    const done = el("button", { type: "button", text: "Done" });
    const panel = el(
      "section",
      { class: "secret", "aria-label": "new secret" },
      el("h2", { text: `New secret for ${w.url}` }),
      el(
        "p",
        {},
        `Shown once: copy it to the receiver now. The old secret keeps signing until ${kit.when(validUntil)}, so the receiver can switch without missing a message.`,
      ),
      el("div", { class: "row" }, field, copy, done, copied),
    );
    done.addEventListener("click", () => panel.remove());
    return panel;
  }

  /** How events reach the endpoint: its format, or the EventBridge bus they are published to. */
  function targetText(w: Json): string {
    const bus = w.eventBridge as Json | null | undefined;
    if (bus) return `EventBridge bus ${bus.busName} (${show(bus.region)}, account ${show(bus.accountId)}), CloudEvents`;
    return w.format === "standard" || !w.format ? "Standard Webhooks JSON" : `${w.format}`;
  }

  async function endpoints(render: (nodes: HTMLElement[]) => void, shown?: HTMLElement): Promise<void> {
    const { json } = await api("GET", "/v1/webhooks?expand=last24h");
    const redraw = () => endpoints(render);
    const rows = ((json.items ?? []) as Json[]).map((w) => [
      el(
        "span",
        {},
        el("span", { class: "url", text: w.url }),
        el("span", { class: "hint block", text: w.id }),
        el("span", { class: "hint block", text: targetText(w) }),
      ),
      w.events ? (w.events as string[]).join(", ") : "terminal events",
      w.rateLimitPerSecond === null || w.rateLimitPerSecond === undefined ? "none" : `${w.rateLimitPerSecond}/s`,
      w.enabled
        ? badge("enabled", "ok")
        : el(
            "span",
            {},
            badge("disabled", "bad"),
            el("span", { class: "hint block", text: show(w.disabledReason).replace(/^disabled /, "") }),
          ),
      details.circuit(w.circuit),
      w.last24h
        ? el(
            "span",
            {},
            `${w.last24h.succeeded} ok / ${w.last24h.failed} failed`,
            el("span", { class: "hint block", text: `last: ${show(w.last24h.lastStatus)}` }),
          )
        : "-",
      el(
        "span",
        { class: "actions" },
        // A test send POSTs to a URL; an EventBridge bus has none.
        ...(w.eventBridge
          ? []
          : [
              button("Send test", async () => {
                const r = (await api("POST", `/v1/webhooks/${encodeURIComponent(w.id)}/test`)).json;
                const why = r.statusCode ? `HTTP ${r.statusCode}` : show(r.error);
                if (r.delivered) notice(`Test message to ${w.url}: delivered (${why}, ${r.durationMs} ms).`, "success");
                else notice(`Test message to ${w.url}: not delivered (${why}).`, "error");
              }),
            ]),
        w.enabled
          ? button(
              "Disable",
              async () => {
                await api("PATCH", `/v1/webhooks/${encodeURIComponent(w.id)}`, { enabled: false });
                await redraw();
                notice(`Disabled ${w.url}: nothing is sent to it until it is enabled again.`, "success");
              },
              {
                title: "Disable this endpoint?",
                text: `Nothing more is sent to ${w.url} until it is enabled again: new events make no messages for it, and its pending ones fail (they can be replayed later).`,
                action: "Disable",
              },
            )
          : button("Enable", async () => {
              await api("PATCH", `/v1/webhooks/${encodeURIComponent(w.id)}`, { enabled: true });
              await redraw();
              notice(`Enabled ${w.url}.`, "success");
            }),
        button(
          "Rotate secret",
          async () => {
            const r = (await api("POST", `/v1/webhooks/${encodeURIComponent(w.id)}/rotate-secret`)).json;
            await endpoints(render, secretPanel(w, r.secret, r.previousSecretValidUntil));
          },
          {
            title: "Rotate this endpoint's secret?",
            text: `A new secret signs messages to ${w.url} from now on; the old one also signs them for 24 hours more, then stops.`,
            action: "Rotate secret",
          },
        ),
      ),
    ]);
    render([
      el("h1", { text: "Endpoints" }),
      el("p", {
        class: "hint",
        text: "An endpoint (subscription, wh_…) is a URL that receives the events it subscribes to, each as a signed message (Standard Webhooks JSON or CloudEvents), or an EventBridge bus they are published to.",
      }),
      ...(shown ? [shown] : []),
      el(
        "div",
        { class: "table" },
        table(
          "endpoints",
          ["Endpoint", "Events", "Rate limit", "State", "Circuit", "Last 24 h", ""],
          rows,
          "No endpoints yet: subscribe one with quanmiao-relay webhooks add <url>, or POST /v1/webhooks.",
        ),
      ),
    ]);
  }

  return { endpoints };
}
