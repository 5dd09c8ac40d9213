/**
 * One line of a log → what the agent publishes. The formats:
 *
 * - `nginx-json`: an NGINX JSON access log (`log_format … escape=json`) whose keys are NGINX's
 *   variable names (msec, remote_addr, request_uri, …) or mapped onto them (`fields`);
 * - `combined`: an NGINX text log, the combined format by default or any `log_format` string;
 * - `common`: the Common Log Format (Apache's `common`: combined without referer and agent);
 * - `vhost-combined`: combined with the virtual host first (`$host $remote_addr - …`);
 * - `envoy`: Envoy's JSON access log with the usual keys (start_time, method, path, …) or
 *   Envoy Gateway's (x-envoy-origin-path, :authority, user-agent, …);
 * - `mirror`: JSON lines of mirror input (what POST /v1/requests takes);
 * - `moat`: JSON lines of moat.requests.v1 records, already normalised (replay).
 *
 * Any of them may come wrapped in a CRI (Kubernetes container log) or syslog file prefix, which
 * is taken off (log-wrapper.ts); the line's own time stays the event time. CRI pieces of a split
 * line are joined, per stream, in the parser's state: one parser per file.
 *
 * A parser never throws: a line it cannot use comes back with the reason, for the caller to
 * count and skip.
 */
import { codecs, type RequestRecord } from '@moat/contracts';
import { checkMirrorInput } from '../mirror-input';
import type { RequestSource } from '../normaliser';
import {
  accessEntry,
  ENVOY_FIELDS,
  ENVOY_GATEWAY_FIELDS,
  type AccessEntry,
  type FieldMap,
} from './access-log';
import {
  compileLogFormat,
  COMBINED_FORMAT,
  COMMON_FORMAT,
  VHOST_COMBINED_FORMAT,
} from './log-format';
import { isNginxErrorLine, unwrapLine, type UnwrappedLine } from './log-wrapper';

export const LOG_FORMATS = [
  'nginx-json',
  'combined',
  'common',
  'vhost-combined',
  'envoy',
  'mirror',
  'moat',
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LineParserOptions {
  format: LogFormat;
  /** Canonical field → key in the log, on top of the format's defaults. */
  fields?: FieldMap;
  /** For `combined`: a log_format string or preset name (combined, main, common, …). */
  logFormat?: string;
  /** Reject lines without a time instead of stamping them with the arrival time (replay). */
  requireTime?: boolean;
  /** The longest line joined from CRI pieces, in characters (default 1 MiB). */
  maxLineBytes?: number;
  /**
   * Join CRI pieces (default). Off where lines of several sources share one parser (syslog):
   * pieces are then skipped, for a piece must be joined with the rest of its own line.
   */
  joinCriPieces?: boolean;
}

export type ParsedLine =
  | { ok: true; kind: 'input'; entry: AccessEntry; source: RequestSource }
  | { ok: true; kind: 'record'; record: RequestRecord }
  /** `pending`: not malformed, a piece kept until the line it belongs to is complete. */
  | { ok: false; reason: string; pending?: true };

export type LineParser = (line: string) => ParsedLine;

/** A format's parser; `fallbackTime` (RFC 3339, from a wrapper) dates a line without a time. */
type FormatParser = (line: string, fallbackTime?: string) => ParsedLine;

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

export function createLineParser(options: LineParserOptions): LineParser {
  const parse = formatParser(options);
  const join = criJoiner(parse, options.maxLineBytes ?? 1 << 20, options.joinCriPieces ?? true);
  return (line) => {
    const wrapped = unwrapLine(line);
    if (wrapped === undefined) return explained(parse(line), line);
    if (wrapped.wrapper === 'cri') return join(wrapped);
    const parsed = parse(wrapped.line);
    if (parsed.ok) return parsed;
    // A text format whose first field merely looks like a syslog header: the line as it is.
    const whole = parse(line);
    return whole.ok ? whole : explained(parsed, wrapped.line);
  };
}

function formatParser(options: LineParserOptions): FormatParser {
  const requireTime = options.requireTime ?? false;
  const fields = options.fields ?? {};
  switch (options.format) {
    case 'nginx-json':
      return jsonLogParser({ ...fields }, {}, requireTime, 'nginx-json');
    case 'envoy': {
      // Envoy Gateway's keys are read where the usual ones are absent, unless mapped otherwise.
      const alternates: Record<string, string> = {};
      for (const [name, key] of Object.entries(ENVOY_GATEWAY_FIELDS)) {
        if (!Object.hasOwn(fields, name)) alternates[name] = key;
      }
      return jsonLogParser({ ...ENVOY_FIELDS, ...fields }, alternates, requireTime, 'envoy');
    }
    case 'combined':
      return textLogParser(options.logFormat ?? COMBINED_FORMAT, fields, requireTime);
    case 'common':
      return textLogParser(COMMON_FORMAT, fields, requireTime);
    case 'vhost-combined':
      return textLogParser(VHOST_COMBINED_FORMAT, fields, requireTime);
    case 'mirror':
      return (line, fallbackTime) => {
        const parsed = parseJson(line);
        if (!parsed.ok) return parsed;
        const checked = checkMirrorInput(parsed.value);
        if (!checked.ok) return { ok: false, reason: checked.reason };
        if (checked.value.ts === undefined && fallbackTime !== undefined) {
          const ts = Date.parse(fallbackTime);
          if (Number.isFinite(ts)) checked.value.ts = ts;
        }
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

/** A failed line's reason, named more plainly when the line is of a kind no format reads. */
function explained(parsed: ParsedLine, line: string): ParsedLine {
  if (parsed.ok || !isNginxErrorLine(line)) return parsed;
  return { ok: false, reason: 'nginx error log line, not an access log line' };
}

/**
 * CRI lines → the format's parser. P pieces are held per stream and joined with the F piece
 * that ends them (CRI's rule); a joined line over `maxLength` is dropped whole, with a reason.
 */
function criJoiner(
  parse: FormatParser,
  maxLength: number,
  joining: boolean,
): (wrapped: UnwrappedLine) => ParsedLine {
  const held = { stdout: [] as string[], stderr: [] as string[] };
  const length = { stdout: 0, stderr: 0 };
  const overflow = { stdout: false, stderr: false };
  const tooLong = `CRI line joined from partial lines is over ${maxLength} characters`;
  return (wrapped) => {
    const stream = wrapped.stream ?? 'stdout';
    if (wrapped.partial) {
      if (!joining) return { ok: false, reason: 'CRI partial line, not joined from this source' };
      if (!overflow[stream] && length[stream] + wrapped.line.length <= maxLength) {
        held[stream].push(wrapped.line);
        length[stream] += wrapped.line.length;
        return {
          ok: false,
          reason: 'CRI partial line, joined with the line that completes it',
          pending: true,
        };
      }
      held[stream] = [];
      length[stream] = 0;
      overflow[stream] = true;
      return { ok: false, reason: tooLong };
    }
    if (overflow[stream]) {
      overflow[stream] = false;
      return { ok: false, reason: tooLong };
    }
    if (held[stream].length === 0) {
      if (wrapped.line === '') return { ok: false, reason: 'empty CRI log line' };
      return explained(parse(wrapped.line, wrapped.time), wrapped.line);
    }
    const pieces = held[stream];
    held[stream] = [];
    const total = length[stream] + wrapped.line.length;
    length[stream] = 0;
    if (total > maxLength) return { ok: false, reason: tooLong };
    pieces.push(wrapped.line);
    const line = pieces.join('');
    return explained(parse(line, wrapped.time), line);
  };
}

/** Guesses the format of a log from its first line (through a CRI or syslog prefix). */
export function detectFormat(line: string): LogFormat {
  const trimmed = (unwrapLine(line)?.line ?? line).trim();
  if (!trimmed.startsWith('{')) return detectTextFormat(trimmed);
  const parsed = parseJson(trimmed);
  if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return 'nginx-json';
  const keys = new Set(Object.keys(parsed.value));
  if (keys.has('v') && keys.has('headerNames') && keys.has('credentials')) return 'moat';
  if (keys.has('response_code') || keys.has('downstream_remote_address')) return 'envoy';
  if (keys.has('ip') && keys.has('path') && !keys.has('remote_addr')) return 'mirror';
  return 'nginx-json';
}

/** The first text preset that reads the line (combined also reads combined + extra fields). */
function detectTextFormat(line: string): LogFormat {
  for (const format of ['combined', 'vhost-combined', 'common'] as const) {
    if (formatParser({ format })(line).ok) return format;
  }
  return 'combined';
}

function jsonLogParser(
  fields: FieldMap,
  alternates: FieldMap,
  requireTime: boolean,
  source: RequestSource,
): FormatParser {
  const reverse = new Map<string, string>();
  for (const [canonical, key] of Object.entries(alternates)) reverse.set(key, canonical);
  for (const [canonical, key] of Object.entries(fields)) reverse.set(key, canonical);
  const hasAlternates = Object.keys(alternates).length > 0;
  return (line, fallbackTime) => {
    const parsed = parseJson(line);
    if (!parsed.ok) return parsed;
    const obj = parsed.value;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      return { ok: false, reason: 'not a JSON object' };
    }
    const record = obj as Record<string, unknown>;
    const read = (name: string): string | undefined => {
      let value = record[fields[name] ?? name];
      if (value == null && hasAlternates) {
        const alternate = alternates[name];
        if (alternate !== undefined) value = record[alternate];
      }
      if (typeof value === 'string') return value === '' || value === '-' ? undefined : value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      return undefined;
    };
    const headerVars: string[] = [];
    for (const key of Object.keys(record)) {
      const canonical = reverse.get(key) ?? key;
      if (canonical.startsWith('http_')) headerVars.push(canonical);
    }
    const converted = accessEntry(read, headerVars, requireTime, fallbackTime);
    return converted.ok
      ? { ok: true, kind: 'input', entry: converted.entry, source }
      : { ok: false, reason: converted.reason };
  };
}

function textLogParser(format: string, fields: FieldMap, requireTime: boolean): FormatParser {
  const compiled = compileLogFormat(format);
  const reverse = new Map<string, string>();
  for (const [canonical, key] of Object.entries(fields)) reverse.set(key, canonical);
  const headerVars = compiled.variables
    .map((v) => reverse.get(v) ?? v)
    .filter((v) => v.startsWith('http_'));
  return (line, fallbackTime) => {
    const values = compiled.scan(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!values) return { ok: false, reason: 'line does not match the log format' };
    const read = (name: string): string | undefined => {
      const value = values.get(fields[name] ?? name);
      return value === undefined || value === '' || value === '-' ? undefined : value;
    };
    const converted = accessEntry(read, headerVars, requireTime, fallbackTime);
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
