/**
 * Each record's fields, declared once per store: the column that holds each field and how it is
 * stored. Readers decode rows through the declaration and whole-row writers encode through it, so
 * a new field is one line per store rather than one per reader and writer.
 */
export type Kind = "str" | "int" | "bool" | "json";

export interface Column {
  readonly name: string;
  readonly kind: Kind;
  readonly optional: boolean;
  /** A required field's value when a row lacks the column (rows written before it existed). */
  readonly fallback?: unknown;
}

/** Every field of T, optional ones included, mapped to its column. */
export type Columns<T> = { readonly [K in keyof T]-?: Column };

const column = (kind: Kind, optional: boolean) => (name: string, fallback?: unknown) => ({
  name,
  kind,
  optional,
  ...(fallback === undefined ? {} : { fallback }),
});

/** Required fields. */
export const req = {
  str: column("str", false),
  int: column("int", false),
  bool: column("bool", false),
  json: column("json", false),
};
/** Optional fields: absent (or NULL) reads as undefined. */
export const opt = { str: column("str", true), int: column("int", true), json: column("json", true) };

/** A store's way of reading one column of a row: undefined when the row has no value there. */
export type ReadColumn = (column: Column) => unknown;

export function decode<T>(columns: Columns<T>, read: ReadColumn): T {
  const out: Record<string, unknown> = {};
  for (const [field, c] of Object.entries(columns) as Array<[string, Column]>) {
    const value = read(c);
    // A fallback object is copied: rows must not share one.
    out[field] = value === undefined && !c.optional ? structuredClone(c.fallback) : value;
  }
  return out as T;
}

/** Column name → stored value (undefined for an absent optional field), in declaration order. */
export function encode<T>(
  columns: Columns<T>,
  value: T,
  write: (fieldValue: unknown, column: Column) => unknown,
): Array<[string, unknown]> {
  return (Object.entries(columns) as Array<[string, Column]>).map(([field, c]) => {
    const v = (value as Record<string, unknown>)[field];
    return [c.name, v === undefined ? undefined : write(v, c)];
  });
}
