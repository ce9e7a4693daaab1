import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { TablestoreStore } from "../../../lib/store/tablestore.js";
import { TOKEN } from "../../support/api.js";
import { launchChromium } from "../../support/browser.js";
import { invokeBundle, isolated } from "../../support/bundles.js";

describe("the console as the FC api bundle serves it (npm run build → dist/api)", () => {
  it("runs in the browser from the minified bundle: signs in and lists, every request answered by the bundle", async () => {
    const emulator = await startTablestoreEmulator({ credentials: [EMULATOR_CREDENTIAL] });
    onTestFinished(() => emulator.close());
    // The tables, as deployment makes them.
    await new TablestoreStore({
      endpoint: emulator.url,
      instance: emulator.instance,
      credentials: staticCredentials(EMULATOR_CREDENTIAL),
    }).init();
    const bundle = isolated("api");
    const env = {
      RELAY_STORE: "tablestore",
      TABLESTORE_ENDPOINT: emulator.url,
      TABLESTORE_INSTANCE: emulator.instance,
      RELAY_API_TOKEN: TOKEN,
    };
    const context = {
      requestId: "req",
      credentials: { ...EMULATOR_CREDENTIAL, securityToken: "" },
      function: { name: "api", timeout: 60, memory: 512 },
    };
    const browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.setDefaultTimeout(20_000);
    // The browser's requests, each made an FC HTTP event for the bundle (no server in between).
    const origin = "http://relay.localhost";
    await page.route(`${origin}/**`, async (route) => {
      const req = route.request();
      const url = new URL(req.url());
      const body = req.postDataBuffer();
      const answer = await invokeBundle(
        bundle,
        {
          version: "v1",
          rawPath: url.pathname,
          headers: { ...(await req.allHeaders()), host: url.host },
          queryParameters: Object.fromEntries(url.searchParams),
          body: body ? body.toString("base64") : "",
          isBase64Encoded: true,
          requestContext: { http: { method: req.method(), path: url.pathname } },
        },
        context,
        env,
      );
      await route.fulfill({ status: answer.statusCode, headers: answer.headers, body: answer.body });
    });

    await page.goto(`${origin}/console`);
    await page.fill("#token", TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("table[aria-label=deliveries] tr.empty");
    expect(await page.locator("table[aria-label=deliveries] tr.empty").textContent()).toContain("No deliveries yet");
    expect(errors).toEqual([]);
  }, 60_000);
});
