/**
 * Which endpoints of an application are critical: a graylisted client is refused there (login,
 * signup, password reset, checkout, payment, export) and only slowed elsewhere.
 *
 * A rule is `[METHOD ]<path pattern>`: `*` matches within one path segment, `**` any number of
 * segments (`POST /api/*\/login`, `/checkout/**`). The word `default` stands for the built-in
 * rule: any path with a segment naming a critical action (`/login`, `/api/v2/sign-in`,
 * `/users/password/reset`, `/checkout`, `/payments/3`, `/oauth/token`, `/reports/export`).
 * Paths are normalised before matching — percent-decoded, case-folded, `;params`, duplicate
 * slashes and dot segments removed — so `/API//Log%69n;jsessionid=1` is still a login.
 */

/** Segment words of the built-in rule, compared without `-`, `_` and a file extension. */
export const DEFAULT_CRITICAL_WORDS: readonly string[] = [
  'login',
  'logon',
  'signin',
  'signon',
  'signup',
  'register',
  'registration',
  'password',
  'passwords',
  'resetpassword',
  'forgotpassword',
  'passwordreset',
  'checkout',
  'payment',
  'payments',
  'pay',
  'purchase',
  'token',
  'export',
];

interface Rule {
  method?: string;
  pattern: RegExp;
}

export class CriticalEndpoints {
  private readonly rules: Rule[] = [];
  private readonly words: Set<string> | undefined;

  /** @param specs rules as described above; throws naming a rule it cannot read. */
  constructor(specs: readonly string[]) {
    let useDefault = false;
    for (const raw of specs) {
      const spec = raw.trim();
      if (!spec) continue;
      if (spec.toLowerCase() === 'default') {
        useDefault = true;
        continue;
      }
      this.rules.push(compileRule(spec));
    }
    this.words = useDefault ? new Set(DEFAULT_CRITICAL_WORDS) : undefined;
  }

  /** Whether a request to `uri` (path and query, as sent) with `method` is critical. */
  matches(method: string | undefined, uri: string): boolean {
    const path = normalisePath(uri);
    const verb = method?.toUpperCase();
    for (const rule of this.rules) {
      if (rule.method !== undefined && rule.method !== verb) continue;
      if (rule.pattern.test(path)) return true;
    }
    if (this.words) {
      for (const segment of path.split('/')) {
        if (segment && this.words.has(segmentWord(segment))) return true;
      }
    }
    return false;
  }
}

function compileRule(spec: string): Rule {
  const match = /^(?:([A-Za-z]+)\s+)?(\/\S*)$/.exec(spec);
  if (!match) {
    throw new Error(
      `"${spec}" is not a critical endpoint rule: write [METHOD ]/path/pattern, e.g. "POST /api/*/login" or "/checkout/**", or "default"`,
    );
  }
  const [, method, path] = match;
  const body = normalisePath(path)
    .split('/')
    .map((segment) =>
      segment === '**'
        ? '\u0000'
        : segment
            .split('*')
            .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*'),
    )
    .join('/')
    // `/**/` and a trailing `/**` match zero or more whole segments.
    .replace(/\/\u0000/g, '(?:/.*)?')
    .replace(/\u0000/g, '.*');
  return { method: method?.toUpperCase(), pattern: new RegExp(`^${body}/?$`) };
}

/** The path of a request URI for matching: decoded, lower-case, without params or dot segments. */
export function normalisePath(uri: string): string {
  let path = uri;
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    // An absolute URL (ingress-nginx's X-Original-URL): keep its path.
    const slash = path.indexOf('/', path.indexOf('//') + 2);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // Malformed escapes: match the text as it is.
    }
  }
  const out: string[] = [];
  for (const raw of path.toLowerCase().split('/')) {
    const segment = raw.split(';')[0];
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

function segmentWord(segment: string): string {
  return segment.replace(/\.[a-z0-9]{1,5}$/, '').replace(/[-_]/g, '');
}
