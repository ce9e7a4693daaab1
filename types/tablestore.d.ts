/** The parts of the `tablestore` SDK (5.6, no bundled types) this project uses. */
declare module "tablestore" {
  export interface Int64 {
    toNumber(): number;
    toString(): string;
    toBuffer(): Buffer;
  }
  export type PkValue = string | Int64 | Buffer | object;
  export type Pk = Array<Record<string, PkValue>>;
  export type AttributeValue = string | number | boolean | Buffer | Int64;
  export interface RowResult {
    primaryKey?: Array<{ name: string; value: PkValue }>;
    attributes?: Array<{ columnName: string; columnValue: AttributeValue; timestamp: Int64 }>;
  }
  export class Condition {
    constructor(rowExistence: number, columnCondition: unknown);
  }
  export class SingleColumnCondition {
    constructor(
      name: string,
      value: AttributeValue,
      comparator: number,
      passIfMissing?: boolean,
      latestVersionOnly?: boolean,
    );
  }
  export class CompositeCondition {
    constructor(operator: number);
    addSubCondition(condition: unknown): void;
  }
  export class Client {
    constructor(options: Record<string, unknown>);
    createTable(params: Record<string, unknown>): Promise<unknown>;
    listTable(params: Record<string, unknown>): Promise<{ tableNames: string[] }>;
    deleteTable(params: Record<string, unknown>): Promise<unknown>;
    getRow(params: Record<string, unknown>): Promise<{ row: RowResult }>;
    putRow(params: Record<string, unknown>): Promise<{ row?: RowResult }>;
    updateRow(params: Record<string, unknown>): Promise<{ row?: RowResult }>;
    deleteRow(params: Record<string, unknown>): Promise<unknown>;
    getRange(
      params: Record<string, unknown>,
    ): Promise<{ rows: RowResult[]; nextStartPrimaryKey: Array<{ name: string; value: PkValue }> | null }>;
    batchGetRow(params: Record<string, unknown>): Promise<{
      tables: Array<Array<RowResult & { isOk: boolean; errorCode?: string | null; errorMessage?: string | null }>>;
    }>;
    batchWriteRow(
      params: Record<string, unknown>,
    ): Promise<{ tables: Array<{ isOk: boolean; errorCode?: string | null; errorMessage?: string | null }> }>;
  }
  const TableStore: {
    Client: typeof Client;
    Condition: typeof Condition;
    SingleColumnCondition: typeof SingleColumnCondition;
    CompositeCondition: typeof CompositeCondition;
    Long: { fromNumber(n: number): Int64; fromString(s: string): Int64 };
    RowExistenceExpectation: { IGNORE: number; EXPECT_EXIST: number; EXPECT_NOT_EXIST: number };
    ComparatorType: {
      EQUAL: number;
      NOT_EQUAL: number;
      GREATER_THAN: number;
      GREATER_EQUAL: number;
      LESS_THAN: number;
      LESS_EQUAL: number;
    };
    LogicalOperator: { NOT: number; AND: number; OR: number };
    Direction: { FORWARD: string; BACKWARD: string };
    ReturnType: { NONE: number; Primarykey: number; AfterModify: number };
    INF_MIN: object;
    INF_MAX: object;
  };
  export default TableStore;
}
