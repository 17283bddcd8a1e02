import type { RequestIdVariables } from 'hono/request-id';
import type { AuthVariables } from './auth/index.ts';

/**
 * The hono environment of every API route: the request id set by the request-id middleware, and
 * the caller set by the auth middleware (stateful/api/auth).
 */
export type ApiEnv = { Variables: RequestIdVariables & AuthVariables };
