/** Identifier checks made before any request, so a typo never costs an API call. */
import { InputError } from "../errors.js";

export const MAX_ID_LENGTH = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Returns the value when it is a usable identifier; throws InputError naming the problem. */
export function checkId(name: string, value: unknown): string {
  if (typeof value !== "string") throw new InputError(`${name} must be a string`);
  if (value.trim() === "") throw new InputError(`${name} must not be empty or blank`);
  if (value !== value.trim()) throw new InputError(`${name} must not start or end with whitespace`);
  if (value.length > MAX_ID_LENGTH) {
    throw new InputError(`${name} is ${value.length} characters long; the limit is ${MAX_ID_LENGTH}`);
  }
  if (CONTROL.test(value)) throw new InputError(`${name} must not contain control characters`);
  if (LONE_SURROGATE.test(value)) throw new InputError(`${name} is not well-formed Unicode`);
  return value;
}

/**
 * A workspace id: an id that is also one segment of every Quanmiao API path
 * (`/{workspaceId}/quanmiao/…`), so it cannot hold a slash, and `workspace/task` (as the relay
 * prints a task) splits at the first one.
 */
export function checkWorkspaceId(name: string, value: unknown): string {
  const id = checkId(name, value);
  if (id.includes("/"))
    throw new InputError(`${name} must not contain "/": it is one segment of the Quanmiao API's paths`);
  return id;
}
