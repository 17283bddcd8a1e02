/**
 * Who may do what on the HTTP API: pure rules, no I/O. A request needs one permission, found from
 * its method and path; a caller holds roles, each granting permissions, and a trader's submit and
 * cancel are limited to the strategies of its grant.
 *
 * | role     | read (GET) | submit / cancel orders   | trading state | anything else mutating |
 * | -------- | ---------- | ------------------------ | ------------- | ---------------------- |
 * | viewer   | yes        | no                       | no            | no                     |
 * | trader   | yes        | its strategies (or `*`)  | no            | no                     |
 * | operator | yes        | no                       | yes           | no                     |
 * | admin    | yes        | every strategy           | yes           | yes                    |
 *
 * Public (no identity needed): the health probes, the OpenAPI document and its page, the console's
 * static files. A mutating route this table does not know needs admin: new routes are closed until
 * someone decides who may call them.
 */
import type { AuthRole } from '../../../shared/config/schema.ts';

export type Permission =
  | 'public'
  | 'read'
  | 'orders.submit'
  | 'orders.cancel'
  | 'trading_state.write'
  | 'admin';

/** The caller of a request, set on the hono context as `caller` by the auth middleware. */
export interface Caller {
  /** `user:alice@example.com`, `serviceAccount:...`, or `local` when auth is off. */
  id: string;
  roles: readonly AuthRole[];
  /** How the identity was established: `iap`, `id_token` or `local`. */
  source: 'iap' | 'id_token' | 'local';
  /** Strategies this caller may trade (`*` for all). */
  strategies: readonly string[];
}

const ROLE_PERMISSIONS: Readonly<Record<AuthRole, ReadonlySet<Permission>>> = {
  viewer: new Set<Permission>(['read']),
  trader: new Set<Permission>(['read', 'orders.submit', 'orders.cancel']),
  operator: new Set<Permission>(['read', 'trading_state.write']),
  admin: new Set<Permission>(['read', 'orders.submit', 'orders.cancel', 'trading_state.write', 'admin']),
};

const PUBLIC_PATHS = new Set(['/api/health', '/healthz', '/readyz', '/api/openapi.json', '/api/docs']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The permission a request needs. */
export function requiredPermission(method: string, path: string): Permission {
  const m = method.toUpperCase();
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (READ_METHODS.has(m)) {
    if (PUBLIC_PATHS.has(p)) return 'public';
    // Everything outside /api and /metrics is the console's static files.
    if (!p.startsWith('/api/') && p !== '/api' && p !== '/metrics') return 'public';
    return 'read';
  }
  if (m === 'POST' && p === '/api/orders') return 'orders.submit';
  if (m === 'DELETE' && /^\/api\/orders\/[^/]+$/.test(p)) return 'orders.cancel';
  if ((m === 'PUT' || m === 'POST') && p === '/api/trading-state') return 'trading_state.write';
  return 'admin';
}

/** Does this permission change anything (so it is counted against the mutation rate limit)? */
export function isMutation(permission: Permission): boolean {
  return permission !== 'public' && permission !== 'read';
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

/**
 * May `caller` use `permission` (for `strategyId` when the permission is per strategy)? A trader
 * without the strategy in its grant is refused; an admin may trade every strategy.
 */
export function authorize(caller: Caller, permission: Permission, strategyId?: string | null): Decision {
  if (permission === 'public') return { allowed: true };
  const held = caller.roles.some((r) => ROLE_PERMISSIONS[r].has(permission));
  if (!held) {
    return {
      allowed: false,
      reason: `${caller.id} (roles: ${caller.roles.join(', ') || 'none'}) may not ${describe(permission)}`,
    };
  }
  if ((permission === 'orders.submit' || permission === 'orders.cancel') && !caller.roles.includes('admin')) {
    if (strategyId !== undefined && strategyId !== null && !mayTrade(caller, strategyId)) {
      return { allowed: false, reason: `${caller.id} may not trade strategy ${strategyId}` };
    }
  }
  return { allowed: true };
}

export function mayTrade(caller: Caller, strategyId: string): boolean {
  return caller.strategies.includes('*') || caller.strategies.includes(strategyId);
}

function describe(permission: Permission): string {
  switch (permission) {
    case 'read':
      return 'read';
    case 'orders.submit':
      return 'submit orders';
    case 'orders.cancel':
      return 'cancel orders';
    case 'trading_state.write':
      return 'change the trading state';
    default:
      return 'call this endpoint (admin only)';
  }
}

export interface Grant {
  principal: string;
  roles: readonly AuthRole[];
  strategies: readonly string[];
}

/**
 * The roles of a verified e-mail from the configured grants: `user:` and `serviceAccount:` match the
 * address exactly (case-insensitive), `domain:` every address of the domain. Roles and strategies of
 * every matching grant add up. No grant → no roles (authenticated, but 403 on everything).
 */
export function rolesFor(
  email: string,
  grants: readonly Grant[],
): { roles: AuthRole[]; strategies: string[]; principal: string } {
  const address = email.toLowerCase();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const isServiceAccount = address.endsWith('.gserviceaccount.com');
  const roles = new Set<AuthRole>();
  const strategies = new Set<string>();
  for (const g of grants) {
    const [kind, ...rest] = g.principal.split(':');
    const value = rest.join(':').toLowerCase();
    const match =
      (kind === 'user' && !isServiceAccount && value === address) ||
      (kind === 'serviceAccount' && isServiceAccount && value === address) ||
      (kind === 'domain' && value === domain);
    if (!match) continue;
    for (const r of g.roles) roles.add(r);
    for (const s of g.strategies) strategies.add(s);
  }
  return {
    roles: [...roles],
    strategies: [...strategies],
    principal: `${isServiceAccount ? 'serviceAccount' : 'user'}:${address}`,
  };
}
