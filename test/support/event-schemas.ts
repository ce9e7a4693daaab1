/**
 * Checks an event body against the JSON Schema the relay publishes for its type (GET /v1/event-types),
 * with Ajv — a validator written by others, as a subscriber would use it.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { eventTypes } from "../../lib/event-schemas.js";

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validators = new Map(eventTypes().map((t) => [t.type, ajv.compile(t.schema)]));

/** Undefined when the body matches its type's schema; otherwise what is wrong. */
export function eventSchemaErrors(body: unknown): string | undefined {
  const type = (body as { type?: unknown })?.type;
  const validate = typeof type === "string" ? validators.get(type) : undefined;
  if (!validate) return `no published schema for type ${String(type)}`;
  return validate(body) ? undefined : ajv.errorsText(validate.errors);
}
