import type { RequestIdVariables } from 'hono/request-id';
import type { IdentityVariables } from './identity/index.ts';

/** The hono environment of every API route: the request id and the caller's identity. */
export type ApiEnv = { Variables: RequestIdVariables & Partial<IdentityVariables> };
