import { defineConfig } from 'vitest/config';

// Five suites: unit (pure, fast), contract (one suite per port, run against the embedded adapter
// AND the Google adapter on its emulator), integration (functions, services and emulators together),
// console (the ops console's components in happy-dom) and browser (the console in headless
// Chromium against `npm start` as a process; fails under CI=true when Chromium cannot start).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'contract',
          include: ['test/contract/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/chaos/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: './console/vite.config.ts',
        test: {
          name: 'console',
          include: ['console/test/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // The console polls every 1–2 s: a page shows a change one poll later, later still on a busy
          // machine. Waiting is not a timing assertion; the figures are printed, never asserted.
          expect: { poll: { timeout: 15_000, interval: 100 } },
        },
      },
    ],
  },
});
