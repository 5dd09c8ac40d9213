import {
  DEFAULT_API_KEY_HEADERS,
  DEFAULT_SESSION_COOKIES,
  type NormaliserOptions,
} from './normaliser';
import { splitList, type mirrorEnv } from './mirror.env';
import type { CleanedEnv } from 'envalid';
import type { PublisherOptions } from './publisher';
import type { FieldMap } from './sources/access-log';
import type { LogFormat } from './sources/line-parser';
import type { JoinerOptions } from './sources/request-joiner';

export const MIRROR_OPTIONS = Symbol('MIRROR_OPTIONS');

export interface ListenAddress {
  host: string;
  port: number;
}

/** The log sources: files, syslog, and NGINX mirror subrequests. Each is off unless set. */
export interface MirrorSourcesOptions {
  tail?: {
    files: string[];
    format: LogFormat;
    startAt: 'beginning' | 'end';
    checkpointDir: string;
    pollMs?: number;
    rotateGraceMs?: number;
  };
  syslog?: { udp?: ListenAddress; tcp?: ListenAddress; format: LogFormat };
  nginxMirror?: ListenAddress & { maxBodyBytes: number };
  /** Join mirror subrequests with log lines (when a log source runs too). */
  join?: JoinerOptions & { enabled: boolean };
  /** Custom JSON keys and text log_format shared by the log sources. */
  fields?: FieldMap;
  logFormat?: string;
  maxLineBytes: number;
}

export interface MirrorOptions extends NormaliserOptions {
  /** Items in one HTTP batch, at most. */
  maxBatch: number;
  publisher: PublisherOptions;
  compression: 'gzip' | 'none';
  sources: MirrorSourcesOptions;
}

const paths = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Builds the mirror's options from its validated environment. */
export function mirrorOptionsFromEnv(env: CleanedEnv<typeof mirrorEnv>): MirrorOptions {
  const tailFiles = paths(env.MOAT_TAIL_FILES);
  const nginxMirror = env.MOAT_NGINX_MIRROR as ListenAddress | undefined;
  return {
    secret: env.MOAT_HASH_SECRET,
    defaultApp: env.MOAT_DEFAULT_APP,
    appHeader: env.MOAT_APP_HEADER || undefined,
    sessionCookies: [...DEFAULT_SESSION_COOKIES, ...splitList(env.MOAT_SESSION_COOKIES)],
    apiKeyHeaders: [...DEFAULT_API_KEY_HEADERS, ...splitList(env.MOAT_API_KEY_HEADERS)],
    sensitiveQueryParams: splitList(env.MOAT_SENSITIVE_QUERY_PARAMS),
    trustedProxies: env.MOAT_MIRROR_TRUSTED_PROXIES,
    maxBatch: env.MOAT_MIRROR_MAX_BATCH,
    compression: env.MOAT_MIRROR_COMPRESSION,
    publisher: {
      maxQueued: env.MOAT_MIRROR_QUEUE,
      maxBatchRecords: 5_000,
      maxBatchBytes: env.MOAT_MIRROR_BATCH_BYTES,
      concurrency: 2,
    },
    sources: {
      ...(tailFiles.length > 0
        ? {
            tail: {
              files: tailFiles,
              format: env.MOAT_TAIL_FORMAT as LogFormat,
              startAt: env.MOAT_TAIL_START,
              checkpointDir: env.MOAT_TAIL_STATE_DIR,
            },
          }
        : {}),
      ...(env.MOAT_SYSLOG_UDP || env.MOAT_SYSLOG_TCP
        ? {
            syslog: {
              udp: env.MOAT_SYSLOG_UDP,
              tcp: env.MOAT_SYSLOG_TCP,
              format: env.MOAT_SYSLOG_FORMAT as LogFormat,
            },
          }
        : {}),
      ...(nginxMirror
        ? { nginxMirror: { ...nginxMirror, maxBodyBytes: env.MOAT_MIRROR_MAX_BODY_BYTES } }
        : {}),
      join: {
        enabled: env.MOAT_MIRROR_JOIN,
        mirrorWaitMs: env.MOAT_MIRROR_JOIN_WAIT,
        logWaitMs: env.MOAT_MIRROR_LOG_WAIT,
        maxPending: 50_000,
      },
      fields: env.MOAT_LOG_FIELDS,
      logFormat: env.MOAT_LOG_FORMAT,
      maxLineBytes: env.MOAT_MAX_LINE_BYTES,
    },
  };
}
