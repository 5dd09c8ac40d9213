/** Environment of the mirror agent (and of the mirror inside the standalone runtime). */
import { bool, cidrList, duration, makeValidator, num, secret, str } from '@moat/config';
import { checkFieldMap, type FieldMap } from './sources/access-log';
import { compileLogFormat } from './sources/log-format';
import { LOG_FORMATS } from './sources/line-parser';

/** host:port to listen on, or empty for off. */
const listenAddress = makeValidator<{ host: string; port: number } | undefined>((input) => {
  const text = input.trim();
  if (text === '') return undefined;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error('expected host:port to listen on, e.g. 127.0.0.1:5514');
  return { host: (m[1] || '0.0.0.0').replace(/^\[|\]$/g, ''), port };
});

const fieldMap = makeValidator<FieldMap | undefined>((input) => {
  if (input.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    throw new Error('expected JSON such as {"remote_addr":"client","request_uri":"uri"}');
  }
  return checkFieldMap(parsed, 'MOAT_LOG_FIELDS');
});

const logFormat = makeValidator<string>((input) => {
  compileLogFormat(input);
  return input;
});

const FORMATS = LOG_FORMATS.filter((format) => format !== 'moat');

export const mirrorEnv = {
  MOAT_HASH_SECRET: secret({
    desc: 'HMAC key for credential hashes; the same value on every mirror agent (openssl rand -hex 32)',
  }),
  MOAT_DEFAULT_APP: str({
    default: 'default',
    desc: 'application name when a request has no Host',
  }),
  MOAT_APP_HEADER: str({
    default: '',
    desc: 'request header naming the application, before the Host (e.g. x-moat-app)',
  }),
  MOAT_SESSION_COOKIES: str({ default: '', desc: 'extra session cookie names, comma-separated' }),
  MOAT_API_KEY_HEADERS: str({ default: '', desc: 'extra API-key header names, comma-separated' }),
  MOAT_SENSITIVE_QUERY_PARAMS: str({
    default: '',
    desc: 'extra query parameter names whose values are secrets (hashed before publishing), comma-separated',
  }),
  MOAT_MIRROR_TRUSTED_PROXIES: cidrList({
    default: [],
    desc: 'proxies (addresses/CIDRs, IPv4 or IPv6) in front of the edge whose X-Forwarded-For / Forwarded / X-Real-IP are believed',
  }),
  MOAT_MIRROR_MAX_BATCH: num({ default: 5000, desc: 'most requests accepted in one HTTP batch' }),
  MOAT_MIRROR_QUEUE: num({
    default: 100_000,
    desc: 'requests held for the producer at most; beyond, HTTP answers 429 (503 if the broker fails), syslog drops and counts, files wait',
  }),
  MOAT_MIRROR_COMPRESSION: str({
    default: 'none',
    choices: ['none', 'gzip'],
    desc: 'compression of record batches produced to Kafka: gzip makes them ~16x smaller for ~7 µs of CPU per request (docs/BENCHMARKS.md)',
  }),
  MOAT_MIRROR_BATCH_BYTES: num({
    default: 900_000,
    desc: 'bytes per produce request at most (below the broker message.max.bytes)',
  }),
  MOAT_MAX_LINE_BYTES: num({
    default: 65_536,
    desc: 'longest log line or syslog message accepted; longer ones are skipped and counted',
  }),
  MOAT_LOG_FIELDS: fieldMap({
    default: undefined,
    desc: 'JSON map from NGINX variable names to the keys of a custom JSON log, e.g. {"remote_addr":"client"}',
  }),
  MOAT_LOG_FORMAT: logFormat({
    default: 'combined',
    desc: 'NGINX log_format of text logs (format combined): the format string or a preset (combined, main, common, vhost-combined)',
  }),
  MOAT_TAIL_FILES: str({ default: '', desc: 'access log files to follow, comma-separated' }),
  MOAT_TAIL_FORMAT: str({
    default: 'nginx-json',
    choices: FORMATS,
    desc: 'format of the followed files',
  }),
  MOAT_TAIL_START: str({
    default: 'end',
    choices: ['end', 'beginning'],
    desc: 'where to start in a file seen for the first time (afterwards: the checkpoint)',
  }),
  MOAT_TAIL_STATE_DIR: str({
    default: '.moat-tail',
    desc: "directory for the followed files' checkpoints (keep it on a persistent volume)",
  }),
  MOAT_SYSLOG_UDP: listenAddress({
    default: undefined,
    desc: 'host:port for syslog over UDP (NGINX access_log syslog:server=…); empty: off',
  }),
  MOAT_SYSLOG_TCP: listenAddress({
    default: undefined,
    desc: 'host:port for syslog over TCP (relays; newline or octet-counted frames); empty: off',
  }),
  MOAT_SYSLOG_FORMAT: str({
    default: 'nginx-json',
    choices: FORMATS,
    desc: 'format of syslog messages',
  }),
  MOAT_NGINX_MIRROR: listenAddress({
    default: undefined,
    desc: 'host:port receiving NGINX mirror subrequests (see deploy/nginx); empty: off',
  }),
  MOAT_MIRROR_MAX_BODY_BYTES: num({
    default: 65_536,
    desc: "request body bytes read from a mirror subrequest (for a login's username)",
  }),
  MOAT_MIRROR_JOIN_WAIT: duration({
    default: 30_000,
    desc: 'how long a mirror subrequest waits for its access-log line',
  }),
  MOAT_MIRROR_LOG_WAIT: duration({
    default: 1_000,
    desc: 'how long an access-log line waits for a late mirror subrequest',
  }),
  MOAT_MIRROR_JOIN: bool({
    default: true,
    desc: 'join mirror subrequests with log lines by $request_id when both sources run',
  }),
};

export const splitList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
