/**
 * Syslog as NGINX sends it (`access_log syslog:server=host:port,tag=nginx …`): one RFC 3164
 * message per UDP datagram, `<PRI>Mmm dd hh:mm:ss hostname tag: message`. Relays (rsyslog,
 * syslog-ng) may use RFC 5424 and TCP, where frames are either newline-terminated or
 * octet-counted (RFC 6587: `<length> <frame>`). Only the message is kept: the log line.
 */

const RFC3164_TIME = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /;

/** The message of one syslog frame; a frame without a syslog header is returned as is. */
export function syslogMessage(frame: string): string {
  const pri = /^<\d{1,3}>/.exec(frame);
  if (!pri) return frame;
  let rest = frame.slice(pri[0].length);
  if (rest.startsWith('1 ')) return rfc5424Message(rest);
  const time = RFC3164_TIME.exec(rest);
  if (!time) return rest;
  rest = rest.slice(time[0].length);
  // "hostname tag: message" (NGINX writes both); the tag ends at the first ": ".
  const colon = rest.indexOf(': ');
  const firstSpace = rest.indexOf(' ');
  if (colon === -1 || firstSpace === -1 || firstSpace > colon) {
    // No hostname: "tag: message", or no tag at all.
    return colon !== -1 && !rest.slice(0, colon).includes(' ') ? rest.slice(colon + 2) : rest;
  }
  const tagAndMessage = rest.slice(firstSpace + 1);
  const tagEnd = tagAndMessage.indexOf(': ');
  return tagEnd !== -1 && !tagAndMessage.slice(0, tagEnd).includes(' ')
    ? tagAndMessage.slice(tagEnd + 2)
    : tagAndMessage;
}

/** `1 TIMESTAMP HOST APP PROCID MSGID SD MSG` → MSG (a UTF-8 BOM before it is dropped). */
function rfc5424Message(rest: string): string {
  let pos = 0;
  for (let field = 0; field < 6; field++) {
    const space = rest.indexOf(' ', pos);
    if (space === -1) return '';
    pos = space + 1;
  }
  // Structured data: "-" or one or more [id k="v" …] elements; values escape ] as \].
  if (rest[pos] === '-') pos += 1;
  else {
    while (rest[pos] === '[') {
      let i = pos + 1;
      while (i < rest.length && rest[i] !== ']') i += rest[i] === '\\' ? 2 : 1;
      pos = i + 1;
    }
  }
  if (rest[pos] === ' ') pos += 1;
  const message = rest.slice(pos);
  return message.startsWith('\uFEFF') ? message.slice(1) : message;
}

/**
 * Splits a TCP syslog stream into frames: octet-counted when a frame starts with a digit,
 * else newline-terminated. A frame over `maxFrameBytes` is skipped (counted) without being
 * held.
 */
export class SyslogFramer {
  oversized = 0;
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of an over-long frame still to skip (octet counting), or -1 to skip to a newline. */
  private skip = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer, frame: (text: string) => void): void {
    const data = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.buffer = Buffer.alloc(0);
    let pos = 0;
    while (pos < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.skip === -1) {
        const nl = data.indexOf(10, pos);
        if (nl === -1) {
          pos = data.length;
          break;
        }
        this.skip = 0;
        pos = nl + 1;
        continue;
      }
      const first = data[pos];
      const counted = first >= 0x30 && first <= 0x39 ? octetCount(data, pos) : null;
      if (counted === undefined) break; // not enough bytes yet to tell
      if (counted !== null) {
        const { length, start } = counted;
        if (length > this.maxFrameBytes) {
          this.oversized++;
          this.skip = length;
          pos = start;
          continue;
        }
        if (data.length - start < length) break; // wait for the rest of the frame
        frame(trimNewline(data.toString('utf8', start, start + length)));
        pos = start + length;
      } else if (first === 10 || first === 13) {
        pos += 1; // stray line ends between frames
      } else {
        const nl = data.indexOf(10, pos);
        if (nl === -1) {
          if (data.length - pos > this.maxFrameBytes) {
            this.oversized++;
            this.skip = -1;
            pos = data.length;
          }
          break;
        }
        if (nl - pos > this.maxFrameBytes) this.oversized++;
        else frame(trimNewline(data.toString('utf8', pos, nl)));
        pos = nl + 1;
      }
    }
    if (pos < data.length) this.buffer = Buffer.from(data.subarray(pos));
  }
}

/**
 * At a frame start with a digit: the octet count and where the frame starts when the bytes
 * read `<digits> <`; null when they are the start of a newline-terminated line instead (a text
 * log line starts with an address); undefined when too few bytes arrived to tell.
 */
function octetCount(
  data: Buffer,
  pos: number,
): { length: number; start: number } | null | undefined {
  let i = pos;
  while (i < data.length && i - pos <= 10 && data[i] >= 0x30 && data[i] <= 0x39) i++;
  if (i - pos > 10) return null;
  if (i + 1 >= data.length) return undefined;
  if (data[i] !== 32 || data[i + 1] !== 0x3c /* < */) return null;
  return { length: Number(data.toString('latin1', pos, i)), start: i + 1 };
}

function trimNewline(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--;
  return end === text.length ? text : text.slice(0, end);
}
