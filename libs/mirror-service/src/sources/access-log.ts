/**
 * Access-log records → mirror input. A record is a set of named fields; the canonical names are
 * NGINX's own variable names without the `$` (msec, remote_addr, request_method, request_uri,
 * status, request_length, bytes_sent, request_time, upstream_response_time, http_user_agent, …),
 * so a log_format that names each field after its variable needs no mapping. Other formats
 * (Envoy, custom names) map their keys onto these names.
 */
import type { MirrorInput } from '../mirror-input';
import { canonicalAddress, stripHop } from '@moat/contracts';

/** Canonical field → the key the log uses for it. Unmapped fields use their canonical name. */
export type FieldMap = Readonly<Record<string, string>>;

/**
 * Envoy's JSON access log keys as Istio and most examples name them
 * (`json_format: {start_time: "%START_TIME%", method: "%REQ(:METHOD)%", …}`).
 */
export const ENVOY_FIELDS: FieldMap = {
  time_iso8601: 'start_time',
  request_method: 'method',
  request_uri: 'path',
  host: 'authority',
  status: 'response_code',
  request_length: 'bytes_received',
  bytes_sent: 'bytes_sent',
  duration_ms: 'duration',
  upstream_service_time_ms: 'upstream_service_time',
  http_x_forwarded_for: 'x_forwarded_for',
  http_user_agent: 'user_agent',
  http_referer: 'referer',
  http_accept_language: 'accept_language',
  request_id: 'request_id',
  remote_addr: 'downstream_remote_address',
  ja3: 'ja3',
  ja4: 'ja4',
};

/**
 * The keys of Envoy Gateway's default JSON access log, which names most fields after the header
 * they come from (`x-envoy-origin-path`, `:authority`, `user-agent`, …): read where the key of
 * ENVOY_FIELDS is absent.
 */
export const ENVOY_GATEWAY_FIELDS: FieldMap = {
  request_uri: 'x-envoy-origin-path',
  host: ':authority',
  upstream_service_time_ms: 'x-envoy-upstream-service-time',
  http_x_forwarded_for: 'x-forwarded-for',
  http_user_agent: 'user-agent',
  request_id: 'x-request-id',
};

/** The canonical fields a mapping may name (besides any `http_<header>`). */
export const CANONICAL_FIELDS = [
  'msec',
  'time_iso8601',
  'time_local',
  'remote_addr',
  'request',
  'request_method',
  'request_uri',
  'uri',
  'args',
  'host',
  'http_host',
  'status',
  'request_length',
  'bytes_sent',
  'body_bytes_sent',
  'request_time',
  'upstream_response_time',
  'duration_ms',
  'upstream_service_time_ms',
  'request_id',
  'ja3',
  'ja4',
  'ssl_ja3',
  'ssl_ja3_hash',
  'ssl_ja4',
  'app',
] as const;

/** Checks a user-supplied mapping; throws one line naming the bad entry. */
export function checkFieldMap(value: unknown, origin: string): FieldMap {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `${origin}: expected a JSON object {"<nginx variable>": "<your key>"}, e.g. {"remote_addr":"client"}`,
    );
  }
  const known = new Set<string>(CANONICAL_FIELDS);
  for (const [name, key] of Object.entries(value)) {
    if (!known.has(name) && !/^http_[a-z0-9_]+$/.test(name)) {
      throw new Error(
        `${origin}: "${name}" is not a field Moat reads; use one of ${CANONICAL_FIELDS.join(', ')} or http_<header>`,
      );
    }
    if (typeof key !== 'string' || key === '') {
      throw new Error(`${origin}: the key for "${name}" must be a non-empty string`);
    }
  }
  return value as FieldMap;
}

/** A parsed access-log record, before normalisation. */
export interface AccessEntry {
  input: MirrorInput;
  /** The edge's request id ($request_id, x-request-id), to join the mirror subrequest. */
  requestId?: string;
}

export type Converted = { ok: true; entry: AccessEntry } | { ok: false; reason: string };

/** Reads a field by canonical name: a string, or undefined when absent, empty or "-". */
export type FieldReader = (name: string) => string | undefined;

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** `10/Oct/2000:13:55:36 -0700` ($time_local, common log format) → epoch ms, or NaN. */
export function parseTimeLocal(text: string): number {
  const m =
    /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? ([+-])(\d{2})(\d{2})$/.exec(
      text,
    );
  if (!m) return NaN;
  const month = MONTHS[m[2]];
  if (month === undefined) return NaN;
  const utc = Date.UTC(+m[3], month, +m[1], +m[4], +m[5], +m[6], m[7] ? +m[7].padEnd(3, '0') : 0);
  const offset = (m[8] === '-' ? -1 : 1) * (+m[9] * 60 + +m[10]) * 60_000;
  return utc - offset;
}

/** A number of seconds or milliseconds as logged: "0.012", "12", or "0.010, 0.002" (summed). */
function loggedNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!text.includes(',') && !text.includes(':')) {
    const n = Number(text);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  }
  // Several upstreams tried in turn ("0.010, 0.002" or "0.010 : 0.002"): the time spent in all.
  let sum = 0;
  let any = false;
  for (const part of text.split(/[,:]/)) {
    const n = Number(part.trim());
    if (Number.isFinite(n) && n >= 0 && part.trim() !== '') {
      sum += n;
      any = true;
    }
  }
  return any ? sum : undefined;
}

function count(text: string | undefined): number | undefined {
  const n = loggedNumber(text);
  return n === undefined ? undefined : Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);
}

function eventTime(read: FieldReader): number | string | undefined {
  const msec = read('msec');
  if (msec !== undefined) {
    const seconds = Number(msec);
    return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : NaN;
  }
  const iso = read('time_iso8601');
  if (iso !== undefined) {
    const ms = Date.parse(iso);
    return Number.isFinite(ms) ? ms : NaN;
  }
  const local = read('time_local');
  if (local !== undefined) return parseTimeLocal(local);
  return undefined;
}

const headerNames = new Map<string, string>();

/** Header name of an `http_<name>` variable: `http_user_agent` → `user-agent`. */
export function headerOfVariable(variable: string): string {
  let name = headerNames.get(variable);
  if (name === undefined) {
    name = variable.slice(5).replace(/_/g, '-');
    // Variables come from log formats: few; the bound only guards against hostile keys.
    if (headerNames.size < 1024) headerNames.set(variable, name);
  }
  return name;
}

/**
 * Builds the mirror input of one record.
 * @param read       canonical field reader
 * @param headerVars canonical `http_*` names present in the record, in the record's order
 * @param requireTime reject a record without a time (replay) instead of using the arrival time
 * @param fallbackTime the time of a record without its own (a wrapper's, e.g. CRI), RFC 3339
 */
export function accessEntry(
  read: FieldReader,
  headerVars: readonly string[],
  requireTime: boolean,
  fallbackTime?: string,
): Converted {
  const ts = eventTime(read) ?? (fallbackTime === undefined ? undefined : Date.parse(fallbackTime));
  if (ts === undefined && requireTime) {
    return { ok: false, reason: 'no time field (msec, time_iso8601 or time_local)' };
  }
  if (typeof ts === 'number' && !(ts >= 0 && ts <= 8.64e15)) {
    return { ok: false, reason: 'the time field is not a valid time' };
  }
  const peerText = read('remote_addr');
  if (peerText === undefined) return { ok: false, reason: 'no client address (remote_addr)' };
  const ip = canonicalAddress(stripHop(peerText));
  if (ip === undefined) {
    return {
      ok: false,
      reason: `remote_addr ${JSON.stringify(peerText.slice(0, 64))} is not an IP address`,
    };
  }

  let method = read('request_method');
  let path = read('request_uri');
  if (path === undefined) {
    const uri = read('uri');
    if (uri !== undefined) {
      const args = read('args');
      path = args ? `${uri}?${args}` : uri;
    }
  }
  if (method === undefined || path === undefined) {
    const line = read('request');
    if (line !== undefined) {
      const first = line.indexOf(' ');
      const last = line.lastIndexOf(' ');
      if (first > 0) {
        method ??= line.slice(0, first);
        const hasProtocol = last > first && /^HTTP\/\d/.test(line.slice(last + 1));
        path ??= line.slice(first + 1, hasProtocol ? last : undefined);
      }
    }
  }
  if (method === undefined || !/^[A-Za-z]{1,16}$/.test(method)) {
    return { ok: false, reason: 'no HTTP method (request_method or request)' };
  }
  if (path === undefined || path === '') {
    return { ok: false, reason: 'no request URI (request_uri, uri or request)' };
  }

  const statusText = read('status');
  const status = statusText === undefined ? NaN : Number(statusText);
  if (!Number.isInteger(status) || status < 0 || status > 999) {
    return { ok: false, reason: 'no valid status' };
  }

  const input: MirrorInput = {
    ip,
    method,
    path: path.slice(0, 8192),
    status,
    // A log records the headers its format names, not the request's header set.
    partialHeaders: true,
  };
  if (ts !== undefined) input.ts = ts;
  const host = read('host') ?? read('http_host');
  if (host !== undefined) input.host = host.slice(0, 253);
  const app = read('app');
  if (app !== undefined) input.app = app.slice(0, 253);
  const requestBytes = count(read('request_length'));
  if (requestBytes !== undefined) input.requestBytes = requestBytes;
  const responseBytes = count(read('bytes_sent') ?? read('body_bytes_sent'));
  if (responseBytes !== undefined) input.responseBytes = responseBytes;
  const latency = latencyMs(read);
  if (latency !== undefined) input.latencyMs = latency;
  const ja3 = read('ja3') ?? read('ssl_ja3_hash') ?? read('ssl_ja3');
  if (ja3 !== undefined) input.ja3 = ja3.slice(0, 256);
  const ja4 = read('ja4') ?? read('ssl_ja4');
  if (ja4 !== undefined) input.ja4 = ja4.slice(0, 256);

  if (headerVars.length > 0) {
    const headers: Record<string, string> = {};
    let n = 0;
    for (const variable of headerVars) {
      const value = read(variable);
      if (value === undefined) continue;
      const name = headerOfVariable(variable).slice(0, 128);
      if (name === '' || name in headers) continue;
      headers[name] = value.slice(0, 8192);
      if (++n >= 128) break;
    }
    if (n > 0) input.headers = headers;
  }

  const requestId = read('request_id');
  const entry: AccessEntry = { input };
  if (requestId !== undefined && requestId.length <= 200) {
    entry.requestId = requestId;
    input.id = requestId;
  }
  return { ok: true, entry };
}

/** Backend latency when logged (what a client can drive up), else the whole request's time. */
function latencyMs(read: FieldReader): number | undefined {
  const upstream = loggedNumber(read('upstream_response_time'));
  if (upstream !== undefined) return upstream * 1000;
  const upstreamMs = loggedNumber(read('upstream_service_time_ms'));
  if (upstreamMs !== undefined) return upstreamMs;
  const total = loggedNumber(read('request_time'));
  if (total !== undefined) return total * 1000;
  return loggedNumber(read('duration_ms'));
}
