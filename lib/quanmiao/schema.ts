/**
 * The GetVideoAnalysisTask answer, parsed loosely (reference §3): every field is optional, unknown
 * fields are kept, numbers the docs show as strings are accepted, and a field of an unexpected type
 * becomes `undefined` in the typed view instead of failing the whole task. The raw `data` object is
 * kept untouched next to the view, because subscribers receive exactly what the API said.
 */
import { z } from "zod";

/** A field that may be absent or malformed; either way the typed view holds `undefined`. */
function opt<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

const NUMERIC = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;
const num = z.union([z.number(), z.string().regex(NUMERIC).transform(Number)]);
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
const str = z.string();
const arrayOf = <T extends z.ZodType>(item: T) => opt(z.array(item));

const usage = z.looseObject({
  inputTokens: opt(num),
  outputTokens: opt(num),
  totalTokens: opt(num),
  imageTokens: opt(num),
});

const generated = {
  generateFinished: opt(bool),
  text: opt(str),
  usage: opt(usage),
};

const shot = z.looseObject({ startTime: opt(num), endTime: opt(num), text: opt(str) });
const caption = z.looseObject({
  startTime: opt(num),
  endTime: opt(num),
  startTimeFormat: opt(str),
  endTimeFormat: opt(str),
  text: opt(str),
  speaker: opt(str),
});
const generateResult = z.looseObject({
  ...generated,
  modelId: opt(str),
  modelReduce: opt(bool),
  reasonText: opt(str),
  index: opt(num),
});
const mindLeaf = z.looseObject({ name: opt(str) });
const mindMid = z.looseObject({ name: opt(str), childNodes: arrayOf(mindLeaf) });
const mindRoot = z.looseObject({ name: opt(str), childNodes: arrayOf(mindMid) });
const roleInterval = z.looseObject({ startTime: opt(num), endTime: opt(num), timestamp: opt(num), url: opt(str) });
const role = z.looseObject({
  roleName: opt(str),
  roleInfo: opt(str),
  ratio: opt(num),
  isAutoRecognition: opt(bool),
  timeIntervals: arrayOf(roleInterval),
});
const calculatorItem = z.looseObject({
  name: opt(str),
  type: opt(str),
  inputToken: opt(num),
  outputToken: opt(num),
  time: opt(num),
  inputExpense: opt(num),
  outputExpense: opt(num),
  timeExpense: opt(num),
  totalExpense: opt(num),
});

/** The ten sub-results of `payload.output`; which appear depends on the submitted generateOptions. */
export const outputSchema = z.looseObject({
  videoAnalysisResult: opt(z.looseObject({ ...generated, videoShotAnalysisResults: arrayOf(shot) })),
  videoCaptionResult: opt(z.looseObject({ generateFinished: opt(bool), videoCaptions: arrayOf(caption) })),
  videoGenerateResult: opt(generateResult),
  videoGenerateResults: arrayOf(generateResult),
  videoMindMappingGenerateResult: opt(z.looseObject({ ...generated, videoMindMappings: arrayOf(mindRoot) })),
  videoTitleGenerateResult: opt(z.looseObject(generated)),
  resultJsonFileUrl: opt(str),
  videoRoleRecognitionResult: opt(z.looseObject({ videoRoles: arrayOf(role) })),
  videoCalculatorResult: opt(z.looseObject({ items: arrayOf(calculatorItem) })),
  addDatasetDocumentsResult: opt(
    z.looseObject({ status: opt(num), title: opt(str), docId: opt(str), docUuid: opt(str), errorMessage: opt(str) }),
  ),
});

export const taskDataSchema = z.looseObject({
  taskId: opt(str),
  taskStatus: opt(str),
  errorMessage: opt(str),
  taskRunInfo: opt(z.looseObject({ concurrentChargeEnable: opt(bool), responseTime: opt(num) })),
  header: opt(
    z.looseObject({
      errorCode: opt(str),
      errorMessage: opt(str),
      event: opt(str),
      eventInfo: opt(str),
      sessionId: opt(str),
      taskId: opt(str),
      traceId: opt(str),
    }),
  ),
  payload: opt(z.looseObject({ output: opt(outputSchema), usage: opt(usage) })),
});

export type TaskData = z.infer<typeof taskDataSchema>;
export type TaskOutput = z.infer<typeof outputSchema>;

/** The API's spelling: SUCCESSED (sic) and CANCELED. SUSPENDED is undocumented and treated as live. */
export const TASK_STATUSES = ["PENDING", "RUNNING", "SUCCESSED", "SUSPENDED", "FAILED", "CANCELED"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["SUCCESSED", "FAILED", "CANCELED"]);

export function isTerminalStatus(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.has(status);
}

export type JsonObject = Record<string, unknown>;

/**
 * One task as the API answered it: `raw` is the `data` object exactly as sent (what subscribers
 * receive); `view` is the typed, coerced reading for the relay's own decisions. The view is built on
 * first use: most polls need only the status, and parsing a large result is the costliest step of a
 * call. Building it never throws: every field has a fallback.
 */
export class ParsedTask {
  #view: TaskData | undefined;

  constructor(
    readonly raw: JsonObject,
    readonly requestId?: string | undefined,
  ) {}

  get view(): TaskData {
    this.#view ??= taskDataSchema.parse(this.raw);
    return this.#view;
  }

  /** The status alone, without building the view. */
  get status(): string | undefined {
    const status = this.raw.taskStatus;
    return typeof status === "string" ? status : undefined;
  }
}

export function parseTaskData(raw: JsonObject, requestId?: string): ParsedTask {
  return new ParsedTask(raw, requestId);
}

export const configDataSchema = z.looseObject({ asyncConcurrency: opt(num) });
export const submitDataSchema = z.looseObject({ taskId: opt(str) });
