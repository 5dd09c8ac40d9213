/**
 * Property tests over everything that parses what the outside world sends the mirror agent:
 * the log parsers, the line and syslog framers and the client-address logic, fed with broken
 * JSON, invalid UTF-8, 1 MB lines, header injection and spoofed forwarding headers. None may
 * throw; whatever they accept must become a request the contract accepts; limits must hold.
 */
import fc from 'fast-check';
import { codecs } from '@moat/contracts';
import { checkMirrorInput } from './mirror-input';
import { Normaliser } from './normaliser';
import ipaddr from 'ipaddr.js';
import { canonicalAddress, TrustedProxies } from '@moat/contracts';
import { createLineParser, LOG_FORMATS, type ParsedLine } from './sources/line-parser';
import { LineSplitter } from './sources/line-splitter';
import { SyslogFramer, syslogMessage } from './sources/syslog';

const normaliser = new Normaliser({
  secret: 'hostile-secret-0123456789',
  defaultApp: 'default',
  sessionCookies: ['sid'],
  apiKeyHeaders: ['x-api-key'],
  trustedProxies: ['10.0.0.0/8', 'fd00::/8'],
  now: () => 1_764_000_000_000,
});

const parsers = LOG_FORMATS.map((format) => ({ format, parse: createLineParser({ format }) }));

/** Whatever a parser accepts is a valid mirror input that normalises to a valid record. */
function assertUsable(parsed: ParsedLine): void {
  if (!parsed.ok) {
    expect(parsed.reason.length).toBeGreaterThan(0);
    return;
  }
  if (parsed.kind === 'record') {
    expect(codecs.requests.check(parsed.record).ok).toBe(true);
    return;
  }
  const checked = checkMirrorInput(parsed.entry.input);
  expect(checked.ok ? 'valid' : checked.reason).toBe('valid');
  const normalised = normaliser.tryNormalise(parsed.entry.input, parsed.source);
  if (!normalised.ok) return;
  const valid = codecs.requests.check(normalised.record);
  expect(valid.ok ? 'valid' : valid.reason).toBe('valid');
}

/** NGINX's default escaping of text log values: ", \ and bytes outside printable ASCII. */
function nginxEscape(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte === 0x22 || byte === 0x5c || byte < 0x20 || byte >= 0x7f
        ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

const validJsonLine = {
  msec: '1764000000.000',
  remote_addr: '203.0.113.7',
  request_method: 'GET',
  request_uri: '/api/products/1',
  status: '200',
  http_user_agent: 'Mozilla/5.0',
};

describe('log parsers on hostile input', () => {
  it('never throw on arbitrary text, including invalid UTF-8 decoded as U+FFFD', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('utf8')),
          fc.string({ maxLength: 400 }).map((s) => `{${s}`),
        ),
        (line) => {
          for (const { parse } of parsers) assertUsable(parse(line));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never throw on broken or arbitrary JSON, and keep only what is usable', () => {
    const fields = Object.keys(validJsonLine);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
          fc
            .tuple(fc.constantFrom(...fields), fc.jsonValue())
            .map(([field, value]) => JSON.stringify({ ...validJsonLine, [field]: value })),
          fc
            .tuple(fc.nat({ max: 200 }))
            .map(([cut]) => JSON.stringify(validJsonLine).slice(0, cut)),
        ),
        (line) => {
          for (const { parse } of parsers) assertUsable(parse(line));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('take a 1 MB line without throwing, and cut what is too long for the contract', () => {
    const huge = 'a'.repeat(1 << 20);
    const parse = createLineParser({ format: 'nginx-json' });
    const parsed = parse(
      JSON.stringify({
        ...validJsonLine,
        request_uri: `/${huge}`,
        http_user_agent: huge,
        http_x_big: huge,
      }),
    );
    assertUsable(parsed);
    const record = normaliser.normalise(
      (parsed as unknown as { entry: { input: never } }).entry.input,
    );
    expect(record.path.length).toBeLessThanOrEqual(8192);
    expect(record.userAgent.length).toBeLessThanOrEqual(2048);
    for (const { parse: any } of parsers) assertUsable(any(`${huge}\r`));
  });

  it('never throw on arbitrary text behind CRI and syslog prefixes, and hold little', () => {
    const wrapped = LOG_FORMATS.map((format) => ({
      format,
      parse: createLineParser({ format, maxLineBytes: 2048 }),
    }));
    const prefix = fc.constantFrom(
      '2025-12-31T17:40:00.000000100+01:00 stdout F ',
      '2025-12-31T17:40:00Z stderr P ',
      '2025-12-31T17:40:00Z stdout P:x ',
      '2025-12-31T17:40:00Z stdout F',
      'Sep 15 16:13:46 web nginx[1]: ',
      '2021-09-15T16:13:46.123456+02:00 web nginx: ',
      '<190>Sep 15 16:13:46 web nginx: ',
      '2021/09/30 09:23:53 [error] 1#1: ',
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            prefix,
            fc.oneof(
              fc.string({ unit: 'binary', maxLength: 600 }),
              fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
              fc.constant(JSON.stringify(validJsonLine)),
            ),
          ),
          { maxLength: 12 },
        ),
        (lines) => {
          for (const [head, text] of lines) {
            for (const { parse } of wrapped) assertUsable(parse(head + text));
          }
        },
      ),
      { numRuns: 200 },
    );
    // A flood of partial pieces is bounded by the limit, not held.
    const parse = createLineParser({ format: 'nginx-json', maxLineBytes: 4096 });
    for (let i = 0; i < 10_000; i++) parse(`2025-12-31T17:40:00Z stdout P ${'x'.repeat(1000)}`);
    const end = parse(`2025-12-31T17:40:00Z stdout F ${JSON.stringify(validJsonLine)}`);
    expect(end.ok ? 'parsed' : end.reason).toMatch(/over 4096 characters/);
  });

  it('cannot be made to shift fields by a header value (text logs are escaped by NGINX)', () => {
    const parse = createLineParser({ format: 'combined' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 100 }),
          fc.constantFrom('" 500 0 "-" "evil', '"\r\nX-Forwarded-For: 1.2.3.4', '\\x22 200', ''),
        ),
        fc.string({ maxLength: 100 }),
        (userAgent, referer) => {
          const line = `198.51.100.1 - - [24/Nov/2025:16:00:00 +0000] "GET /a?b=1 HTTP/1.1" 404 17 "${nginxEscape(referer) || '-'}" "${nginxEscape(userAgent) || '-'}"`;
          const parsed = parse(line);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok || parsed.kind !== 'input') return;
          const input = parsed.entry.input;
          expect(input).toMatchObject({
            ip: '198.51.100.1',
            method: 'GET',
            path: '/a?b=1',
            status: 404,
          });
          // The value comes back exactly as sent ("-" and "" both mean absent).
          if (userAgent !== '' && userAgent !== '-')
            expect(input.headers?.['user-agent']).toBe(userAgent);
          expect(
            Object.keys(input.headers ?? {}).every((h) => h === 'user-agent' || h === 'referer'),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keep JSON-escaped line breaks inside their field', () => {
    const parse = createLineParser({ format: 'nginx-json' });
    const injected = 'x\r\nx-forwarded-for: 1.2.3.4\r\ncookie: sid=stolen';
    const parsed = parse(JSON.stringify({ ...validJsonLine, http_user_agent: injected }));
    assertUsable(parsed);
    const record = normaliser.normalise(
      (parsed as unknown as { entry: { input: never } }).entry.input,
    );
    expect(record.userAgent).toBe(injected);
    expect(record.ip).toBe('203.0.113.7');
    expect(record.credentials).toEqual([]);
    expect(record.headerNames).toEqual(['user-agent']);
  });
});

describe('framing on hostile input', () => {
  it('splits lines the same however the bytes are chunked, and never holds more than the limit', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 300 }).map((s) => s.replace(/\n/g, '')),
          {
            maxLength: 20,
          },
        ),
        fc.array(fc.nat({ max: 500 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 400 }),
        (lines, cuts, max) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const splitter = new LineSplitter(max);
          const got: string[] = [];
          let pos = 0;
          for (const cut of [...cuts, bytes.length]) {
            const end = Math.min(bytes.length, pos + cut);
            splitter.push(bytes.subarray(pos, end), (l) => got.push(l));
            expect(splitter.buffered).toBeLessThanOrEqual(max);
            pos = end;
          }
          splitter.push(bytes.subarray(pos), (l) => got.push(l));
          const expected = lines
            .map((l) => Buffer.from(l, 'utf8'))
            .filter((b) => b.length <= max)
            .map((b) => b.toString('utf8').replace(/\r$/, ''));
          expect(got).toEqual(expected);
          expect(splitter.oversized).toBe(lines.length - expected.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drops a 1 MB line without holding it, and keeps the lines around it', () => {
    const splitter = new LineSplitter(64 * 1024);
    const got: string[] = [];
    splitter.push(Buffer.from('first\n' + 'x'.repeat(300_000)), (l) => got.push(l));
    for (let i = 0; i < 3; i++) {
      splitter.push(Buffer.alloc(256 * 1024, 0xff), (l) => got.push(l));
      expect(splitter.buffered).toBe(0);
    }
    splitter.push(Buffer.from('yyy\nlast\n'), (l) => got.push(l));
    expect(got).toEqual(['first', 'last']);
    expect(splitter.oversized).toBe(1);
  });

  it('reassembles octet-counted and newline syslog frames however TCP cuts them', () => {
    const frame = fc
      .string({ unit: 'grapheme', maxLength: 120 })
      .map((s) => s.replace(/[\r\n]/g, ' ').trim());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(frame, fc.boolean()), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 64 }), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = Buffer.concat(
            frames.map(([text, counted]) => {
              const message = `<190>${text}`;
              return Buffer.from(
                counted ? `${Buffer.byteLength(message)} ${message}` : `${message}\n`,
                'utf8',
              );
            }),
          );
          const framer = new SyslogFramer(1024);
          const got: string[] = [];
          let pos = 0;
          for (const cut of cuts) {
            framer.push(stream.subarray(pos, pos + cut), (f) => got.push(f));
            pos = Math.min(stream.length, pos + cut);
          }
          framer.push(stream.subarray(pos), (f) => got.push(f));
          expect(got).toEqual(frames.map(([text]) => `<190>${text}`));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary syslog bytes and skips over-long frames', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const framer = new SyslogFramer(64);
        for (const chunk of chunks) {
          framer.push(Buffer.from(chunk), (f) => {
            expect(typeof syslogMessage(f)).toBe('string');
          });
        }
      }),
      { numRuns: 300 },
    );
    const framer = new SyslogFramer(100);
    const got: string[] = [];
    framer.push(Buffer.from(`1000000 <1>${'z'.repeat(200)}`), (f) => got.push(f));
    framer.push(Buffer.from('z'.repeat(2000)), (f) => got.push(f));
    expect(framer.oversized).toBe(1);
    expect(got).toEqual([]);
  });
});

describe('client address from forwarding headers', () => {
  const untrustedV4 = fc.ipV4().filter((ip) => !ip.startsWith('10.'));
  const hop = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('unknown', '_hidden', '', '1.2.3'));
  const spoof = fc.record(
    {
      'x-forwarded-for': fc.array(hop, { maxLength: 5 }).map((h) => h.join(', ')),
      forwarded: fc.array(hop, { maxLength: 3 }).map((h) => h.map((x) => `for="${x}"`).join(', ')),
      'x-real-ip': hop,
    },
    { requiredKeys: [] },
  );

  it('ignores every forwarding header a peer that is not a trusted proxy sends', () => {
    fc.assert(
      fc.property(untrustedV4, spoof, (peer, headers) => {
        const record = normaliser.normalise({
          ip: peer,
          method: 'GET',
          path: '/',
          status: 200,
          headers,
        });
        expect(record.ip).toBe(peer);
      }),
      { numRuns: 400 },
    );
  });

  it('takes the right-most hop that is not a trusted proxy when the peer is one', () => {
    fc.assert(
      fc.property(
        fc.array(untrustedV4, { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.ipV4().map((ip) => `10.${ip.split('.').slice(1).join('.')}`),
          { maxLength: 3 },
        ),
        (clients, proxies) => {
          const xff = [...clients, ...proxies].join(', ');
          const record = normaliser.normalise({
            ip: '10.0.0.1',
            method: 'GET',
            path: '/',
            status: 200,
            headers: { 'x-forwarded-for': xff },
          });
          expect(record.ip).toBe(clients[clients.length - 1]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads Forwarded (RFC 7239) and IPv6 proxies', () => {
    const proxies = new TrustedProxies(['fd00::/8', '10.0.0.0/8']);
    const headers = new Map([
      ['forwarded', 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711", for=10.1.1.1'],
    ]);
    expect(proxies.clientIp('fd00::1', headers)).toBe('2001:db8:cafe::17');
    expect(proxies.clientIp('[fd00::2]:443', new Map([['x-real-ip', '198.51.100.1']]))).toBe(
      '198.51.100.1',
    );
    expect(proxies.clientIp('::ffff:10.0.0.9', new Map([['x-forwarded-for', '203.0.113.1']]))).toBe(
      '203.0.113.1',
    );
    expect(proxies.clientIp('not-an-ip', new Map())).toBeUndefined();
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/not an IP address or CIDR/);
  });
});

describe('canonicalAddress', () => {
  it('accepts exactly the dotted quads ipaddr.js accepts as four-part decimal', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.ipV4(),
          fc.ipV4Extended(),
          fc.array(fc.nat({ max: 300 }), { minLength: 4, maxLength: 4 }).map((p) => p.join('.')),
          fc.string({ maxLength: 20 }),
        ),
        (text) => {
          const fast = canonicalAddress(text) === text && !text.includes(':');
          expect(fast).toBe(ipaddr.IPv4.isValidFourPartDecimal(text));
        },
      ),
      { numRuns: 1000 },
    );
    expect(canonicalAddress('010.0.0.1')).toBeUndefined();
    expect(canonicalAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });
});
