import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Pulumi's runtime keeps global state (the mock monitor, config): one process per file.
        pool: "forks",
        testTimeout: 120_000,
        hookTimeout: 120_000,
        reporters: ["default"],
    },
});
