/** Inputs the API fuzz aims where ids, names and free-form JSON are read (test/integration/api/fuzz.test.ts). */
import fc from "fast-check";

/** A JSON value nested `depth` deep (objects or arrays), as text: JSON.stringify could not build it. */
export const nested = fc
  .tuple(fc.constantFrom(33, 1_000, 10_000), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );
/** Every free-form place in every body, with the route that reads it. */
export const DEEP_TEMPLATES: Array<[string, string, string]> = [
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","metadata":{"k":$}}'],
  [
    "POST",
    "/v1/tasks",
    '{"tasks":[{"workspaceId":"llm-a","taskId":"t0"},{"workspaceId":"llm-a","taskId":"t1","metadata":{"k":$}}]}',
  ],
  ["POST", "/v1/tasks/submit", '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4","k":$}}'],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"metadata":{"k":$}}',
  ],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","headers":{"X-A":$}}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","rateLimitPerSecond":$}'],
  ["PATCH", "/v1/webhooks/wh_x", '{"enabled":$,"events":$}'],
  ["POST", "/v1/webhooks", "$"],
];
/** Each place an id, a URL or a name is given, with the route that reads it. */
export const TEXT_TEMPLATES: Array<[string, string, string]> = [
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"$"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"$","taskId":"t"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","profile":"$"}'],
  ["POST", "/v1/tasks", '{"workspaceId":"llm-a","taskId":"t","webhooks":["https://hooks.example/$"]}'],
  ["POST", "/v1/tasks", '{"tasks":[{"workspaceId":"llm-a","taskId":"ok"},{"workspaceId":"llm-a","taskId":"$"}]}'],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"deduplicationId":"$"}',
  ],
  [
    "POST",
    "/v1/tasks/submit",
    '{"workspaceId":"llm-a","request":{"videoUrl":"https://v.example/a.mp4"},"webhooks":["https://hooks.example/$"]}',
  ],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/$"}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","workspaceId":"$"}'],
  ["POST", "/v1/webhooks", '{"url":"https://hooks.example/h","headers":{"X-A":"$"}}'],
];
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them raw is the point
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Text with the characters that drive a terminal or reorder what it shows (JSON-escaped). */
export const hostile = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom("\\u001b[2J", "\\u0007", "\\r", "\\n", "\\u009b", "\\u007f", "\\u202e", "\\u2066", "\\u0000"),
  )
  .map(([text, c]) => `${JSON.stringify(text).slice(1, -1)}${c}x`);

/** Webhook URLs whose host is an IPv4 address the guard refuses, written in IPv6 forms. */
export const REFUSED_IPV6_URLS = [
  "http://[::127.0.0.1]/h",
  "http://[::7f00:1]/h",
  "http://[::ffff:0:127.0.0.1]/h",
  "http://[::ffff:0:7f00:1]/h",
  "http://[::ffff:127.0.0.1]/h",
  "https://[::ffff:a9fe:a9fe]/latest/meta-data",
  "http://[64:ff9b::10.0.0.1]/h",
  "http://[64:ff9b:1::a00:1]/h",
  "http://[2002:a00:1::1]/h",
  "http://[2001:0:1:2::80ff:fffe]/h",
  "http://[0:0:0:0:0:ffff:7f00:1]:8080/h",
];
