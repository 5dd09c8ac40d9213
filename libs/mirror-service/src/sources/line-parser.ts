/**
 * One line of a log → what the agent publishes. The formats:
 *
 * - `nginx-json`: an NGINX JSON access log (`log_format … escape=json`) whose keys are NGINX's
 *   variable names (msec, remote_addr, request_uri, …) or mapped onto them (`fields`);
 * - `combined`: an NGINX text log, the combined format by default or any `log_format` string;
 * - `envoy`: Envoy's JSON access log with the usual keys (start_time, method, path, …);
 * - `mirror`: JSON lines of mirror input (what POST /v1/requests takes);
 * - `moat`: JSON lines of moat.requests.v1 records, already normalised (replay).
 *
 * A parser never throws: a line it cannot use comes back with the reason, for the caller to
 * count and skip.
 */
import { codecs, type RequestRecord } from '@moat/contracts';
import { checkMirrorInput } from '../mirror-input';
import type { RequestSource } from '../normaliser';
import { accessEntry, ENVOY_FIELDS, type AccessEntry, type FieldMap } from './access-log';
import { compileLogFormat, COMBINED_FORMAT } from './log-format';

export const LOG_FORMATS = ['nginx-json', 'combined', 'envoy', 'mirror', 'moat'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LineParserOptions {
  format: LogFormat;
  /** Canonical field → key in the log, on top of the format's defaults. */
  fields?: FieldMap;
  /** For `combined`: a log_format string or preset name (combined, main). */
  logFormat?: string;
  /** Reject lines without a time instead of stamping them with the arrival time (replay). */
  requireTime?: boolean;
}

export type ParsedLine =
  | { ok: true; kind: 'input'; entry: AccessEntry; source: RequestSource }
  | { ok: true; kind: 'record'; record: RequestRecord }
  | { ok: false; reason: string };

export type LineParser = (line: string) => ParsedLine;

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

export function createLineParser(options: LineParserOptions): LineParser {
  const requireTime = options.requireTime ?? false;
  switch (options.format) {
    case 'nginx-json':
      return jsonLogParser({ ...options.fields }, requireTime, 'nginx-json');
    case 'envoy':
      return jsonLogParser({ ...ENVOY_FIELDS, ...options.fields }, requireTime, 'envoy');
    case 'combined':
      return textLogParser(options.logFormat ?? COMBINED_FORMAT, options.fields ?? {}, requireTime);
    case 'mirror':
      return (line) => {
        const parsed = parseJson(line);
        if (!parsed.ok) return parsed;
        const checked = checkMirrorInput(parsed.value);
        if (!checked.ok) return { ok: false, reason: checked.reason };
        if (requireTime && checked.value.ts === undefined) return { ok: false, reason: 'no ts' };
        return { ok: true, kind: 'input', entry: { input: checked.value }, source: 'http' };
      };
    case 'moat':
      return (line) => {
        const parsed = parseJson(line);
        if (!parsed.ok) return parsed;
        const checked = codecs.requests.check(parsed.value);
        return checked.ok
          ? { ok: true, kind: 'record', record: checked.value }
          : { ok: false, reason: checked.reason };
      };
  }
}

/** Guesses the format of a log from its first line. */
export function detectFormat(line: string): LogFormat {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return 'combined';
  const parsed = parseJson(trimmed);
  if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return 'nginx-json';
  const keys = new Set(Object.keys(parsed.value));
  if (keys.has('v') && keys.has('headerNames') && keys.has('credentials')) return 'moat';
  if (keys.has('response_code') || keys.has('downstream_remote_address')) return 'envoy';
  if (keys.has('ip') && keys.has('path') && !keys.has('remote_addr')) return 'mirror';
  return 'nginx-json';
}

function jsonLogParser(fields: FieldMap, requireTime: boolean, source: RequestSource): LineParser {
  const reverse = new Map<string, string>();
  for (const [canonical, key] of Object.entries(fields)) reverse.set(key, canonical);
  return (line) => {
    const parsed = parseJson(line);
    if (!parsed.ok) return parsed;
    const obj = parsed.value;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      return { ok: false, reason: 'not a JSON object' };
    }
    const record = obj as Record<string, unknown>;
    const read = (name: string): string | undefined => {
      const value = record[fields[name] ?? name];
      if (typeof value === 'string') return value === '' || value === '-' ? undefined : value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      return undefined;
    };
    const headerVars: string[] = [];
    for (const key of Object.keys(record)) {
      const canonical = reverse.get(key) ?? key;
      if (canonical.startsWith('http_')) headerVars.push(canonical);
    }
    const converted = accessEntry(read, headerVars, requireTime);
    return converted.ok
      ? { ok: true, kind: 'input', entry: converted.entry, source }
      : { ok: false, reason: converted.reason };
  };
}

function textLogParser(format: string, fields: FieldMap, requireTime: boolean): LineParser {
  const compiled = compileLogFormat(format);
  const reverse = new Map<string, string>();
  for (const [canonical, key] of Object.entries(fields)) reverse.set(key, canonical);
  const headerVars = compiled.variables
    .map((v) => reverse.get(v) ?? v)
    .filter((v) => v.startsWith('http_'));
  return (line) => {
    const values = compiled.scan(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!values) return { ok: false, reason: 'line does not match the log format' };
    const read = (name: string): string | undefined => {
      const value = values.get(fields[name] ?? name);
      return value === undefined || value === '' || value === '-' ? undefined : value;
    };
    const converted = accessEntry(read, headerVars, requireTime);
    return converted.ok
      ? { ok: true, kind: 'input', entry: converted.entry, source: 'nginx-text' }
      : { ok: false, reason: converted.reason };
  };
}

type JsonResult = { ok: true; value: unknown } | { ok: false; reason: string };

function parseJson(line: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch (err) {
    // A JSON log_format without `escape=json` gets NGINX's default escaping (\x22 for a quote),
    // which is not JSON; undo it and try once more.
    if (line.includes('\\x')) {
      try {
        return { ok: true, value: JSON.parse(repairNginxEscapes(line)) };
      } catch {
        // fall through to the original error
      }
    }
    return { ok: false, reason: `invalid JSON: ${(err as Error).message.slice(0, 200)}` };
  }
}

/** `\xHH` runs (NGINX's default escaping) → the JSON escape of the bytes they encode. */
export function repairNginxEscapes(line: string): string {
  return line.replace(/(?:\\x[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.alloc(run.length / 4);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 4 + 2, i * 4 + 4), 16);
    return JSON.stringify(bytes.toString('utf8')).slice(1, -1);
  });
}
