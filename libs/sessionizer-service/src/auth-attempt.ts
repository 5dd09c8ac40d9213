/**
 * Authentication attempts and their outcome. Per application, configured rules (method +
 * route + statuses meaning success or failure) come first; the default heuristic (DESIGN.md) —
 * a POST to a login-like route, 2xx/3xx success, 4xx failure — applies to what no rule matched
 * unless the application turns it off.
 */
import type { ApplicationConfig, AuthRule } from './session-config';

export type AuthOutcome = 'success' | 'failure';

const AUTH_ROUTE = /(^|\/)(log-?in|sign-?in|auth(enticate)?|oauth\/token|token|sessions?)(\/|$)/i;

/** The default heuristic. */
export function authOutcome(
  method: string,
  route: string,
  status: number,
): AuthOutcome | undefined {
  if (method !== 'POST' || !AUTH_ROUTE.test(route)) return undefined;
  if (status >= 200 && status < 400) return 'success';
  if (status >= 400 && status < 500) return 'failure';
  return undefined;
}

type StatusTest = (status: number) => boolean;

function statusTest(matches: (number | string)[]): StatusTest {
  const tests = matches.map((m): StatusTest => {
    if (typeof m === 'number') return (s) => s === m;
    if (m.endsWith('xx')) {
      const base = Number(m[0]) * 100;
      return (s) => s >= base && s < base + 100;
    }
    const [from, to] = m.split('-').map(Number);
    return (s) => s >= from && s <= to;
  });
  return (status) => tests.some((t) => t(status));
}

/** A route pattern: literal segments, `{name}` for any one segment, a final `*` for any rest. */
export function routeMatcher(pattern: string): (path: string) => boolean {
  const parts = pattern.replace(/\/+$/, '').split('/');
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  return (path) => {
    const segments = path.replace(/\/+$/, '').split('/');
    if (rest ? segments.length < parts.length : segments.length !== parts.length) return false;
    return parts.every(
      (p, i) => /^\{[^}]*\}$/.test(p) || p.toLowerCase() === segments[i].toLowerCase(),
    );
  };
}

interface CompiledRule {
  method: string;
  matches: (path: string) => boolean;
  success: StatusTest;
  failure: StatusTest;
}

const DEFAULT_SUCCESS = statusTest(['2xx', '3xx']);
const DEFAULT_FAILURE = statusTest(['4xx']);

function compile(rule: AuthRule): CompiledRule {
  return {
    method: (rule.method ?? 'POST').toUpperCase(),
    matches: routeMatcher(rule.route),
    success: rule.success ? statusTest(rule.success) : DEFAULT_SUCCESS,
    failure: rule.failure ? statusTest(rule.failure) : DEFAULT_FAILURE,
  };
}

/** An application's authentication endpoints. */
export class AuthAttempts {
  private readonly rules: CompiledRule[];
  private readonly heuristic: boolean;

  constructor(config: ApplicationConfig = {}) {
    this.rules = (config.authRules ?? []).map(compile);
    this.heuristic = config.authHeuristic ?? this.rules.length === 0;
  }

  /**
   * The outcome of an authentication attempt; undefined for a request that is not one, and
   * for an attempt whose status says neither (a 5xx: the server, not the credentials, failed).
   */
  outcome(method: string, path: string, route: string, status: number): AuthOutcome | undefined {
    for (const rule of this.rules) {
      if (rule.method !== method || !(rule.matches(path) || rule.matches(route))) continue;
      if (rule.success(status)) return 'success';
      if (rule.failure(status)) return 'failure';
      return undefined;
    }
    return this.heuristic ? authOutcome(method, route, status) : undefined;
  }
}
