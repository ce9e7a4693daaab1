import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The reliability suite has its own command (npm run test:reliability).
    exclude: ["test/reliability/**", "**/node_modules/**"],
    // @alicloud/* packages are CJS with `exports.default`; make vitest resolve them as Node does.
    deps: { interopDefault: false },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
