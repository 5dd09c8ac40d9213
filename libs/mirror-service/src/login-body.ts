/**
 * Finds the username of a login (or signup, or password-reset) request in its body, so that the
 * normaliser can replace it by a keyed hash. Understands JSON objects (top level, or one level
 * down as in `{"user": {"email": …}}`) and URL-encoded forms. The body itself never leaves the
 * mirror agent.
 */

/** Field names that carry the account identifier, compared case-insensitively. */
export const USERNAME_FIELDS = [
  'username',
  'user',
  'user_name',
  'userid',
  'user_id',
  'login',
  'email',
  'e-mail',
  'email_address',
  'mail',
  'account',
  'identifier',
  'uname',
  'usr',
  'phone',
  'msisdn',
];
/** Field names that carry a secret: their presence makes the body a credential submission. */
export const PASSWORD_FIELDS = ['password', 'passwd', 'pass', 'pwd', 'secret', 'pin', 'otp'];

/** Routes that submit credentials even without a password field (e.g. a reset request). */
const AUTH_PATH =
  /(^|\/)(log-?in|sign-?in|sign-?up|register|auth(enticate)?|token|sessions?|password|reset|forgot|recover|otp|mfa|2fa|verify)(\/|$|\.)/i;

export interface LoginFields {
  username: string;
  /** A password-like field was present. */
  withSecret: boolean;
}

/** Bodies larger than this are not searched (the agent truncates bodies before, too). */
export const MAX_SEARCHED_BODY = 64 * 1024;

/**
 * The username of a credential submission: a username-like field together with a password-like
 * one, or on an authentication route. Undefined when the body shows none.
 */
export function findLogin(
  body: string,
  path: string,
  contentType: string | undefined,
): LoginFields | undefined {
  if (!body || body.length > MAX_SEARCHED_BODY) return undefined;
  const fields = readFields(body, contentType);
  if (!fields) return undefined;
  let username: string | undefined;
  let withSecret = false;
  for (const [name, value] of fields) {
    const lower = name.toLowerCase();
    if (username === undefined && USERNAME_FIELDS.includes(lower) && value.trim()) {
      username = value.trim();
    } else if (PASSWORD_FIELDS.includes(lower) && value !== '') {
      withSecret = true;
    }
  }
  if (username === undefined) return undefined;
  if (!withSecret && !AUTH_PATH.test(path)) return undefined;
  return { username: username.slice(0, 1024), withSecret };
}

/** Name/value pairs of a JSON object or form body; undefined for anything else. */
function readFields(body: string, contentType: string | undefined): [string, string][] | undefined {
  const type = (contentType ?? '').toLowerCase();
  const trimmed = body.trimStart();
  if (type.includes('json') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
    return jsonFields(parsed, 0);
  }
  if (type.includes('multipart/')) return undefined;
  if (type.includes('x-www-form-urlencoded') || /^[^=&\s]+=/.test(trimmed)) {
    try {
      return [...new URLSearchParams(trimmed)];
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function jsonFields(value: unknown, depth: number): [string, string][] | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: [string, string][] = [];
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    if (typeof field === 'string') out.push([name, field]);
    else if (typeof field === 'number') out.push([name, String(field)]);
    else if (depth === 0 && field && typeof field === 'object') {
      out.push(...(jsonFields(field, depth + 1) ?? []));
    }
  }
  return out;
}
