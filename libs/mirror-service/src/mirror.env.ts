/** Environment of the mirror agent (and of the mirror inside the standalone runtime). */
import { str, num, secret } from '@moat/config';

export const mirrorEnv = {
  MOAT_HASH_SECRET: secret({
    desc: 'HMAC key for credential hashes; the same value on every mirror agent (openssl rand -hex 32)',
  }),
  MOAT_DEFAULT_APP: str({
    default: 'default',
    desc: 'application name when a request has no Host',
  }),
  MOAT_SESSION_COOKIES: str({ default: '', desc: 'extra session cookie names, comma-separated' }),
  MOAT_API_KEY_HEADERS: str({ default: '', desc: 'extra API-key header names, comma-separated' }),
  MOAT_SENSITIVE_QUERY_PARAMS: str({
    default: '',
    desc: 'extra query parameter names whose values are secrets (hashed before publishing), comma-separated',
  }),
  MOAT_MIRROR_MAX_BATCH: num({ default: 5000, desc: 'most requests accepted in one HTTP batch' }),
};

export const splitList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
