/// <reference lib="dom" />
/**
 * The console's lists: deliveries, events and tasks, a page at a time in the order the API gives
 * (newest first), with filters and paging by the API's opaque cursor.
 *
 * Runs in the browser: page.ts sends this function's source text, so it uses nothing from outside
 * its own body but the kit it is given.
 */
import type { ConsoleKit, Json } from "./kit.js";

export function consoleLists(kit: ConsoleKit) {
  const { api, badge, button, el, eventLabel, labelled, select, shortId, show, table, when } = kit;
  type Cell = Node | string;

  const PAGE_SIZES = ["25", "50", "100"];
  const DEFAULT_LIMIT = "25";
  const EVENT_TYPES = [
    "video_analysis.succeeded",
    "video_analysis.failed",
    "video_analysis.canceled",
    "video_analysis.expired",
    "video_analysis.running",
    "video_analysis.progress",
  ];

  interface ListSpec {
    /** The hash path: #/<view>?filters&limit&page=<cursor>… */
    readonly view: string;
    readonly title: string;
    readonly hint: string;
    readonly path: string;
    readonly fixed: Record<string, string>;
    /** Labelled filter controls, each with a `name` the API takes. */
    readonly filters: HTMLElement[];
    readonly names: readonly string[];
    readonly quick?: HTMLElement;
    readonly headers: string[];
    readonly row: (item: Json) => Cell[];
    readonly empty: string;
  }

  const hashOf = (view: string, params: URLSearchParams) => `#/${view}${params.size ? `?${params}` : ""}`;

  /**
   * The page's place is the list of cursors that led to it, kept in the hash: Previous drops the
   * last, Next adds the API's next cursor, and the browser's Back button works the same way.
   */
  function pager(spec: ListSpec, params: URLSearchParams, next: string | null): HTMLElement {
    const pages = params.getAll("page");
    const go = (cursors: string[]) => {
      const p = new URLSearchParams(params);
      p.delete("page");
      for (const c of cursors) p.append("page", c);
      location.hash = hashOf(spec.view, p);
    };
    const previous = el("button", { type: "button", text: "← Previous" });
    const following = el("button", { type: "button", text: "Next →" });
    if (pages.length === 0) previous.setAttribute("disabled", "");
    if (!next) following.setAttribute("disabled", "");
    previous.addEventListener("click", () => go(pages.slice(0, -1)));
    following.addEventListener("click", () => next && go([...pages, next]));
    return el(
      "nav",
      { class: "pager", "aria-label": `${spec.title} pages` },
      previous,
      el("span", { class: "page", text: `Page ${pages.length + 1} · newest first` }),
      following,
    );
  }

  function filterForm(spec: ListSpec, params: URLSearchParams): HTMLElement {
    const limit = params.get("limit") ?? DEFAULT_LIMIT;
    const sizes = PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit];
    const perPage = el("select", { name: "limit" }, ...sizes.map((s) => el("option", { value: s, text: s })));
    (perPage as HTMLSelectElement).value = limit;
    const form = el(
      "form",
      { class: "filters", "aria-label": `${spec.title} filters` },
      ...spec.filters,
      labelled("Rows per page", perPage),
      el("button", { type: "submit", text: "Show" }),
      el("a", { href: `#/${spec.view}`, text: "Clear filters" }),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const chosen = new URLSearchParams();
      for (const [k, v] of new FormData(form as HTMLFormElement)) if (v) chosen.set(k, String(v));
      location.hash = hashOf(spec.view, chosen);
    });
    return form;
  }

  async function list(spec: ListSpec, params: URLSearchParams): Promise<HTMLElement[]> {
    const query = new URLSearchParams({ ...spec.fixed, limit: params.get("limit") ?? DEFAULT_LIMIT });
    for (const name of spec.names) {
      const v = params.get(name);
      if (!v) continue;
      // A datetime-local value is the browser's local time; the API takes an instant (and says
      // what is wrong with a value that is neither).
      const instant = name === "since" ? new Date(v) : undefined;
      query.set(name, instant && !Number.isNaN(instant.getTime()) ? instant.toISOString() : v);
    }
    const cursor = params.getAll("page").at(-1);
    if (cursor) query.set("cursor", cursor);
    const { json } = await api("GET", `${spec.path}?${query}`);
    const items = (json.items ?? []) as Json[];
    const next = (json.next ?? null) as string | null;
    const filtered = spec.names.some((n) => params.get(n));
    // A page may come back empty with a next cursor (the store read rows the filters left out).
    const empty = next
      ? "Nothing on this page: there is more after it (Next →)."
      : cursor
        ? "No more rows: this is past the last page."
        : filtered
          ? el("span", {}, "Nothing matches these filters. ", el("a", { href: `#/${spec.view}`, text: "Show all" }))
          : spec.empty;
    return [
      el("h1", { text: spec.title }),
      el("p", { class: "hint", text: spec.hint }),
      ...(spec.quick ? [spec.quick] : []),
      // On a phone the filters fold away unless some are set: the rows come first.
      el(
        "details",
        { class: "filter-box", ...(filtered || matchMedia("(min-width: 761px)").matches ? { open: "" } : {}) },
        el("summary", { text: filtered ? "Filters (some set)" : "Filters" }),
        filterForm(spec, params),
      ),
      el("div", { class: "table" }, table(spec.view, spec.headers, items.map(spec.row), empty)),
      pager(spec, params, next),
    ];
  }

  const taskLink = (ws: string, id: string) =>
    el("a", { href: `#/task/${encodeURIComponent(ws)}/${encodeURIComponent(id)}`, text: `${ws}/${id}` });

  function deliveryStatus(d: Json): HTMLElement {
    if (d.status === "delivered") return badge("delivered", "ok");
    if (d.status === "dead") return badge("dead", "bad");
    const next = el("span", { class: "hint block", text: `next try ${when(d.nextAttemptAt)}` });
    return el("span", {}, d.attempts > 0 ? badge("retrying", "bad") : badge("pending", "wait"), next);
  }

  /** The last answer in words: the HTTP status, or why there was none. */
  const lastAnswer = (d: Json) =>
    d.lastStatusCode
      ? `HTTP ${d.lastStatusCode}`
      : d.lastError
        ? el("span", { class: "clip", text: d.lastError })
        : "-";

  function replayButton(d: Json, after: () => Promise<void>): HTMLElement {
    return button(
      "Replay",
      async () => {
        await api("POST", `/v1/deliveries/${encodeURIComponent(d.id)}/replay`);
        kit.notice(`Replaying message ${d.id}: it is due now and leaves with the next run.`, "success");
        await after();
      },
      {
        title: "Replay this delivery?",
        text: `Message ${d.id} goes to ${d.url} again, with the same webhook-id: a receiver that de-duplicates by it will ignore it if it already handled it.`,
        action: "Replay",
      },
    );
  }

  async function deliveries(params: URLSearchParams, render: (nodes: HTMLElement[]) => void): Promise<void> {
    const hooks = ((await api("GET", "/v1/webhooks")).json.items ?? []) as Json[];
    const failures = params.get("status") === "failed" && [...params.keys()].every((k) => k === "status");
    const spec: ListSpec = {
      view: "deliveries",
      title: "Deliveries",
      hint: "A delivery sends one message (one event, to one endpoint) until the endpoint takes it; its last attempts are kept.",
      path: "/v1/deliveries",
      fixed: { expand: "task" },
      // eventId comes from an event's link, not from the form.
      names: ["status", "eventType", "webhookId", "since", "eventId"],
      quick: el(
        "p",
        { class: "quick" },
        el("a", {
          href: "#/deliveries?status=failed",
          class: failures ? "button current" : "button",
          text: "Latest failures",
        }),
        el("span", { class: "hint", text: " given up on, or retrying after a failed attempt; newest first" }),
      ),
      filters: [
        labelled(
          "Status",
          select("status", params.get("status"), "Any status", [
            ["pending", "Pending"],
            ["delivered", "Delivered"],
            ["failed", "Failing (dead or retrying)"],
            ["dead", "Dead (given up)"],
          ]),
        ),
        labelled(
          "Event type",
          select(
            "eventType",
            params.get("eventType"),
            "Any event type",
            EVENT_TYPES.map((t) => [t, t]),
          ),
        ),
        labelled(
          "Endpoint",
          select(
            "webhookId",
            params.get("webhookId"),
            "Any endpoint",
            hooks.map((w) => [w.id, w.url]),
          ),
        ),
        labelled(
          "Created since",
          el("input", { type: "datetime-local", name: "since", value: params.get("since") ?? "" }),
        ),
      ],
      headers: ["Time", "Event", "Endpoint", "Status", "Attempts", "Last answer", "Message", ""],
      row: (d) => [
        when(d.createdAt),
        el(
          "span",
          {},
          eventLabel({ type: d.eventType, part: d.part }),
          d.task ? el("span", { class: "hint block" }, "task ", taskLink(d.task.workspaceId, d.task.taskId)) : null,
        ),
        el("span", { class: "url", title: d.webhookId, text: d.url }),
        deliveryStatus(d),
        String(d.attempts),
        lastAnswer(d),
        shortId(d.id, `#/delivery/${encodeURIComponent(d.id)}`),
        d.status === "pending" ? "" : replayButton(d, () => deliveries(params, render)),
      ],
      empty:
        "No deliveries yet. One is made for each endpoint subscribed to an event when a watched task changes state: add an endpoint (quanmiao-relay webhooks add <url>) and a task (quanmiao-relay tasks add <workspaceId> <taskId>).",
    };
    render(await list(spec, params));
  }

  async function events(params: URLSearchParams, render: (nodes: HTMLElement[]) => void): Promise<void> {
    const spec: ListSpec = {
      view: "events",
      title: "Events",
      hint: "An event is one change of a task's state; each endpoint subscribed to its type gets it as a message.",
      path: "/v1/events",
      fixed: {},
      names: ["since"],
      filters: [
        labelled(
          "Created since",
          el("input", { type: "datetime-local", name: "since", value: params.get("since") ?? "" }),
        ),
      ],
      headers: ["Time", "Event", "Task", "Event id", ""],
      row: (e) => {
        const data = (e.body?.data ?? {}) as Json;
        return [
          when(e.createdAt),
          eventLabel(e),
          data.workspaceId && data.taskId ? taskLink(data.workspaceId, data.taskId) : "-",
          shortId(e.id),
          el("a", { href: `#/deliveries?eventId=${encodeURIComponent(e.id)}`, text: "Its deliveries" }),
        ];
      },
      empty: "No events yet: the relay makes one when a watched task changes state.",
    };
    render(await list(spec, params));
  }

  async function tasks(params: URLSearchParams, render: (nodes: HTMLElement[]) => void): Promise<void> {
    const spec: ListSpec = {
      view: "tasks",
      title: "Tasks",
      hint: "The QuanMiao video-analysis tasks the relay watches.",
      path: "/v1/tasks",
      fixed: {},
      names: ["state", "workspaceId"],
      filters: [
        labelled(
          "State",
          select("state", params.get("state"), "Any state", [
            ["active", "Active (watched)"],
            ["done", "Done"],
          ]),
        ),
        labelled("Workspace", el("input", { name: "workspaceId", value: params.get("workspaceId") ?? "" })),
      ],
      headers: ["Registered", "Task", "State", "Status", "Polls", "Finished"],
      row: (t) => [
        when(t.registeredAt),
        taskLink(t.workspaceId, t.taskId),
        t.state === "active" ? badge("active", "wait") : badge("done", "plain"),
        show(t.status),
        String(t.pollCount),
        when(t.finishedAt),
      ],
      empty: "No tasks yet: add one with quanmiao-relay tasks add <workspaceId> <taskId>, or POST /v1/tasks.",
    };
    render(await list(spec, params));
  }

  return { deliveries, events, tasks, replayButton, deliveryStatus };
}

export type ConsoleLists = ReturnType<typeof consoleLists>;
