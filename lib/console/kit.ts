/// <reference lib="dom" />
/**
 * The console's browser toolkit: DOM building, the API call with the operator's token, notices,
 * confirmation before destructive actions, and tables that fit a phone and say when they are empty.
 *
 * Runs in the browser: page.ts sends this function's source text, so it uses nothing from outside
 * its own body — no imports, no module-level names (types vanish when compiled, so they may come in).
 */
export function consoleKit() {
  const TOKEN_KEY = "quanmiao-relay-token";

  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read as the views need it
  type Json = Record<string, any>;
  type Cell = Node | string;

  /** How the API decided to take requests: open (no RELAY_API_TOKEN, loopback only) or by token. */
  const access = { open: false };

  /** Thrown when the API refused the kept token: the sign-in form is already on its way. */
  const SIGNED_OUT = { signedOut: true };

  function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Cell | null>): HTMLElement {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null) node.append(c);
    return node;
  }

  /**
   * Each cell carries its column's name, which the phone layout shows beside the value; a table
   * without rows says so in one row across, rather than showing headers over nothing.
   */
  function table(label: string, headers: string[], rows: Cell[][], empty: Cell): HTMLElement {
    const body = rows.length
      ? rows.map((r) => el("tr", {}, ...r.map((c, i) => el("td", { "data-label": headers[i] ?? "" }, c))))
      : [el("tr", { class: "empty" }, el("td", { colspan: String(headers.length) }, empty))];
    return el(
      "table",
      { "aria-label": label },
      el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...body),
    );
  }

  const when = (iso: unknown) => (typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");
  const show = (v: unknown) => (v === null || v === undefined || v === "" ? "-" : String(v));

  /** An event's type, and for a progress event the part that finished (`body.data.part` or `part`). */
  const eventLabel = (e: Json | null | undefined, fallback?: unknown) => {
    const part = e?.part ?? e?.body?.data?.part;
    return part ? `${show(e?.type)} · ${part}` : show(e?.type ?? fallback);
  };

  /** An id, cut short on screen (the whole id in its title and in what a copy takes). */
  const shortId = (id: string, href?: string) =>
    el(href ? "a" : "code", { class: "id", title: id, text: id, ...(href ? { href } : {}) });

  function badge(text: string, kind: "ok" | "bad" | "wait" | "plain" = "plain"): HTMLElement {
    return el("span", { class: `badge ${kind}`, text });
  }

  function notice(text: string, kind: "info" | "success" | "error" = "info"): void {
    const box = document.querySelector("#notice") as HTMLElement;
    box.textContent = text;
    box.className = text ? kind : "";
    box.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  function reportError(error: unknown): void {
    if (error !== SIGNED_OUT) notice(error instanceof Error ? error.message : String(error), "error");
  }

  const apiMessage = (status: number, json: Json) =>
    `The API answered HTTP ${status}: ${show(json.error?.message ?? json.error?.code)}`;

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const token = access.open ? null : sessionStorage.getItem(TOKEN_KEY);
    const res = await fetch(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status === 401 && !access.open) {
      sessionStorage.removeItem(TOKEN_KEY);
      location.hash = "#/login?refused";
      throw SIGNED_OUT;
    }
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      json = { error: { message: text.slice(0, 200) } };
    }
    if (!res.ok && res.status !== 404) throw new Error(apiMessage(res.status, json));
    return { status: res.status, json };
  }

  /**
   * Asks the API without a token. It answers 200 when no RELAY_API_TOKEN is set (it then answers
   * only to loopback Hosts, so this page was loaded over loopback) and 401 when a token is needed.
   */
  async function probeAccess(): Promise<"open" | "token"> {
    const res = await fetch("/v1/webhooks");
    if (res.status === 401) return "token";
    if (!res.ok) throw new Error(`The API did not answer as expected: HTTP ${res.status}`);
    access.open = true;
    return "open";
  }

  /** Checks a token against the API before keeping it, so a refused one is never kept. */
  async function signIn(token: string): Promise<string | undefined> {
    if (!token.trim()) return "Enter the API token: one of the tokens in RELAY_API_TOKEN.";
    let res: Response;
    try {
      res = await fetch("/v1/webhooks", { headers: { authorization: `Bearer ${token.trim()}` } });
    } catch (error) {
      return `The API did not answer: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (res.status === 401) return "That token was refused: it is not one of the tokens in RELAY_API_TOKEN.";
    if (!res.ok) return apiMessage(res.status, await res.json().catch(() => ({})));
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    return undefined;
  }

  const signedIn = () => access.open || sessionStorage.getItem(TOKEN_KEY) !== null;
  const signOut = () => sessionStorage.removeItem(TOKEN_KEY);

  /** A modal question; resolves true only on the action's own button (Escape and Cancel say no). */
  function confirmAction(title: string, text: string, action: string): Promise<boolean> {
    return new Promise((resolve) => {
      const yes = el("button", { type: "button", class: "danger", text: action });
      const no = el("button", { type: "button", text: "Cancel" });
      const dialog = el(
        "dialog",
        { id: "confirm", "aria-labelledby": "confirm-title" },
        el("h2", { id: "confirm-title", text: title }),
        el("p", { text }),
        el("div", { class: "actions" }, no, yes),
      ) as HTMLDialogElement;
      const answer = (value: boolean) => {
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      yes.addEventListener("click", () => answer(true));
      no.addEventListener("click", () => answer(false));
      dialog.addEventListener("cancel", (e) => {
        e.preventDefault();
        answer(false);
      });
      document.body.append(dialog);
      dialog.showModal();
      no.focus();
    });
  }

  /** A button that runs once at a time; with `ask`, only after the operator confirms. */
  function button(
    text: string,
    onClick: () => Promise<void>,
    ask?: { title: string; text: string; action: string },
  ): HTMLElement {
    const b = el("button", { type: "button", text });
    b.addEventListener("click", async () => {
      if (ask && !(await confirmAction(ask.title, ask.text, ask.action))) return;
      b.setAttribute("disabled", "");
      try {
        await onClick();
      } catch (error) {
        reportError(error);
      } finally {
        b.removeAttribute("disabled");
      }
    });
    return b;
  }

  /** A control with its visible label, tied by id (a wrapping label would name it with its options too). */
  function labelled(text: string, control: HTMLElement): HTMLElement {
    const id = `field-${control.getAttribute("name")}`;
    control.id = id;
    return el("div", { class: "field" }, el("label", { for: id, text }), control);
  }

  function select(name: string, current: string | null, anyText: string, options: Array<[string, string]>) {
    return el(
      "select",
      { name },
      el("option", { value: "", text: anyText }),
      ...options.map(([value, text]) => {
        const opt = el("option", { value, text });
        if (current === value) opt.setAttribute("selected", "");
        return opt;
      }),
    );
  }

  return {
    access,
    api,
    badge,
    button,
    el,
    eventLabel,
    labelled,
    notice,
    probeAccess,
    reportError,
    select,
    shortId,
    show,
    signIn,
    signOut,
    signedIn,
    table,
    when,
  };
}

export type ConsoleKit = ReturnType<typeof consoleKit>;
// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read as the views need it
export type Json = Record<string, any>;
