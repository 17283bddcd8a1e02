/**
 * Development controls, served only when `npm start` runs the local exchange in process (the
 * embedded default; never in the cloud):
 *
 *   GET /api/dev/local-exchange              {url, state: 'online' | 'offline'}
 *   PUT /api/dev/local-exchange {state}      take the local exchange offline (every connection
 *                                            refused, WebSockets dropped) or back online
 *
 * so that an operator, or a browser test, can see what the platform does when its venue goes away.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { parseWith } from '../../../shared/domain/schemas.ts';
import { readJsonBody, sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';

export interface LocalExchangeControl {
  url: string;
  isOffline(): boolean;
  offline(): void;
  online(): void;
}

const StateSchema = z.strictObject({
  state: z.enum(['online', 'offline'], { error: 'must be online or offline' }),
});

export function devRoutes(exchange: LocalExchangeControl): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const view = () => ({ url: exchange.url, state: exchange.isOffline() ? 'offline' : 'online' });
  app.get('/local-exchange', (c) => sendJson(c, 200, view(), { 'Cache-Control': 'no-store' }));
  app.put('/local-exchange', async (c) => {
    const body = await readJsonBody(c, { required: true, what: 'the state {state: online | offline}' });
    const r = parseWith(StateSchema, body, 'invalid_state');
    if (!r.success) throw r.error;
    if (r.data.state === 'offline') exchange.offline();
    else exchange.online();
    return sendJson(c, 200, view());
  });
  return app;
}
