/**
 * The relay's own Tablestore client: the nine operations the store uses, as signed protobuf POSTs
 * over one keep-alive undici pool, each with a timeout. One try per call: the store's retry
 * (client.ts) decides what to try again, from the error's `retryable`.
 */
import { createHash, createHmac } from "node:crypto";
import { Pool } from "undici";
import { withDeadline } from "../../../deadline.js";
import { RelayError } from "../../../errors.js";
import {
  decode,
  encode,
  errorOf,
  type RowChange,
  type RowOutcome,
  type UpdateColumns,
  type Condition as WriteCondition,
} from "./messages.js";
import { Message } from "./protobuf.js";
import type { AttributeValue, Pk, RowResult } from "./values.js";

export interface OtsCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export interface OtsClientOptions {
  readonly endpoint: string;
  readonly instance: string;
  /** Asked before every request: on FC the STS credentials rotate between invocations. */
  readonly credentials: () => Promise<OtsCredentials> | OtsCredentials;
  /** Each request, from sending it to the answer's last byte. */
  readonly timeoutMs: number;
  readonly connections?: number;
  readonly now?: () => number;
}

/** What the service (or the way to it) answered instead of a result. */
export class TablestoreError extends RelayError {
  readonly retryable: boolean;
  constructor(
    readonly operation: string,
    /** The HTTP status; undefined when no answer came (network, timeout). */
    readonly status: number | undefined,
    /** The service's error code, e.g. OTSConditionCheckFail. */
    readonly code: string | undefined,
    message: string,
    options: { cause?: unknown; requestId?: string | undefined; retryable?: boolean } = {},
  ) {
    const id = options.requestId ? ` (request ${options.requestId})` : "";
    super(`${operation}: ${code ? `${code}: ` : ""}${message}${id}`, options);
    this.retryable =
      options.retryable ?? (status === undefined || status === 409 || status >= 500 || RETRYABLE_CODES.has(code ?? ""));
  }
}

// Retryable although answered with a 4xx (the service's error table says retry).
const RETRYABLE_CODES = new Set([
  "OTSRowOperationConflict",
  "OTSNotEnoughCapacityUnit",
  "OTSQuotaExhausted",
  "OTSRequestTimeout",
]);

const API_VERSION = "2015-12-31";
/** The service answers at most 4 MB of rows per request; a little framing on top. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class OtsClient {
  private readonly pool: Pool;
  private readonly origin: string;

  constructor(private readonly options: OtsClientOptions) {
    this.origin = new URL(options.endpoint).origin;
    this.pool = new Pool(this.origin, {
      connections: options.connections ?? 32,
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async getRow(p: { tableName: string; primaryKey: Pk; columnsToGet?: string[] }): Promise<{ row: RowResult }> {
    return decode.getRow(await this.call("GetRow", encode.getRow(p)));
  }

  async putRow(p: {
    tableName: string;
    condition: WriteCondition;
    primaryKey: Pk;
    attributeColumns: Array<Record<string, AttributeValue>>;
  }): Promise<void> {
    await this.call("PutRow", encode.write(p.tableName, { type: "PUT", ...p }));
  }

  async updateRow(p: {
    tableName: string;
    condition: WriteCondition;
    primaryKey: Pk;
    updateOfAttributeColumns: UpdateColumns;
  }): Promise<void> {
    await this.call("UpdateRow", encode.write(p.tableName, { type: "UPDATE", ...p }));
  }

  async deleteRow(p: { tableName: string; condition: WriteCondition; primaryKey: Pk }): Promise<void> {
    await this.call("DeleteRow", encode.write(p.tableName, { type: "DELETE", ...p }));
  }

  async getRange(p: {
    tableName: string;
    inclusiveStartPrimaryKey: Pk;
    exclusiveEndPrimaryKey: Pk;
    limit: number;
    /** From the start key down towards the (smaller) end key. */
    backward?: boolean;
  }): Promise<{ rows: RowResult[]; nextStartPrimaryKey: Pk | null }> {
    const body = encode.getRange({
      tableName: p.tableName,
      start: p.inclusiveStartPrimaryKey,
      end: p.exclusiveEndPrimaryKey,
      limit: p.limit,
      backward: p.backward === true,
    });
    return decode.getRange(await this.call("GetRange", body));
  }

  /** Rows of each table in the keys' order; a row's own failure is in its outcome, not thrown. */
  async batchGetRow(p: {
    tables: Array<{ tableName: string; primaryKey: Pk[] }>;
  }): Promise<{ tables: RowOutcome[][] }> {
    const body = encode.batchGetRow(p.tables.map((t) => ({ tableName: t.tableName, primaryKeys: t.primaryKey })));
    return { tables: decode.batchGetRow(await this.call("BatchGetRow", body)) };
  }

  /** One outcome per row, every table's rows in the order sent. */
  async batchWriteRow(p: {
    tables: Array<{ tableName: string; rows: RowChange[] }>;
  }): Promise<{ tables: RowOutcome[] }> {
    return { tables: decode.batchWriteRow(await this.call("BatchWriteRow", encode.batchWriteRow(p.tables))) };
  }

  async listTable(): Promise<{ tableNames: string[] }> {
    return { tableNames: decode.listTable(await this.call("ListTable", Buffer.alloc(0))) };
  }

  async createTable(p: Parameters<typeof encode.createTable>[0]): Promise<void> {
    await this.call("CreateTable", encode.createTable(p));
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async headers(operation: string, body: Buffer): Promise<Record<string, string>> {
    const credentials = await this.options.credentials();
    const headers: Record<string, string> = {
      "x-ots-date": new Date(this.options.now?.() ?? Date.now()).toISOString(),
      "x-ots-apiversion": API_VERSION,
      "x-ots-accesskeyid": credentials.accessKeyId,
      "x-ots-instancename": this.options.instance,
      "x-ots-contentmd5": createHash("md5").update(body).digest("base64"),
    };
    if (credentials.securityToken) headers["x-ots-ststoken"] = credentials.securityToken;
    headers["x-ots-signature"] = signature(operation, headers, credentials.accessKeySecret);
    return headers;
  }

  private async call(operation: string, body: Buffer): Promise<Message> {
    let status: number;
    let answer: Buffer;
    let requestId: string | undefined;
    // Asked outside the try: a credentials provider's failure is its own error, not the network's.
    const headers = await this.headers(operation, body);
    try {
      // The pool's timeouts bound each phase; the deadline bounds the whole exchange.
      ({ status, requestId, answer } = await withDeadline(this.options.timeoutMs, async (signal) => {
        const response = await this.pool.request({
          origin: this.origin,
          method: "POST",
          path: `/${operation}`,
          headers,
          body,
          signal,
        });
        const id = response.headers["x-ots-requestid"] ?? response.headers["x-ots-request-id"];
        const answer = await readAnswer(response.body, operation);
        return { status: response.statusCode, requestId: Array.isArray(id) ? id[0] : id, answer };
      }));
    } catch (cause) {
      if (cause instanceof TablestoreError) throw cause;
      throw new TablestoreError(operation, undefined, undefined, String((cause as Error)?.message ?? cause), { cause });
    }
    if (status < 200 || status >= 300) {
      let e: { code?: string | undefined; message?: string | undefined } = {};
      try {
        e = errorOf(new Message(answer));
      } catch {
        // not a protobuf Error: a proxy's page, say; the status still says what happened
      }
      throw new TablestoreError(operation, status, e.code, e.message ?? `HTTP ${status}`, { requestId });
    }
    try {
      return new Message(answer);
    } catch (cause) {
      throw new TablestoreError(operation, status, undefined, "the answer is not a protobuf message", {
        cause,
        requestId,
      });
    }
  }
}

/** The x-ots signature: HMAC-SHA1 over the path, the method and the sorted x-ots-* headers. */
export function signature(operation: string, headers: Record<string, string>, secret: string): string {
  const lines = Object.keys(headers)
    .filter((n) => n.startsWith("x-ots-") && n !== "x-ots-signature")
    .sort()
    .map((n) => `${n}:${String(headers[n]).trim()}`);
  return createHmac("sha1", secret)
    .update(`/${operation}\nPOST\n\n${lines.join("\n")}\n`)
    .digest("base64");
}

async function readAnswer(body: AsyncIterable<Buffer> & { destroy(): void }, operation: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new TablestoreError(
        operation,
        undefined,
        undefined,
        `the answer is larger than ${MAX_ANSWER_BYTES} bytes`,
        {
          retryable: false,
        },
      );
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
