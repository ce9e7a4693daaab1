/**
 * SubmitVideoAnalysisTask's request (reference §4). The API takes a form body in which list and
 * object fields travel as JSON strings; fields not listed here pass through the same way, so a
 * parameter Alibaba adds tomorrow can be used without a release.
 */
import { InvalidArgumentError } from "./errors.js";

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

/** Flattens the request into form fields: strings as they are, scalars as text, the rest as JSON. */
export function toFormFields(request: SubmitTaskRequest): Record<string, string> {
  if (!request.videoUrl && !(Array.isArray(request.videoUrls) && request.videoUrls.length > 0)) {
    throw new InvalidArgumentError("a submission needs videoUrl or videoUrls");
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
