/**
 * Prefixes that wrap an access-log line without changing it, so that every log format can be
 * read through them:
 *
 * - CRI, what containerd and CRI-O write for kubelet (/var/log/pods, /var/log/containers):
 *   `<RFC 3339 time> <stdout|stderr> <F|P>[:tags] <line>`. A line longer than the runtime's
 *   buffer (16 KiB by default) comes as P pieces closed by an F piece, per stream.
 * - syslog as rsyslog or syslog-ng write it to a file: `Mmm dd hh:mm:ss host tag: <line>`
 *   (RFC 3164, the traditional file format) or `<RFC 3339 time> host tag: <line>` (the
 *   high-precision file format, Debian's default since 12); and `<PRI>…` frames kept as sent.
 *
 * Telling a wrapped line costs an unwrapped one a character comparison or two: a JSON line starts
 * with `{` and a text access line with an address, which is neither a month name, nor `<`, nor
 * a date with `-` at its fifth character.
 */
import { syslogMessage } from './syslog';

export interface UnwrappedLine {
  wrapper: 'cri' | 'syslog';
  /** The line inside the prefix. */
  line: string;
  /** CRI: when the runtime read the line (RFC 3339), for a line that has no time of its own. */
  time?: string;
  /** CRI: the stream, whose pieces are joined apart from the other's. */
  stream?: 'stdout' | 'stderr';
  /** CRI: a piece of a longer line, completed by the pieces that follow up to an F. */
  partial?: boolean;
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
/** `Mmm dd hh:mm:ss host tag: ` (the tag may carry `[pid]`); the message follows. */
const RFC3164_FILE = new RegExp(`^${MONTH} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d [^ ]+ [^ :]+: `);
/** `yyyy-mm-ddThh:mm:ss[.frac](Z|±hh:mm)`, as CRI and rsyslog's high-precision format write it. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;
/** What follows an RFC 3339 time in a syslog file line: `host tag: `. */
const HOST_AND_TAG = /^[^ ]+ [^ :]+: /;

/** The line inside a CRI or syslog prefix, or undefined for a line without one. */
export function unwrapLine(line: string): UnwrappedLine | undefined {
  const first = line.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    // A digit: an address (never `-` at index 4), or an RFC 3339 time.
    if (line.charCodeAt(4) !== 45 || line.charCodeAt(10) !== 84) return undefined;
    const space = line.indexOf(' ', 19);
    if (space === -1 || space > 40) return undefined;
    const time = line.slice(0, space);
    if (!RFC3339.test(time)) return undefined;
    return criLine(line, time, space + 1) ?? syslogFileLine(line, space + 1);
  }
  if (first >= 65 && first <= 90) {
    // A capital: maybe `Mmm dd hh:mm:ss host tag: `.
    const m = RFC3164_FILE.exec(line);
    return m ? { wrapper: 'syslog', line: line.slice(m[0].length) } : undefined;
  }
  if (first === 60 && /^<\d{1,3}>/.test(line)) {
    return { wrapper: 'syslog', line: syslogMessage(line) };
  }
  return undefined;
}

/** `<stdout|stderr> <F|P>[:tags] <line>` from `at`; undefined when it is not that. */
function criLine(line: string, time: string, at: number): UnwrappedLine | undefined {
  let stream: 'stdout' | 'stderr';
  if (line.startsWith('stdout ', at)) stream = 'stdout';
  else if (line.startsWith('stderr ', at)) stream = 'stderr';
  else return undefined;
  const tagAt = at + 7;
  const tag = line[tagAt];
  if (tag !== 'F' && tag !== 'P') return undefined;
  // Tags are `:`-separated; the first says full or partial (kubelet reads no other).
  let end: number;
  if (tagAt + 1 >= line.length || line[tagAt + 1] === ' ') end = tagAt + 1;
  else if (line[tagAt + 1] === ':') {
    end = line.indexOf(' ', tagAt);
    if (end === -1) end = line.length;
  } else return undefined;
  const unwrapped: UnwrappedLine = {
    wrapper: 'cri',
    line: end + 1 >= line.length ? '' : line.slice(end + 1),
    time,
    stream,
  };
  if (tag === 'P') unwrapped.partial = true;
  return unwrapped;
}

function syslogFileLine(line: string, at: number): UnwrappedLine | undefined {
  const m = HOST_AND_TAG.exec(line.slice(at, at + 512));
  return m ? { wrapper: 'syslog', line: line.slice(at + m[0].length) } : undefined;
}

const NGINX_ERROR =
  /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: /;

/** An NGINX error log line (`yyyy/mm/dd hh:mm:ss [level] pid#tid: …`), not an access log line. */
export function isNginxErrorLine(line: string): boolean {
  return line.charCodeAt(4) === 47 /* / */ && NGINX_ERROR.test(line);
}
