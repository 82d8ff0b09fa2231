import { defineConfig } from 'vitest/config';

// Tiers (shared/STYLE.md §10), as inline projects: vitest 4 ignores `projects` in a referenced config.
//   unit         no peer, or in-process ssh2 fakes and the built server over stdio; parallel
//   integration  the real OpenSSH sshd started by the globalSetup; files run one at a time
//   packaging    each package packed and imported under plain Node (ESM and CJS)
//   bench        `pnpm bench` only: timings against baselines run side by side (not in `pnpm test`)
// The tiers of `pnpm test` share one temp directory per run (TMPDIR), checked empty at the end.
const tempCheck = 'tooling/test-utils/src/temp-check.ts';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'tooling/*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          globalSetup: [tempCheck],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'tooling/*/test/**/*.int.test.ts', 'test/examples/**/*.int.test.ts'],
          // tempCheck first: its teardown runs last, after sshd's removed its own directory.
          globalSetup: [tempCheck, 'tooling/test-utils/src/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'bench',
          include: ['bench/**/*.bench.test.ts'],
          globalSetup: ['tooling/test-utils/src/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'packaging',
          include: ['test/packaging/**/*.test.ts'],
          globalSetup: [tempCheck],
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
