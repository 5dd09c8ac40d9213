import {
  DEFAULT_API_KEY_HEADERS,
  DEFAULT_SESSION_COOKIES,
  type NormaliserOptions,
} from './normaliser';
import { splitList, type mirrorEnv } from './mirror.env';
import type { CleanedEnv } from 'envalid';

export const MIRROR_OPTIONS = Symbol('MIRROR_OPTIONS');

export interface MirrorOptions extends NormaliserOptions {
  maxBatch: number;
}

/** Builds the mirror's options from its validated environment. */
export function mirrorOptionsFromEnv(env: CleanedEnv<typeof mirrorEnv>): MirrorOptions {
  return {
    secret: env.MOAT_HASH_SECRET,
    defaultApp: env.MOAT_DEFAULT_APP,
    sessionCookies: [...DEFAULT_SESSION_COOKIES, ...splitList(env.MOAT_SESSION_COOKIES)],
    apiKeyHeaders: [...DEFAULT_API_KEY_HEADERS, ...splitList(env.MOAT_API_KEY_HEADERS)],
    sensitiveQueryParams: splitList(env.MOAT_SENSITIVE_QUERY_PARAMS),
    maxBatch: env.MOAT_MIRROR_MAX_BATCH,
  };
}
