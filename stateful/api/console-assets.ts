/**
 * The ops console (console/, built by Vite into console/dist) served at `/`: files as they are,
 * hashed assets cached for a year, and `index.html` for every other path outside `/api` and the
 * probes, so that the single-page app's own routes (`/orders/abc`) load on refresh.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { ApiEnv } from './types.ts';

/** Paths never answered with the console's index.html. */
const NOT_CONSOLE = /^\/(api|metrics|healthz|readyz)(\/|$)/;

export function mountConsole(app: Hono<ApiEnv>, dir: string): boolean {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) return false;
  const index = readFileSync(indexFile, 'utf8');
  app.use('/assets/*', async (c, next) => {
    await next();
    // Hashed file names: a new build has new names, so these never change.
    if (c.res.status === 200) c.res.headers.set('Cache-Control', 'public, max-age=31536000, immutable');
  });
  app.use('/assets/*', serveStatic({ root: dir }));
  app.get('*', async (c, next) => {
    if (NOT_CONSOLE.test(c.req.path) || c.req.method !== 'GET') return next();
    if (/\.[a-z0-9]+$/i.test(c.req.path)) return next();
    c.header('Cache-Control', 'no-cache');
    return c.html(index);
  });
  app.use('*', serveStatic({ root: dir }));
  return true;
}
