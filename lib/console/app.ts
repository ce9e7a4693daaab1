/// <reference lib="dom" />
/**
 * The console's browser side: a login form that keeps the bearer token in this tab's session
 * storage (nothing is stored server-side), and views drawn from the JSON API with plain DOM calls.
 *
 * `consoleApp` runs in the browser: page.ts sends its source text, so it must use nothing from
 * outside its own body — no imports, no module-level names.
 */
export function consoleApp(): void {
  const TOKEN_KEY = "quanmiao-relay-token";
  const main = document.querySelector("main") as HTMLElement;
  const nav = document.querySelector("nav") as HTMLElement;
  const EVENT_TYPES = [
    "video_analysis.succeeded",
    "video_analysis.failed",
    "video_analysis.canceled",
    "video_analysis.expired",
    "video_analysis.running",
  ];

  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read as the views need it
  type Json = Record<string, any>;

  function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string | null>): HTMLElement {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null) node.append(c);
    return node;
  }

  function table(headers: string[], rows: Array<Array<Node | string>>, label: string): HTMLElement {
    return el(
      "table",
      { "aria-label": label },
      el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))),
    );
  }

  const when = (iso: unknown) => (typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");
  const show = (v: unknown) => (v === null || v === undefined ? "-" : String(v));

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
        class: "hint",
        text: ` ${n}, opened ${when(c.openedAt)}, cool-down ${Math.round((c.cooldownMs ?? 0) / 1000)} s`,
      }),
    );
  }

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const token = sessionStorage.getItem(TOKEN_KEY) ?? "";
    const res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      location.hash = "#/login";
      throw new Error("the token was refused");
    }
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
  }

  function button(text: string, onClick: () => Promise<void>): HTMLElement {
    const b = el("button", { type: "button", text });
    b.addEventListener("click", () => {
      b.setAttribute("disabled", "");
      onClick()
        .catch((error: unknown) => notice(String(error), "error"))
        .finally(() => b.removeAttribute("disabled"));
    });
    return b;
  }

  function notice(text: string, kind: "info" | "error" = "info"): void {
    const box = document.querySelector("#notice") as HTMLElement;
    box.textContent = text;
    box.className = kind;
  }

  function login(): void {
    nav.hidden = true;
    const input = el("input", { type: "password", name: "token", id: "token", autocomplete: "off", required: "" });
    const form = el(
      "form",
      { id: "login" },
      el("h1", { text: "quanmiao-relay" }),
      el("label", { for: "token", text: "API token (RELAY_API_TOKEN)" }),
      input,
      el("button", { type: "submit", text: "Sign in" }),
      el("p", { class: "hint", text: "Kept in this tab's session only; nothing is stored on the server." }),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const token = (input as HTMLInputElement).value;
      // Tried before it is kept: a refused token never reaches session storage.
      fetch("/v1/webhooks", { headers: { authorization: `Bearer ${token}` } })
        .then((res) => {
          if (res.status === 401) return notice("That token was refused.", "error");
          sessionStorage.setItem(TOKEN_KEY, token);
          location.hash = "#/deliveries";
        })
        .catch((error: unknown) => notice(String(error), "error"));
    });
    main.replaceChildren(form);
  }

  async function subscriptions(): Promise<void> {
    const { json } = await api("GET", "/v1/webhooks?expand=last24h");
    const rows = (json.items as Json[]).map((w) => [
      w.url,
      w.events ? (w.events as string[]).join(", ") : "terminal events",
      w.rateLimitPerSecond === null ? "none" : `${w.rateLimitPerSecond}/s`,
      w.enabled ? "enabled" : `disabled: ${show(w.disabledReason)}`,
      circuit(w.circuit),
      show(w.last24h.lastStatus),
      `${w.last24h.succeeded} ok / ${w.last24h.failed} failed`,
      el(
        "span",
        { class: "actions" },
        button("Send test", async () => {
          const r = await api("POST", `/v1/webhooks/${w.id}/test`);
          notice(
            `Test event: ${r.json.delivered ? "delivered" : "not delivered"} (${show(r.json.statusCode ?? r.json.error)})`,
          );
        }),
        button(w.enabled ? "Disable" : "Enable", async () => {
          await api("PATCH", `/v1/webhooks/${w.id}`, { enabled: !w.enabled });
          await subscriptions();
        }),
        button("Rotate secret", async () => {
          const r = await api("POST", `/v1/webhooks/${w.id}/rotate-secret`);
          notice(
            `New secret (shown once): ${r.json.secret} — the old one signs until ${when(r.json.previousSecretValidUntil)}`,
          );
        }),
      ),
    ]);
    main.replaceChildren(
      el("h1", { text: "Subscriptions" }),
      table(["URL", "Events", "Rate limit", "State", "Circuit", "Last status", "Last 24 h", ""], rows, "subscriptions"),
    );
  }

  async function deliveries(params: URLSearchParams): Promise<void> {
    const hooks = (await api("GET", "/v1/webhooks")).json.items as Json[];
    const select = (name: string, options: string[], labels: string[] = options) =>
      el(
        "select",
        { name, "aria-label": name },
        el("option", { value: "", text: `any ${name}` }),
        ...options.map((o, i) => {
          const opt = el("option", { value: o, text: labels[i] ?? o });
          if (params.get(name) === o) opt.setAttribute("selected", "");
          return opt;
        }),
      );
    const form = el(
      "form",
      { class: "filters" },
      select("status", ["pending", "delivered", "dead"]),
      select("eventType", EVENT_TYPES),
      select(
        "webhookId",
        hooks.map((w) => w.id as string),
        hooks.map((w) => w.url as string),
      ),
      el("input", { type: "datetime-local", name: "since", "aria-label": "since", value: params.get("since") ?? "" }),
      el("button", { type: "submit", text: "Filter" }),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const chosen = new URLSearchParams();
      for (const [k, v] of new FormData(form as HTMLFormElement)) if (v) chosen.set(k, String(v));
      location.hash = `#/deliveries?${chosen}`;
    });
    const query = new URLSearchParams({ limit: "100", expand: "task" });
    for (const k of ["status", "eventType", "webhookId"]) if (params.get(k)) query.set(k, params.get(k) as string);
    if (params.get("since")) query.set("since", new Date(params.get("since") as string).toISOString());
    const { json } = await api("GET", `/v1/deliveries?${query}`);
    const rows = (json.items as Json[]).map((d) => [
      el("a", { href: `#/delivery/${d.id}`, text: d.id }),
      d.task
        ? el("a", {
            href: `#/task/${d.task.workspaceId}/${d.task.taskId}`,
            text: `${d.task.workspaceId}/${d.task.taskId}`,
          })
        : "-",
      show(d.eventType),
      d.status,
      String(d.attempts),
      show(d.lastStatusCode),
      d.status === "pending" ? when(d.nextAttemptAt) : "-",
      d.status === "pending"
        ? ""
        : button("Replay", async () => {
            await api("POST", `/v1/deliveries/${d.id}/replay`);
            notice(`Replaying ${d.id}: it is due now and leaves with the next run.`);
            await deliveries(params);
          }),
    ]);
    main.replaceChildren(
      el("h1", { text: "Deliveries" }),
      form,
      table(["webhook-id", "Task", "Event", "Status", "Attempts", "Last HTTP", "Next attempt", ""], rows, "deliveries"),
    );
  }

  async function delivery(id: string): Promise<void> {
    const { status, json: d } = await api("GET", `/v1/deliveries/${encodeURIComponent(id)}`);
    if (status === 404) return void main.replaceChildren(el("p", { text: "No such delivery." }));
    const task = d.event ? `${d.event.workspaceId}/${d.event.taskId}` : "-";
    const attempts = (d.attemptLog as Json[]).map((a) => [
      when(a.at),
      `${a.durationMs} ms`,
      show(a.statusCode),
      show(a.failure ?? (a.statusCode ? "http" : null)),
      el("code", { text: show(a.error ?? a.response) }),
    ]);
    main.replaceChildren(
      el("h1", { text: `Delivery ${d.id}` }),
      el(
        "dl",
        {},
        ...[
          ["Status", d.status],
          ["Event", `${show(d.event?.type)} (${show(d.eventId)})`],
          ["Task", d.event ? el("a", { href: `#/task/${d.event.workspaceId}/${d.event.taskId}`, text: task }) : "-"],
          ["Target", d.url],
          ["Attempts", String(d.attempts)],
          ["Next attempt", d.status === "pending" ? when(d.nextAttemptAt) : "-"],
        ].flatMap(([k, v]) => [el("dt", { text: k as string }), el("dd", {}, v as string)]),
      ),
      ...(d.status === "pending"
        ? []
        : [
            button("Replay", async () => {
              await api("POST", `/v1/deliveries/${d.id}/replay`);
              await delivery(id);
            }),
          ]),
      el("h2", { text: "Attempts" }),
      table(["When", "Duration", "HTTP", "Failure", "Answer / error"], attempts, "attempts"),
    );
  }

  async function tasks(): Promise<void> {
    const { json } = await api("GET", "/v1/tasks?limit=100");
    const rows = (json.items as Json[]).map((t) => [
      el("a", { href: `#/task/${t.workspaceId}/${t.taskId}`, text: `${t.workspaceId}/${t.taskId}` }),
      t.state,
      show(t.status),
      String(t.pollCount),
      when(t.registeredAt),
    ]);
    main.replaceChildren(
      el("h1", { text: "Tasks" }),
      table(["Task", "State", "Status", "Polls", "Registered"], rows, "tasks"),
    );
  }

  async function task(ws: string, id: string): Promise<void> {
    const { json } = await api("GET", `/v1/tasks/${encodeURIComponent(ws)}/${encodeURIComponent(id)}`);
    const timing = json.timing as Json | undefined;
    main.replaceChildren(
      el("h1", { text: `Task ${ws}/${id}` }),
      el("p", { text: `${json.task.state}, ${show(json.task.status)}, ${json.task.pollCount} polls` }),
      el("h2", { text: "Timing" }),
      el("pre", { text: JSON.stringify(timing ?? null, null, 2) }),
      ...(json.webhookCircuits?.length
        ? [
            el("h2", { text: "Webhook URLs" }),
            table(
              ["URL", "Circuit"],
              (json.webhookCircuits as Json[]).map((w) => [w.url, circuit(w.circuit)]),
              "task webhook urls",
            ),
          ]
        : []),
      el("h2", { text: "Events" }),
      table(
        ["Event", "Created"],
        (json.events as Json[]).map((e) => [e.type, when(e.createdAt)]),
        "events",
      ),
      el("h2", { text: "Deliveries" }),
      table(
        ["webhook-id", "Status", "Attempts"],
        (json.deliveries as Json[]).map((d) => [
          el("a", { href: `#/delivery/${d.id}`, text: d.id }),
          d.status,
          String(d.attempts),
        ]),
        "task deliveries",
      ),
    );
  }

  async function route(): Promise<void> {
    notice("");
    const [path = "", search = ""] = location.hash.slice(1).split("?");
    if (!sessionStorage.getItem(TOKEN_KEY) || path === "/login") return login();
    nav.hidden = false;
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    for (const a of nav.querySelectorAll("a"))
      a.classList.toggle("current", a.getAttribute("href") === `#/${parts[0]}`);
    if (parts[0] === "subscriptions") return subscriptions();
    if (parts[0] === "delivery" && parts[1]) return delivery(parts[1]);
    if (parts[0] === "tasks") return tasks();
    if (parts[0] === "task" && parts[1] && parts[2]) return task(parts[1], parts[2]);
    return deliveries(new URLSearchParams(search));
  }

  document.querySelector("#signout")?.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/login";
  });
  window.addEventListener("hashchange", () => void route().catch((e: unknown) => notice(String(e), "error")));
  void route().catch((e: unknown) => notice(String(e), "error"));
}
