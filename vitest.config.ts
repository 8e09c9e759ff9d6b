import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Two cores: run files in forked workers, a couple at a time, so servers started per test stay isolated.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // One Redis and one temp dir for the whole run, stopped and removed after the last file.
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
