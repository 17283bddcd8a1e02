/**
 * Worker threads start on the worker's module graph bundled once per process: plain JavaScript with
 * the project's modules inlined and npm packages imported by their resolved file URL (no tsx
 * loader in the workers). The pool's results on the bundle equal those on the tsx bootstrap
 * (test/integration/backtest/run.test.ts runs the pool on the default entry).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WindowPool } from '../../../infra/backtest/pool.ts';
import { workerEntry } from '../../../infra/backtest/worker-entry.ts';

describe('backtest worker entry', () => {
  it('is one bundled ES module, built once per process, importing packages by file URL', async () => {
    const a = await workerEntry();
    const b = await workerEntry();
    expect(a.kind).toBe('bundle');
    expect(b).toBe(a);
    expect(a.url.pathname).toMatch(/exec-backtest-worker-[0-9a-f]{16}\.mjs$/);
    const code = await readFile(fileURLToPath(a.url), 'utf8');
    const specifiers = [...code.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '');
    expect(specifiers.length).toBeGreaterThan(0);
    // No relative import (project modules are inlined); packages by absolute file URL; builtins as node:.
    for (const s of specifiers) expect(s, s).toMatch(/^(file:\/\/\/|node:)/);
    expect(specifiers.some((s) => s.includes('/node_modules/zod/'))).toBe(true);
    expect(await workerEntry('tsx')).toMatchObject({ kind: 'tsx' });
  });

  it('a pool starts its workers on the bundle (or tsx when asked) and closes cleanly', async () => {
    for (const entry of ['bundle', 'tsx'] as const) {
      const pool = new WindowPool({
        size: 2,
        dataLocation: '/nonexistent',
        resultsLocation: '/nonexistent',
        entry,
      });
      expect((await pool.started).kind).toBe(entry);
      await pool.close();
    }
  });
});
