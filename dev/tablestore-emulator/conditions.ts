/** Decoding what a write asks for: its row condition, its column condition, and its attribute limits. */
import type { Cell } from "../../lib/store/tablestore/wire/plainbuffer.js";
import { decodeVariant } from "../../lib/store/tablestore/wire/plainbuffer-decode.js";
import { filterMessage } from "./proto.js";
import { type ColumnCondition, type Comparator, invalid, type PkType, type WriteCondition } from "./tables.js";

const EXISTENCE = ["IGNORE", "EXPECT_EXIST", "EXPECT_NOT_EXIST"] as const;
const COMPARATORS: Record<number, Comparator> = {
  1: "EQUAL",
  2: "NOT_EQUAL",
  3: "GREATER_THAN",
  4: "GREATER_EQUAL",
  5: "LESS_THAN",
  6: "LESS_EQUAL",
};
export const PK_TYPES: Record<number, PkType> = { 1: "INTEGER", 2: "STRING", 3: "BINARY" };

export function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

function decodeColumnCondition(raw: Uint8Array): ColumnCondition {
  const filter = filterMessage("Filter").decode(raw) as { type: number; filter: Uint8Array };
  if (filter.type === 1) {
    const f = filterMessage("SingleColumnValueFilter").decode(filter.filter) as {
      comparator: number;
      columnName: string;
      columnValue: Uint8Array;
      filterIfMissing: boolean;
    };
    const comparator = COMPARATORS[f.comparator];
    if (!comparator) throw invalid(`Unknown comparator ${f.comparator}.`);
    return {
      kind: "single",
      column: f.columnName,
      comparator,
      value: decodeVariant(f.columnValue),
      passIfMissing: !f.filterIfMissing,
    };
  }
  if (filter.type === 2) {
    const f = filterMessage("CompositeColumnValueFilter").decode(filter.filter) as {
      combinator: number;
      subFilters: Array<{ type: number; filter: Uint8Array }>;
    };
    const operator = ({ 1: "NOT", 2: "AND", 3: "OR" } as const)[f.combinator as 1 | 2 | 3];
    if (!operator) throw invalid(`Unknown logical operator ${f.combinator}.`);
    const conditions = f.subFilters.map((sub) => decodeColumnCondition(filterMessage("Filter").encode(sub).finish()));
    if (operator === "NOT" ? conditions.length !== 1 : conditions.length < 2) {
      throw invalid(`A ${operator} condition has ${conditions.length} sub-conditions.`);
    }
    return { kind: "composite", operator, conditions };
  }
  throw invalid(`Unsupported column condition type ${filter.type}.`);
}

export function decodeCondition(raw: unknown): WriteCondition {
  const c = (raw ?? {}) as { rowExistence?: number; columnCondition?: Uint8Array };
  const rowExistence = EXISTENCE[c.rowExistence ?? 0];
  if (!rowExistence) throw invalid(`Unknown row existence expectation ${c.rowExistence}.`);
  const column =
    c.columnCondition && c.columnCondition.length > 0 ? decodeColumnCondition(c.columnCondition) : undefined;
  return { rowExistence, column };
}

export function checkAttributes(cells: readonly Cell[]): void {
  if (cells.length > 1024) throw invalid("The number of attribute columns exceeds the limit 1024.");
  for (const c of cells) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(c.name)) throw invalid(`Invalid column name: '${c.name}'.`);
    if (c.value && (c.value.type === "string" || c.value.type === "blob")) {
      const size = c.value.type === "string" ? Buffer.byteLength(c.value.value) : c.value.value.length;
      if (size > 2 * 1024 * 1024)
        throw invalid(`The length of attribute column: '${c.name}' exceeds the MaxLength:2097152.`);
    }
  }
}
