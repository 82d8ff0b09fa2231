import { defineConfig } from 'vitest/config';

// Tiers (shared/STYLE.md §10), as inline projects: vitest 4 ignores `projects` in a referenced config.
//   unit         no peer, or in-process ssh2 fakes and the built server over stdio; parallel
//   integration  the real OpenSSH sshd started by the globalSetup; files run one at a time
//   packaging    each package packed and imported under plain Node (ESM and CJS)
//   bench        `pnpm bench` only: timings against baselines run side by side (not in `pnpm test`)
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
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'tooling/*/test/**/*.int.test.ts', 'test/examples/**/*.int.test.ts'],
          globalSetup: ['tooling/test-utils/src/global-setup.ts'],
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
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
