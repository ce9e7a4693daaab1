/**
 * The docs check: every shell block in README.md and docs/ says how it is checked, the runnable
 * ones run (against the sandbox that `npm start` starts, in a fresh folder: see docs-runner.ts),
 * and every relative link leads to a file and heading that exist. So no command in the docs can go
 * stale unnoticed.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  codeBlocks,
  documentationFiles,
  documents,
  linkProblem,
  markerProblem,
  relativeLinks,
  variableNames,
} from "../../support/docs.js";
import { type DocsWorld, runSession, sessionScript, startDocsWorld } from "../../support/docs-runner.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const FILES = documentationFiles(ROOT);
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const BLOCKS = FILES.flatMap((file) => codeBlocks(file, read(file)));

describe("the documentation", () => {
  it("marks every shell block runnable, service, ci or not-runnable with a reason", () => {
    const ci = read(".ci/run");
    const problems = BLOCKS.flatMap((b) => {
      const problem = markerProblem(b, ci);
      return problem ? [`${b.file}:${b.line}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
    // A reason that names the test running the block names one that exists.
    const named = BLOCKS.flatMap((b) =>
      b.marker.kind === "not-runnable" ? [...b.marker.reason.matchAll(/\btest\/\S+\.ts\b/g)].map((m) => m[0]) : [],
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
    // The check has something to run in the README and the reference both.
    const runnable = BLOCKS.filter((b) => b.marker.kind === "runnable");
    expect(runnable.some((b) => b.file === "README.md")).toBe(true);
    expect(runnable.some((b) => b.file.startsWith("docs/"))).toBe(true);
  });

  it("links only to files and headings that exist", () => {
    const links = FILES.flatMap((file) => relativeLinks(file, read(file)));
    expect(links.length).toBeGreaterThan(20);
    const broken = links.flatMap((l) => {
      const problem = linkProblem(ROOT, l);
      return problem ? [`${l.file}:${l.line}: (${l.target}) ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it("names only variables the code reads, and documents every one of them in docs/configuration.md", () => {
    const walk = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => /\.(ts|mjs|js|json|yaml)$/.test(f))
        .map((f) => read(join(dir, f)));
    const code = [
      ...["lib", "functions", "dev", "scripts", "bench", "test/support", "deploy"].flatMap(walk),
      read("s.yaml"),
    ].join("\n");
    const inCode = variableNames(code);
    const named = variableNames(FILES.map(read).join("\n"));
    expect([...named].filter((v) => !inCode.has(v))).toEqual([]);
    // What the relay itself reads (lib/, functions/) is what an operator may set.
    const relay = variableNames(["lib", "functions"].flatMap(walk).join("\n"));
    const reference = read("docs/configuration.md");
    expect([...relay].filter((v) => !documents(reference, v))).toEqual([]);
    expect(relay.size).toBeGreaterThan(30);
  });

  describe("its runnable blocks, run as written next to the sandbox", () => {
    let world: DocsWorld;
    beforeAll(async () => {
      world = await startDocsWorld(ROOT);
    }, 120_000);
    afterAll(() => world?.close(), 20_000);

    const files = FILES.filter((f) => BLOCKS.some((b) => b.file === f && b.marker.kind === "runnable"));
    it.each(files)(
      "%s",
      async (file) => {
        const blocks = BLOCKS.filter(
          (b) => b.file === file && (b.marker.kind === "runnable" || b.marker.kind === "service"),
        );
        const result = await runSession(world, sessionScript(blocks, world.ports), 120_000);
        expect(result.failure ?? "").toBe("");
      },
      130_000,
    );

    it("README.md's example task is one the API knows: it ends, and not as DataNotExists", async () => {
      interface TaskPage {
        items: Array<{ taskId: string; metadata: { orderId?: number } | null }>;
      }
      interface TaskView {
        task: { state: string };
        events: Array<{ type: string; body: { data: { reason?: { code?: string } } } }>;
      }
      const get = async <T>(path: string) => (await (await fetch(`${world.apiUrl}/v1${path}`)).json()) as T;
      const page = await get<TaskPage>("/tasks?workspaceId=llm-sandbox&limit=100");
      // The README's submission is the sandbox's only task with orderId 42 (docs/http-api.md's is 43).
      const readme = page.items.filter((t) => t.metadata?.orderId === 42);
      expect(readme).toHaveLength(1);
      const path = `/tasks/llm-sandbox/${readme[0]?.taskId}`;
      // The README ran before the other files, but its task queues behind the sample tasks (about
      // 25 s at the sandbox's concurrency of 3), then runs 10–30 s: 45 s from here was a race.
      let view = await get<TaskView>(path);
      for (const until = Date.now() + 90_000; view.task.state !== "done" && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        view = await get<TaskView>(path);
      }
      expect(view.task.state).toBe("done");
      // Besides its end: the opt-in running event, and progress events (the sandbox's subscriber takes them).
      const ends = view.events.filter((e) => !["video_analysis.running", "video_analysis.progress"].includes(e.type));
      expect(ends).toHaveLength(1);
      expect(ends[0]?.body.data.reason?.code).not.toBe("DataNotExists");
    }, 120_000);
  });
});
