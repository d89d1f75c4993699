import type { ApiPrincipal, ApiScope } from './store.js';

/**
 * The key in an `Authorization` header: `Bearer <key>` (RFC 6750) or `ApiKey <key>` (StateSet's
 * scheme), schemes case-insensitive. undefined when there is no header; null when there is one
 * that carries no key this node can read (which is refused, never ignored).
 */
export function authorizationKey(header: string | string[] | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return null;
  const m = /^(bearer|apikey)[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[2]! : null;
}

/**
 * admin implies read and submit: an operator's key should not need three scopes to do
 * everything. A tenant-bound key acts only for its tenant when a tenant is named.
 */
export function grants(principal: ApiPrincipal, scope: ApiScope, tenant?: string): boolean {
  const has = principal.scopes.has(scope) || principal.scopes.has('admin');
  if (!has) return false;
  if (tenant !== undefined && principal.tenant !== null && principal.tenant.toLowerCase() !== tenant.toLowerCase()) return false;
  return true;
}
