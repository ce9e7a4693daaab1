/**
 * SubmitVideoAnalysisTask's request (reference §4). The API takes a form body in which list and
 * object fields travel as JSON strings; fields not listed here pass through the same way, so a
 * parameter Alibaba adds tomorrow can be used without a release.
 */
import { InputError, InvalidValueError } from "../errors.js";
import { checkText } from "../input.js";

export interface SubmitTaskRequest {
  videoUrl?: string;
  videoUrls?: string[];
  videoModelId?: string;
  videoModelCustomPromptTemplate?: string;
  modelId?: string;
  modelCustomPromptTemplateId?: string;
  modelCustomPromptTemplate?: string;
  generateOptions?: string[];
  excludeGenerateOptions?: string[];
  textProcessTasks?: Array<Record<string, unknown>>;
  videoExtraInfo?: string;
  snapshotInterval?: number;
  splitInterval?: number;
  splitType?: string;
  language?: string;
  frameSampleMethod?: Record<string, unknown>;
  videoRoles?: Array<Record<string, unknown>>;
  autoRoleRecognitionVideoUrl?: string;
  faceIdentitySimilarityMinScore?: number;
  videoShotFaceIdentityCount?: number;
  videoCaptionInfo?: Record<string, unknown>;
  /** Same id within 72 h: the API refuses the duplicate. The natural idempotency key. */
  deduplicationId?: string;
  addDocumentParam?: Record<string, unknown>;
  [extra: string]: unknown;
}

/**
 * The kind of work a submission asks for, as far as it shapes run time: what is generated and by
 * which models. Tasks with the same profile learn their run times together (lib/runtimes.ts).
 */
export function submissionProfile(request: SubmitTaskRequest): string {
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String).sort().join("+") : "");
  return [
    list(request.generateOptions) || "default",
    list(request.excludeGenerateOptions) && `-${list(request.excludeGenerateOptions)}`,
    request.videoModelId ?? "",
    request.modelId ?? "",
    Array.isArray(request.textProcessTasks) ? `tasks${request.textProcessTasks.length}` : "",
  ]
    .filter(Boolean)
    .join("|")
    .slice(0, 200);
}

/**
 * The videos' addresses, checked before anything is billed: the API fetches each itself, so what
 * is not an absolute URL (`notaurl`, or `localhost:3000/a.mp4`, whose scheme would be `localhost:`)
 * only fails later, as a task that cost a submission. `field` names them as the caller gave them.
 */
export function checkVideoUrls(request: SubmitTaskRequest, field = (name: string) => name): void {
  const check = (name: string, url: unknown) => {
    // A scheme the service cannot fetch from (file:, data:) fails only as a billed task, and
    // control characters would go upstream as they are (the CLI refused them; the API did not).
    if (typeof url !== "string" || !/^(https?|oss):\/\//i.test(url) || !URL.canParse(url))
      throw new InvalidValueError(
        "must be an absolute http(s) URL the API can fetch (or oss://), e.g. https://example.com/a.mp4",
        { field: field(name) },
      );
    checkText(field(name), url);
  };
  if (request.videoUrl !== undefined) check("videoUrl", request.videoUrl);
  if (request.videoUrls !== undefined) {
    if (!Array.isArray(request.videoUrls))
      throw new InvalidValueError("must be a list of absolute http(s) URLs the API can fetch", {
        field: field("videoUrls"),
      });
    for (const [i, url] of request.videoUrls.entries()) check(`videoUrls[${i}]`, url);
  }
}

/** Flattens the request into form fields: strings as they are, scalars as text, the rest as JSON. */
export function toFormFields(request: SubmitTaskRequest): Record<string, string> {
  if (!request.videoUrl && !(Array.isArray(request.videoUrls) && request.videoUrls.length > 0)) {
    throw new InputError("a submission needs videoUrl or videoUrls");
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "string") fields[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") fields[name] = String(value);
    else fields[name] = JSON.stringify(value);
  }
  return fields;
}

export function encodeForm(fields: Readonly<Record<string, string>>): string {
  return new URLSearchParams(fields).toString();
}
