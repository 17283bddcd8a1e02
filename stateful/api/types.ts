import type { RequestIdVariables } from 'hono/request-id';

/** The hono environment of every API route: the request id set by the request-id middleware. */
export type ApiEnv = { Variables: RequestIdVariables };
