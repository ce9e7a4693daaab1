/// <reference lib="dom" />
/**
 * The console's browser side: how it gets in (open when no RELAY_API_TOKEN is set, else a sign-in
 * that checks the token against the API and keeps it in this tab's session storage only), and
 * which view the address's hash asks for.
 *
 * `consoleApp` runs in the browser: page.ts sends its source text with the parts' source texts as
 * its argument, so it uses nothing from outside its own body but them.
 */
import type { consoleDetails } from "./details.js";
import type { consoleEndpoints } from "./endpoints.js";
import type { consoleKit } from "./kit.js";
import type { consoleLists } from "./lists.js";

export interface ConsoleParts {
  readonly kit: typeof consoleKit;
  readonly lists: typeof consoleLists;
  readonly details: typeof consoleDetails;
  readonly endpoints: typeof consoleEndpoints;
}

export function consoleApp(parts: ConsoleParts): void {
  const kit = parts.kit();
  const lists = parts.lists(kit);
  const details = parts.details(kit, lists);
  const endpoints = parts.endpoints(kit, details);
  const { el } = kit;
  const main = document.querySelector("main") as HTMLElement;
  const nav = document.querySelector("#views") as HTMLElement;
  const signout = document.querySelector("#signout") as HTMLElement;
  const accessNote = document.querySelector("#access") as HTMLElement;

  function login(render: (nodes: HTMLElement[]) => void, refused: boolean): void {
    nav.hidden = true;
    signout.hidden = true;
    const input = el("input", {
      type: "password",
      name: "token",
      id: "token",
      autocomplete: "off",
      "aria-describedby": "login-error login-hint",
    }) as HTMLInputElement;
    const error = el("p", { id: "login-error", class: "error", role: "alert" });
    if (refused)
      error.textContent = "The API refused the token this tab kept (was RELAY_API_TOKEN changed?): sign in again.";
    const submit = el("button", { type: "submit", text: "Sign in" });
    const form = el(
      "form",
      { id: "login", novalidate: "" },
      el("h1", { text: "Sign in" }),
      el("label", { for: "token", text: "API token" }),
      input,
      error,
      submit,
      el("p", {
        id: "login-hint",
        class: "hint",
        text: "RELAY_API_TOKEN is set, so the API asks for one of its tokens. It is kept in this tab's session only; nothing is stored on the server.",
      }),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.setAttribute("disabled", "");
      const problem = await kit.signIn(input.value);
      submit.removeAttribute("disabled");
      if (problem) {
        error.textContent = problem;
        input.focus();
        return;
      }
      // Back to the page that asked for the sign-in (a deep link survives it).
      const target = location.hash.startsWith("#/login") || !location.hash ? "#/deliveries" : location.hash;
      if (location.hash === target) void route();
      else location.hash = target;
    });
    render([form]);
    input.focus();
  }

  /** Only the latest route draws: a slow answer for a page already left is dropped. */
  let drawn = 0;

  async function route(): Promise<void> {
    const mine = ++drawn;
    const render = (nodes: HTMLElement[]) => {
      if (mine === drawn) main.replaceChildren(...nodes);
    };
    kit.notice("");
    const hash = location.hash.slice(1);
    const q = hash.indexOf("?");
    const path = q < 0 ? hash : hash.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
    if (!kit.signedIn()) return login(render, params.has("refused"));
    if (path.startsWith("/login")) {
      location.hash = "#/deliveries";
      return;
    }
    nav.hidden = false;
    signout.hidden = kit.access.open;
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const section = { delivery: "deliveries", task: "tasks" }[parts[0] ?? ""] ?? parts[0] ?? "deliveries";
    for (const a of nav.querySelectorAll("a")) {
      const current = a.getAttribute("href") === `#/${section}`;
      a.classList.toggle("current", current);
      if (current) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (parts[0] === "endpoints") return endpoints.endpoints(render);
    if (parts[0] === "delivery" && parts[1]) return details.delivery(parts[1], render);
    if (parts[0] === "events") return lists.events(params, render);
    if (parts[0] === "tasks") return lists.tasks(params, render);
    if (parts[0] === "task" && parts[1] && parts[2]) return details.task(parts[1], parts[2], render);
    return lists.deliveries(params, render);
  }

  signout.addEventListener("click", () => {
    kit.signOut();
    location.hash = "#/login";
  });

  async function start(): Promise<void> {
    if ((await kit.probeAccess()) === "open") {
      accessNote.textContent =
        "No RELAY_API_TOKEN is set, so the console opens without signing in, and the API answers on loopback only (localhost, 127.x.x.x, [::1]). Set RELAY_API_TOKEN to require a token.";
      accessNote.hidden = false;
    }
    window.addEventListener("hashchange", () => void route().catch(kit.reportError));
    await route();
  }
  void start().catch(kit.reportError);
}
