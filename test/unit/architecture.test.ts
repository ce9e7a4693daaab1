/**
 * The shape of the code, checked: no source file over 400 lines, no import cycle among the modules
 * (type-only and lazy imports count: a cycle is a cycle for the reader too), and nothing that runs
 * in production (lib/, functions/) reaching into dev/ except the CLI's lazy dev commands.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAX_LINES = 400;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Relative imports of a module: static (type-only included), re-exports and dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specs = [
    ...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)"/gms),
    ...text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g),
  ].map((m) => m[1] as string);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s.replace(/\.js$/, ".ts"))));
}

const graphOf = (files: readonly string[]) => new Map(files.map((f) => [f, importsOf(f)]));

function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe("the code's shape", () => {
  const all = ["lib", "dev", "functions", "bench", "test", "scripts"].flatMap(sources);

  it(`keeps every source file under ${MAX_LINES} lines`, () => {
    const long = all
      .map((f) => ({ file: f, lines: readFileSync(join(ROOT, f), "utf8").split("\n").length - 1 }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("has no import cycle in lib/, dev/ or functions/", () => {
    expect(cycles(graphOf(["lib", "dev", "functions"].flatMap(sources))).map((c) => c.join(" → "))).toEqual([]);
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const real = graphOf(["lib/cli.ts", "lib/cli/io.ts"]);
    expect(real.get("lib/cli.ts")).toContain("lib/cli/io.ts");
    expect(cycles(real)).toEqual([]);
    // The cycle this layout removed: a command module importing the CLI's types from lib/cli.ts.
    const withCycle = new Map([...real, ["lib/cli/io.ts", ["lib/cli.ts"]]]);
    expect(cycles(withCycle)).toEqual([["lib/cli.ts", "lib/cli/io.ts", "lib/cli.ts"]]);
  });

  it("points dependencies one way: the edges (CLI, API) use the library, never the reverse", () => {
    // The CLI prints the API's views (lib/api/presenters.ts): an edge using another edge's
    // presenters is allowed, the API or the library reaching up into the CLI is not.
    const cli = (f: string) => f === "lib/cli.ts" || f.startsWith("lib/cli/");
    const api = (f: string) => f.startsWith("lib/api/");
    const isUpward = (from: string, to: string) =>
      (api(from) && cli(to)) || (!api(from) && !cli(from) && (api(to) || cli(to)));
    const upward = ["lib"].flatMap(sources).flatMap((f) =>
      importsOf(f)
        .filter((to) => isUpward(f, to))
        .map((to) => `${f} → ${to}`),
    );
    expect(upward).toEqual([]);
    // The check reads the imports it judges: the CLI's --json does go through the API's presenters.
    expect(importsOf("lib/cli/relay-commands.ts")).toContain("lib/api/presenters.ts");
  });

  it("keeps the dev tools out of what runs in production, but for the CLI's lazy dev commands", () => {
    const production = ["lib", "functions"].flatMap(sources);
    const reaching = production.flatMap((f) =>
      importsOf(f)
        .filter((target) => target.startsWith(`dev${"/"}`))
        .map((target) => `${f} → ${target}`),
    );
    expect(reaching.every((edge) => edge.startsWith("lib/cli.ts → dev/cli/"))).toBe(true);
    const text = readFileSync(join(ROOT, "lib/cli.ts"), "utf8");
    expect(text).not.toMatch(/^import[^;]*from\s+"\.\.\/dev\//m);
  });
});
