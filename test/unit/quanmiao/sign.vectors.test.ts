import { describe, expect, it } from "vitest";
import {
  authorization,
  canonicalQuery,
  canonicalRequest,
  EMPTY_BODY_SHA256,
  encodePath,
  sha256Hex,
  signature,
} from "../../../lib/quanmiao/sign.js";

// Vectors V1, V2, V2-STS and V3 from the API reference notes (shared/reference/quanmiao-api.md §6).

describe("ACS3-HMAC-SHA256 vectors", () => {
  it("V1: the official documentation vector", () => {
    const req = {
      method: "POST",
      pathname: "/",
      query: { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" },
      headers: {
        host: "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256": EMPTY_BODY_SHA256,
      },
      payloadHash: EMPTY_BODY_SHA256,
    };
    expect(sha256Hex(canonicalRequest(req).canonical)).toBe(
      "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259",
    );
    expect(authorization(req, { accessKeyId: "YourAccessKeyId", accessKeySecret: "YourAccessKeySecret" })).toBe(
      "ACS3-HMAC-SHA256 Credential=YourAccessKeyId," +
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version," +
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
    );
  });

  const v2 = {
    method: "GET",
    pathname: encodePath(["llm-xxxx", "quanmiao", "lightapp", "videoAnalysis", "getVideoAnalysisTask"]),
    query: { taskId: "a3d1c2ac-f086-4a21-9069-f5631542f5a2" },
    headers: {
      host: "quanmiaolightapp.cn-beijing.aliyuncs.com",
      "x-acs-action": "GetVideoAnalysisTask",
      "x-acs-version": "2024-08-01",
      "x-acs-date": "2025-01-01T00:00:00Z",
      "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef",
      "x-acs-content-sha256": EMPTY_BODY_SHA256,
      "user-agent": "not-signed/1.0",
      accept: "application/json",
    },
    payloadHash: EMPTY_BODY_SHA256,
  };
  const v2Key = { accessKeyId: "testAccessKeyId", accessKeySecret: "testAccessKeySecret" };

  it("V2: GetVideoAnalysisTask, ROA GET", () => {
    expect(v2.pathname).toBe("/llm-xxxx/quanmiao/lightapp/videoAnalysis/getVideoAnalysisTask");
    expect(sha256Hex(canonicalRequest(v2).canonical)).toBe(
      "99602f9e9d99b587ae3dc55fca7a41f9142bc644268cbd79f4284919d1bb21a4",
    );
    expect(signature(v2, v2Key.accessKeySecret)).toEqual({
      signature: "25d5ea0dd526c932ef9073fc82dc0880fe5a5209a7cb9fb9b993c15d9be4694a",
      signedHeaders: "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
    });
  });

  it("V2-STS: the security token and STS key id are signed headers", () => {
    const sts = {
      ...v2,
      headers: {
        ...v2.headers,
        "x-acs-accesskey-id": "STS.testAccessKeyId",
        "x-acs-security-token": "testSecurityToken",
      },
    };
    expect(sha256Hex(canonicalRequest(sts).canonical)).toBe(
      "12992abd01c9fa8020989fcb47d27535dde21bed23f2a5fcdc365dc722b6dd63",
    );
    expect(authorization(sts, v2Key)).toBe(
      "ACS3-HMAC-SHA256 Credential=testAccessKeyId," +
        "SignedHeaders=host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version," +
        "Signature=0f461f90760fbb08f7c963d1d420a8e9ff1780015b789f7b69a8dc314b79180d",
    );
  });

  it("V3: RFC 3986 encoding of values, unicode included", () => {
    const req = {
      method: "GET",
      pathname: "/a/b",
      query: { b: "x y/z*~!'()", a: "中" },
      headers: { host: "h" },
      payloadHash: EMPTY_BODY_SHA256,
    };
    expect(canonicalQuery(req.query)).toBe("a=%E4%B8%AD&b=x%20y%2Fz%2A~%21%27%28%29");
    expect(signature(req, "s")).toEqual({
      signature: "e623e8bd31386c2021bb280aaf3e92b73b22af65e110ab9e6a3dbde9440d1a6f",
      signedHeaders: "host",
    });
  });

  it("joins repeated headers sorted, trims values, ignores unsigned headers", () => {
    const { canonical, signedHeaders } = canonicalRequest({
      method: "get",
      pathname: "/p",
      query: { empty: "" },
      headers: { "X-ACS-Test": ["  https ", "http"], "Content-Type": "application/json", accept: "x" },
      payloadHash: "00",
    });
    expect(signedHeaders).toBe("content-type;x-acs-test");
    expect(canonical).toBe(
      "GET\n/p\nempty=\ncontent-type:application/json\nx-acs-test:http,https\n\ncontent-type;x-acs-test\n00",
    );
  });
});
