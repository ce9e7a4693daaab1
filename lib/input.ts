/**
 * Bounds on what a caller may hand the relay, shared by the API, the CLI and library callers.
 * Text that is stored and later shown (ids, URLs, profiles) must hold no terminal control
 * characters; free-form JSON (metadata, a submission's request) must be shallow enough that every
 * later JSON.stringify, clone or walk of it stays far from the stack limit.
 */
import { InvalidValueError } from "./errors.js";

/** Containers inside containers: `{"a":{"b":1}}` is 2 deep. */
export const MAX_JSON_DEPTH = 32;
export const MAX_METADATA_BYTES = 16 * 1024;

/**
 * C0 (ESC, BEL, CR, LF…), DEL and C1 drive terminals; the line separators and the bidi marks,
 * embeddings, overrides and isolates reorder or split what a person reads. None has a place in
 * an id or a URL.
 */
const UNSAFE_SOURCE =
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]";
const UNSAFE = new RegExp(UNSAFE_SOURCE);
const UNSAFE_ALL = new RegExp(UNSAFE_SOURCE, "g");

const codePoint = (c: string) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/** Refuses text holding a control or bidi character, naming the first one (never echoing it raw). */
export function checkText(field: string, value: string): string {
  const found = UNSAFE.exec(value);
  if (found) {
    throw new InvalidValueError(
      `must not contain control or bidirectional-override characters (${codePoint(found[0])} at position ${found.index})`,
      { field },
    );
  }
  return value;
}

/**
 * The same characters made visible (`\u001b`), for text printed to a terminal. A `\uXXXX` escape is
 * also what JSON means by them, so JSON text stays valid and equal when passed through.
 */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_ALL, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
}

/**
 * A refused value, for an error message: quoted and cut at 40 characters if text (never echoing a
 * control or bidi character raw), else its number or its type.
 */
export function shownValue(value: unknown): string {
  if (typeof value === "string")
    return escapeUnsafe(JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value));
  return typeof value === "number" || value === null ? String(value) : typeof value;
}

/** Like escapeUnsafe, but line breaks and tabs stay: for whole outputs, whose lines are ours. */
export function escapeUnsafeKeepingLines(text: string): string {
  return text.replace(UNSAFE_ALL, (c) =>
    c === "\n" || c === "\t" || c === "\r" ? c : `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Node | undefined;
  readonly key: string | number | undefined;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/** `metadata.a[3]["x y"]`, built only when a value is refused. */
function pathOf(field: string, node: Node): string {
  const keys: Array<string | number> = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) keys.push(n.key);
  return jsonPath(field, keys.reverse());
}

/** A field and the keys below it as one path, `metadata.a[3]["x y"]`: long or unsafe keys quoted and escaped. */
export function jsonPath(field: string, keys: ReadonlyArray<string | number>): string {
  let path = field;
  for (const key of keys) {
    if (typeof key === "number") path += `[${key}]`;
    else if (PLAIN_KEY.test(key) && key.length <= 64) path += `.${key}`;
    else path += `[${JSON.stringify(escapeUnsafe(key.length > 64 ? `${key.slice(0, 64)}…` : key))}]`;
  }
  return path;
}

/**
 * Refuses JSON nested deeper than `maxDepth` (naming the path where it goes too deep), holding a
 * number too large for JSON, or, when `maxBytes` is given, longer than that as JSON. The walk keeps its own stack, so no input can
 * exhaust the call stack here; stringifying for the size only happens once the depth is known to
 * be safe. A cycle, which only a library caller can build, is refused as too deep.
 */
export function checkJsonBounds(
  field: string,
  value: unknown,
  limits: { readonly maxDepth?: number; readonly maxBytes?: number } = {},
): void {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const stack: Node[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const v = node.value;
    // 1e400 parses as Infinity, which JSON.stringify writes as null: stored, it was another value.
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new InvalidValueError("is a number JSON cannot hold (1e400 reads as Infinity)", {
        field: pathOf(field, node),
      });
    }
    // 1234567890123456789 parses as …800: stored, it was another id. Such ids go as strings.
    if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      throw new InvalidValueError("is an integer past 2^53, which loses digits as a JSON number: send it as a string", {
        field: pathOf(field, node),
      });
    }
    if (typeof v !== "object" || v === null) continue;
    if (node.depth > maxDepth) {
      throw new InvalidValueError(`nests deeper than ${maxDepth} levels of objects and arrays`, {
        field: pathOf(field, node),
      });
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth: node.depth + 1, parent: node, key: i });
    } else {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        const childNode = { value: child, depth: node.depth + 1, parent: node, key };
        // JSON.parse keeps it as a key; any copy of the object (a spread, a schema) silently drops it.
        if (key === "__proto__")
          throw new InvalidValueError(
            "is a key named __proto__, which JavaScript takes for a prototype: it cannot be kept",
            {
              field: pathOf(field, childNode),
            },
          );
        stack.push(childNode);
      }
    }
  }
  if (limits.maxBytes !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? "");
    if (bytes > limits.maxBytes) {
      throw new InvalidValueError(`must be at most ${limits.maxBytes} bytes as JSON (it is ${bytes})`, { field });
    }
  }
}
