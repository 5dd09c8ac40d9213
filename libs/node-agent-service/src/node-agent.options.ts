/** The node agent's configuration: environment schema and the options it turns into. */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrList, duration, makeValidator, num, port, str } from '@moat/config';
import type { BlockFormat, BlockResponseOptions } from './block-response';
import type { GraylistLimiterOptions } from './graylist-limiter';

/** `<n>/s`, `<n>/m` or `<n>/h`, returned as requests per second. */
export const rate = makeValidator<number>((input) => {
  const match = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)$/.exec(input.trim());
  if (!match || Number(match[1]) <= 0) {
    throw new Error('expected a rate such as 60/m, 2/s or 500/h');
  }
  return Number(match[1]) / { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
});

export const nodeAgentEnv = {
  MOAT_TRUSTED_PROXIES: cidrList({
    default: ['127.0.0.1/32', '::1/128'],
    desc: 'addresses/CIDRs of proxies whose X-Forwarded-For / Forwarded / X-Real-IP are believed',
  }),
  MOAT_SNAPSHOT_PATH: str({
    default: '',
    desc: 'decision snapshot file; empty = <tmpdir>/moat-node-agent/<topic prefix>.decisions.snapshot, "off" = none',
  }),
  MOAT_SNAPSHOT_INTERVAL: duration({
    default: 30_000,
    desc: 'how often the snapshot is rewritten when decisions changed (also on shutdown)',
  }),
  MOAT_CRITICAL_ENDPOINTS: str({
    default: 'default',
    desc: 'comma-separated [METHOD ]/path/pattern rules (* one segment, ** any); "default" = the built-in list',
  }),
  MOAT_GRAYLIST_RATE: rate({
    default: 1,
    desc: 'requests a graylisted client may make outside critical endpoints, e.g. 60/m',
  }),
  MOAT_GRAYLIST_BURST: num({ default: 20, desc: 'requests a graylisted client may make at once' }),
  MOAT_BLOCK_STATUS: num({ default: 403, desc: 'HTTP status of a blocked request' }),
  MOAT_BLOCK_FORMAT: str({
    default: 'json',
    choices: ['json', 'html', 'auto'],
    desc: 'block response body: json, html, or auto (html when the client accepts text/html)',
  }),
  MOAT_BLOCK_PAGE: str({ default: '', desc: 'HTML block page template file (default: built in)' }),
  MOAT_CHECK_ALLOW_STATUS: num({
    default: 204,
    choices: [200, 204],
    desc: 'status of an allow on /v1/check (Envoy’s /v1/check/<path> form always gets 200)',
  }),
  MOAT_PROXY_UPSTREAM: str({
    default: '',
    desc: 'reverse-proxy mode: forward passing requests to this URL (e.g. http://127.0.0.1:3000)',
  }),
  MOAT_PROXY_PORT: port({ default: 8000, desc: 'reverse-proxy mode: the port it listens on' }),
};

export interface NodeAgentOptions {
  trustedProxies: string[];
  /** Snapshot file; undefined: no snapshot. */
  snapshotPath?: string;
  snapshotIntervalMs?: number;
  criticalEndpoints?: string[];
  graylist?: GraylistLimiterOptions;
  block?: BlockResponseOptions;
  allowStatus?: number;
  proxy?: { upstream: string; port: number; host: string };
  /** Service name (consumer group stem, metrics label); default node-agent. */
  service?: string;
}

export function nodeAgentOptionsFromEnv(env: {
  MOAT_TRUSTED_PROXIES: string[];
  MOAT_SNAPSHOT_PATH: string;
  MOAT_SNAPSHOT_INTERVAL: number;
  MOAT_CRITICAL_ENDPOINTS: string;
  MOAT_GRAYLIST_RATE: number;
  MOAT_GRAYLIST_BURST: number;
  MOAT_BLOCK_STATUS: number;
  MOAT_BLOCK_FORMAT: string;
  MOAT_BLOCK_PAGE: string;
  MOAT_CHECK_ALLOW_STATUS: number;
  MOAT_PROXY_UPSTREAM: string;
  MOAT_PROXY_PORT: number;
  MOAT_TOPIC_PREFIX?: string;
  HOST: string;
}): NodeAgentOptions {
  const snapshot = env.MOAT_SNAPSHOT_PATH.trim();
  let htmlTemplate: string | undefined;
  if (env.MOAT_BLOCK_PAGE) {
    try {
      htmlTemplate = readFileSync(env.MOAT_BLOCK_PAGE, 'utf8');
    } catch (err) {
      throw new Error(
        `MOAT_BLOCK_PAGE="${env.MOAT_BLOCK_PAGE}" cannot be read (${(err as NodeJS.ErrnoException).code}): point it at an HTML file or unset it`,
      );
    }
  }
  if (env.MOAT_PROXY_UPSTREAM && !/^https?:\/\/[^/]+/.test(env.MOAT_PROXY_UPSTREAM)) {
    throw new Error(
      `MOAT_PROXY_UPSTREAM="${env.MOAT_PROXY_UPSTREAM}" is not an http(s) URL (example: http://127.0.0.1:3000)`,
    );
  }
  return {
    trustedProxies: env.MOAT_TRUSTED_PROXIES,
    snapshotPath:
      snapshot === 'off'
        ? undefined
        : snapshot ||
          join(
            tmpdir(),
            'moat-node-agent',
            `${env.MOAT_TOPIC_PREFIX ?? 'moat'}.decisions.snapshot`,
          ),
    snapshotIntervalMs: env.MOAT_SNAPSHOT_INTERVAL,
    criticalEndpoints: env.MOAT_CRITICAL_ENDPOINTS.split(',').map((s) => s.trim()),
    graylist: { ratePerSecond: env.MOAT_GRAYLIST_RATE, burst: env.MOAT_GRAYLIST_BURST },
    block: {
      status: env.MOAT_BLOCK_STATUS,
      format: env.MOAT_BLOCK_FORMAT as BlockFormat,
      htmlTemplate,
    },
    allowStatus: env.MOAT_CHECK_ALLOW_STATUS,
    proxy: env.MOAT_PROXY_UPSTREAM
      ? { upstream: env.MOAT_PROXY_UPSTREAM, port: env.MOAT_PROXY_PORT, host: env.HOST }
      : undefined,
  };
}
