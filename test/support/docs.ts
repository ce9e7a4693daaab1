/**
 * Reading the project's Markdown for the docs check: its fenced code blocks (with the marker that
 * says how each shell block is checked), its headings' anchors and its relative links.
 *
 * A shell block's fence carries one marker after the language:
 *   ```sh runnable                 run by the docs check, in order, in one shell per file
 *   ```sh service                  one command that runs until stopped (a server): started in the
 *                                  background, the next block waiting until its `--port` answers
 *   ```sh ci                       every command in it is a line of .ci/run
 *   ```sh not-runnable: <reason>   cannot run here (real Alibaba Cloud, runs until Ctrl-C, …)
 * Markers live in the fence's info string, which GitHub does not render (it reads the language only).
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export const SHELL_LANGUAGES = new Set(["sh", "bash", "shell", "console", "zsh"]);

export type Marker =
  | { readonly kind: "runnable" | "service" | "ci" | "none" }
  | { readonly kind: "not-runnable"; readonly reason: string }
  | { readonly kind: "unknown"; readonly text: string };

export interface CodeBlock {
  /** The file, relative to the project root. */
  readonly file: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly marker: Marker;
  /** The block's lines, with the fence's indentation removed. */
  readonly body: string;
}

function markerOf(rest: string): Marker {
  const text = rest.trim();
  if (text === "") return { kind: "none" };
  if (text === "runnable" || text === "service" || text === "ci") return { kind: text };
  const notRunnable = /^not-runnable:\s*(.*)$/.exec(text);
  if (notRunnable) return { kind: "not-runnable", reason: (notRunnable[1] ?? "").trim() };
  return { kind: "unknown", text };
}

function closes(fence: string, line: string): boolean {
  const t = line.trim();
  return t.length >= fence.length && t === (fence[0] ?? "`").repeat(t.length);
}

/** Each line of a Markdown text and whether it is inside a fenced block (fences count as inside). */
function linesWithFences(text: string): Array<{ line: string; fenced: boolean }> {
  let fence: string | undefined;
  return text.split("\n").map((line) => {
    if (fence !== undefined) {
      if (closes(fence, line)) fence = undefined;
      return { line, fenced: true };
    }
    const open = /^ *(`{3,}|~{3,})/.exec(line);
    if (open) fence = open[1];
    return { line, fenced: open !== null };
  });
}

/** Every fenced code block (``` or ~~~, indented or not) of a Markdown text. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})(.*)$/.exec(lines[i] ?? "");
    if (!open) continue;
    const [, indent = "", fence = "", info = ""] = open;
    const [language = "", ...rest] = info.trim().split(/\s+/);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? "";
      if (closes(fence, line)) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    blocks.push({ file, line: i + 1, language, marker: markerOf(rest.join(" ")), body: body.join("\n") });
    i = j;
  }
  return blocks;
}

/** What is wrong with a block's marker, or undefined: the rules the docs check holds every block to. */
export function markerProblem(block: CodeBlock, ciScript: string): string | undefined {
  if (block.language === "") return "a code block without a language (use text for output)";
  const shell = SHELL_LANGUAGES.has(block.language);
  if (!shell) return block.marker.kind === "none" ? undefined : "only shell blocks carry a marker";
  const m = block.marker;
  switch (m.kind) {
    case "none":
      return "a shell block needs a marker: runnable, service, ci, or not-runnable: <reason>";
    case "unknown":
      return `unknown marker "${m.text}"`;
    case "not-runnable":
      return m.reason.length < 10 ? "not-runnable needs its reason" : undefined;
    case "service":
      return commands(block.body).length === 1 && /--port \d+/.test(block.body)
        ? undefined
        : "a service block is one command with --port N";
    case "ci": {
      const ci = new Set(ciScript.split("\n").map((l) => l.trim()));
      const missing = commands(block.body).filter((c) => !ci.has(c));
      return missing.length ? `not in .ci/run: ${missing.join("; ")}` : undefined;
    }
    default:
      return undefined;
  }
}

/** A block's commands: lines without their comments, continuation lines joined. */
export function commands(body: string): string[] {
  return body
    .replace(/\s*\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line, fenced } of linesWithFences(text)) {
    const h = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = (h[1] ?? "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

export interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Relative links and images outside code (external URLs and mailto: are left out). */
export function relativeLinks(file: string, text: string): Link[] {
  const links: Link[] = [];
  linesWithFences(text).forEach(({ line, fenced }, i) => {
    if (fenced) return;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] ?? "";
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ file, line: i + 1, target });
    }
  });
  return links;
}

/** Why a relative link is broken, or undefined. */
export function linkProblem(root: string, link: Link): string | undefined {
  const [path = "", anchor] = link.target.split("#");
  const from = resolve(root, link.file);
  const to = path === "" ? from : resolve(dirname(from), decodeURIComponent(path));
  if (!to.startsWith(root)) return "points outside the project";
  let text: string;
  try {
    text = readFileSync(to, "utf8");
  } catch {
    try {
      readdirSync(to);
      return anchor === undefined ? undefined : "an anchor on a folder";
    } catch {
      return `no file ${relative(root, to)}`;
    }
  }
  if (anchor === undefined || !to.endsWith(".md")) return undefined;
  return headingAnchors(text).has(anchor) ? undefined : `no heading #${anchor} in ${relative(root, to)}`;
}

/** README.md and every Markdown file under docs/, relative to the root. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f))
    .sort();
  return ["README.md", ...docs];
}

/** The relay's environment variables named in a text (RELAY_*, QUANMIAO_*, TABLESTORE_*). */
export function variableNames(text: string): Set<string> {
  return new Set(text.match(/\b(?:RELAY|QUANMIAO|TABLESTORE)_[A-Z0-9_]+\b/g) ?? []);
}

/**
 * Whether a reference text documents a variable: by name, or as the table writes a pair
 * (`RELAY_CIRCUIT_COOLDOWN` / `_MAX`), by its stem and its suffix.
 */
export function documents(reference: string, name: string): boolean {
  if (new RegExp(`\\b${name}\\b`).test(reference)) return true;
  const cut = name.lastIndexOf("_");
  return (
    cut > 0 && new RegExp(`\\b${name.slice(0, cut)}`).test(reference) && reference.includes(`\`${name.slice(cut)}\``)
  );
}
