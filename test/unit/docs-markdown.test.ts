/** The docs check's reading of Markdown: blocks and their markers, anchors, links. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  codeBlocks,
  commands,
  documents,
  headingAnchors,
  linkProblem,
  markerProblem,
  relativeLinks,
  variableNames,
} from "../support/docs.js";
import { sessionScript, withPorts } from "../support/docs-runner.js";

const SAMPLE = [
  "# Title", // 1
  "", // 2
  "```sh runnable", // 3
  "echo one", // 4
  "```", // 5
  "1. a step:", // 6
  "   ```bash not-runnable: needs a real cloud account", // 7
  "   s deploy \\", // 8
  "     -y   # really", // 9
  "   ```", // 10
  "```sh", // 11
  "echo unmarked", // 12
  "```", // 13
  "````text", // 14
  "```sh", // 15  (inside a longer fence: not a block of its own)
  "````", // 16
  "```", // 17
  "no language", // 18
  "```", // 19
  "```sh not-runnable: short", // 20
  "```", // 21
  "```sh ci", // 22
  "npm test   # all of it", // 23
  "npm run lint", // 24
  "```", // 25
  "```sh service", // 26
  "npx quanmiao-relay simulator --port 8790", // 27
  "```", // 28
  "```sh runable", // 29
  "```", // 30
].join("\n");

describe("the docs check's Markdown reading", () => {
  const blocks = codeBlocks("X.md", SAMPLE);

  it("finds each fenced block with its line, language, marker and unindented body", () => {
    expect(blocks.map((b) => [b.line, b.language, b.marker.kind])).toEqual([
      [3, "sh", "runnable"],
      [7, "bash", "not-runnable"],
      [11, "sh", "none"],
      [14, "text", "none"],
      [17, "", "none"],
      [20, "sh", "not-runnable"],
      [22, "sh", "ci"],
      [26, "sh", "service"],
      [29, "sh", "unknown"],
    ]);
    expect(blocks[1]?.body).toBe("s deploy \\\n  -y   # really");
    expect(commands(blocks[1]?.body ?? "")).toEqual(["s deploy -y"]);
  });

  it("says what is wrong with each marker, and nothing for good ones", () => {
    const ci = "set -e\nnpm ci\nnpm test\n";
    expect(blocks.map((b) => markerProblem(b, ci))).toEqual([
      undefined,
      undefined,
      expect.stringContaining("needs a marker"),
      undefined,
      expect.stringContaining("without a language"),
      "not-runnable needs its reason",
      "not in .ci/run: npm run lint",
      undefined,
      'unknown marker "runable"',
    ]);
  });

  it("makes GitHub's heading anchors, numbering repeats and skipping code", () => {
    const anchors = headingAnchors(
      "# Testing on localhost: `listen`\n## Fan-out\n## Fan-out\n```sh runnable\n# not a heading\n```\n",
    );
    expect([...anchors]).toEqual(["testing-on-localhost-listen", "fan-out", "fan-out-1"]);
  });

  describe("links", () => {
    const root = mkdtempSync(join(tmpdir(), "docs-links-"));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, "docs"));
    writeFileSync(join(root, "docs/a.md"), "# A page\n## Exit codes\n");
    writeFileSync(join(root, "docs/shot.png"), "");
    const text = [
      "See [a](docs/a.md#exit-codes), [b](docs/a.md#nope), [c](docs/missing.md), ![i](docs/shot.png),",
      "[web](https://example.com/x#y), [self](#a-page) and `[code](not/a/link.md)`.",
      "```text",
      "[in a block](ignored.md)",
      "```",
    ].join("\n");
    writeFileSync(join(root, "README.md"), "# A page\n");

    it("finds relative links and images outside code, and says which are broken", () => {
      const links = relativeLinks("README.md", text);
      expect(links.map((l) => l.target)).toEqual([
        "docs/a.md#exit-codes",
        "docs/a.md#nope",
        "docs/missing.md",
        "docs/shot.png",
        "#a-page",
      ]);
      expect(links.map((l) => linkProblem(root, l))).toEqual([
        undefined,
        "no heading #nope in docs/a.md",
        "no file docs/missing.md",
        undefined,
        undefined,
      ]);
    });
  });

  it("runs the documented ports as free ones, and maps the script's lines back to the docs", () => {
    const ports = new Map([
      [8787, 41001],
      [8790, 41002],
    ]);
    expect(withPorts("curl http://127.0.0.1:8787/v1 --port 8790 87870", ports)).toBe(
      "curl http://127.0.0.1:41001/v1 --port 41002 87870",
    );
    const script = sessionScript(
      [blocks[7], blocks[0]].filter((b) => b !== undefined),
      ports,
    );
    const lines = script.text.split("\n");
    expect(lines.some((l) => l.startsWith("npx quanmiao-relay simulator --port 41002 > ") && l.endsWith("&"))).toBe(
      true,
    );
    expect(lines).toContain("__docs_wait_port 41002");
    expect(script.origin[lines.indexOf("echo one")]).toBe("X.md:4");
  });

  it("finds variable names, and counts a table's `X` / `_MAX` pair as documenting X_MAX", () => {
    expect([...variableNames("RELAY_A=1 QUANMIAO_B TABLESTORE_C_D ALIBABA_E MY_RELAY_F")]).toEqual([
      "RELAY_A",
      "QUANMIAO_B",
      "TABLESTORE_C_D",
    ]);
    const table = "| `RELAY_CIRCUIT_COOLDOWN` / `_MAX` | … |\n| `RELAY_POLL_INTERVAL_MIN` / `_MAX` | … |";
    expect(documents(table, "RELAY_CIRCUIT_COOLDOWN_MAX")).toBe(true);
    expect(documents(table, "RELAY_POLL_INTERVAL_MAX")).toBe(true);
    expect(documents(table, "RELAY_CIRCUIT_COOLDOWN_MIN")).toBe(false);
    expect(documents(table, "RELAY_CIRCUIT")).toBe(false);
    expect(documents(table, "RELAY_TICK_MAX")).toBe(false);
  });
});
