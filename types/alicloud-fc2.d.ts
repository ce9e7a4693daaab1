/** The part of `@alicloud/fc2` (2.6.6, no bundled types) this project uses. */
declare module "@alicloud/fc2" {
  interface FcClientConfig {
    accessKeyID: string;
    accessKeySecret: string;
    securityToken?: string | undefined;
    region: string;
    endpoint?: string;
    /** Milliseconds, for connecting and for reading the answer. */
    timeout?: number;
    headers?: Record<string, string>;
  }
  interface FcResponse {
    headers: Record<string, string | string[] | undefined>;
    data: unknown;
  }
  class FCClient {
    constructor(accountId: string, config: FcClientConfig);
    /** The API version that prefixes every path; FC 2.0's by default. */
    version: string;
    post(
      path: string,
      body: string | Buffer | null,
      headers?: Record<string, string>,
      queries?: Record<string, string> | null,
    ): Promise<FcResponse>;
  }
  export = FCClient;
}
