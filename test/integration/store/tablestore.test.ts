import { onTestFinished } from "vitest";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../lib/store/tablestore/emulator/server.js";
import { TablestoreStore } from "../../../lib/store/tablestore.js";
import { storeConformance } from "../../support/store-conformance.js";

export async function tablestoreOnEmulator(): Promise<TablestoreStore> {
  const emulator = await startTablestoreEmulator();
  const store = new TablestoreStore({
    endpoint: emulator.url,
    instance: emulator.instance,
    credentials: staticCredentials(EMULATOR_CREDENTIAL),
  });
  await store.init();
  onTestFinished(async () => {
    await store.close();
    await emulator.close();
  });
  return store;
}

storeConformance("Tablestore on the emulator", tablestoreOnEmulator);
