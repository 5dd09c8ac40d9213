/**
 * Default authentication-attempt heuristic (DESIGN.md): a POST to a login-like route; 2xx/3xx
 * is a success, 4xx a failure. Per-application rules come with the mirror agent's config.
 */
const AUTH_ROUTE = /(^|\/)(log-?in|sign-?in|auth(enticate)?|oauth\/token|token|sessions?)(\/|$)/i;

export function authOutcome(
  method: string,
  route: string,
  status: number,
): 'success' | 'failure' | undefined {
  if (method !== 'POST' || !AUTH_ROUTE.test(route)) return undefined;
  if (status >= 200 && status < 400) return 'success';
  if (status >= 400 && status < 500) return 'failure';
  return undefined;
}
