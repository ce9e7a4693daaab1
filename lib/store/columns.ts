/**
 * Each record's fields, declared once for both stores (records.ts): which fields there are and how
 * each is stored (text, integer, number, boolean, JSON; required or optional). A store names the
 * columns by its own rule and reads and writes rows through the declaration, so a new field is one
 * word in one place rather than a line in every reader and writer.
 */
/** `int` is a whole number (Tablestore's Int64 drops a fraction); `num` may have one (a double). */
export type Kind = "str" | "int" | "num" | "bool" | "json";
const KINDS: readonly Kind[] = ["str", "int", "num", "bool", "json"];

export interface Field {
  readonly field: string;
  readonly kind: Kind;
  readonly optional: boolean;
}

export interface Column extends Field {
  readonly name: string;
}

/** A record's fields (the type parameter says which record: it is never a value). */
export type Fields<T> = readonly Field[] & { readonly __record?: T };
/** A record's columns in one store. */
export type Columns<T> = readonly Column[] & { readonly __record?: T };

type Names<T> = ReadonlyArray<keyof T & string>;

/** Field names grouped by how they are stored; `optional` ones may be absent. */
export type Groups<T> = { readonly [K in Kind]?: Names<T> } & {
  readonly optional?: { readonly [K in Kind]?: Names<T> };
};

type Listed<G> =
  G extends ReadonlyArray<infer U> ? U : G extends object ? { [K in keyof G]: Listed<G[K]> }[keyof G] : never;
type Missing<T, G> = Exclude<keyof T, Listed<G>>;

/** Declares a record's fields; it does not compile while a field of T is left out. */
export function record<T>() {
  return <const G extends Groups<T>>(
    groups: G & ([Missing<T, G>] extends [never] ? unknown : { readonly missing: Missing<T, G> }),
  ): Fields<T> => {
    const fields: Field[] = [];
    const add = (kinds: { readonly [K in Kind]?: Names<T> } | undefined, optional: boolean) => {
      for (const kind of KINDS) for (const field of kinds?.[kind] ?? []) fields.push({ field, kind, optional });
    };
    add(groups, false);
    add(groups.optional, true);
    return fields;
  };
}

/** The fields as one store's columns, named by its rule. */
export function columns<T>(fields: Fields<T>, name: (field: string) => string): Columns<T> {
  return fields.map((f) => ({ ...f, name: name(f.field) }));
}

/** `nextPollAtMs` → `next_poll_at_ms`. */
export const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A row as a record. `read` gives a column's value or undefined; a required field that a row lacks
 * (one written before the field existed) takes `fallback`'s value for its kind.
 */
export function decode<T>(
  cols: Columns<T>,
  read: (column: Column) => unknown,
  fallback: (column: Column) => unknown = () => undefined,
): T {
  const out: Record<string, unknown> = {};
  for (const c of cols) {
    const value = read(c);
    out[c.field] = value === undefined && !c.optional ? fallback(c) : value;
  }
  return out as T;
}

/** A record as [column, stored value] pairs in declaration order; undefined for an absent field. */
export function encode<T>(
  cols: Columns<T>,
  value: T,
  write: (fieldValue: unknown, column: Column) => unknown,
): Array<[string, unknown]> {
  return cols.map((c) => {
    const v = (value as Record<string, unknown>)[c.field];
    return [c.name, v === undefined ? undefined : write(v, c)];
  });
}
