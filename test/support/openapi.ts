/**
 * Checks a JSON answer against the response schema the relay's own OpenAPI document publishes for
 * that operation and status, with Ajv — a validator written by others, as a client generator would.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

type Schema = Record<string, unknown>;
type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>>;
  components: { schemas: Record<string, Schema> };
};

export function responseChecker(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const compiled = new Map<string, ValidateFunction>();

  /** The published schema of `METHOD /path/{template}` answering `status`; throws when there is none. */
  function schemaFor(operation: string, status: number): Schema {
    const [method = "", path = ""] = operation.split(" ");
    const response = doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
    const schema = (response?.content as { "application/json"?: { schema?: Record<string, unknown> } } | undefined)?.[
      "application/json"
    ]?.schema;
    if (!schema) throw new Error(`${operation} publishes no JSON schema for ${status}`);
    // The shared shapes (the error) are referenced from the document's components.
    const ref = /^#\/components\/schemas\/(\w+)$/.exec(String(schema.$ref ?? ""))?.[1];
    return ref === undefined ? schema : (doc.components.schemas[ref] as Schema);
  }

  /** Undefined when `body` matches; otherwise what is wrong. */
  function errors(operation: string, status: number, body: unknown): string | undefined {
    const key = `${operation} ${status}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(schemaFor(operation, status));
      compiled.set(key, validate);
    }
    return validate(body) ? undefined : ajv.errorsText(validate.errors);
  }

  return { schemaFor, errors };
}
