import { createLineParser, detectFormat, repairNginxEscapes, type ParsedLine } from './line-parser';
import { parseTimeLocal } from './access-log';
import { compileLogFormat, unescapeNginx } from './log-format';

function input(parsed: ParsedLine) {
  if (!parsed.ok) throw new Error(`expected a parsed line, got: ${parsed.reason}`);
  if (parsed.kind !== 'input') throw new Error('expected an input');
  return parsed.entry.input;
}

const nginxLine = {
  msec: '1764000000.123',
  request_id: '7f1c2b3a4d5e6f708192a3b4c5d6e7f8',
  remote_addr: '203.0.113.7',
  host: 'shop.example',
  request_method: 'POST',
  request_uri: '/api/login?next=%2Fcart',
  status: '401',
  request_length: '512',
  bytes_sent: '98',
  request_time: '0.120',
  upstream_response_time: '0.100',
  http_user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
  http_referer: 'https://shop.example/',
  http_accept_language: 'de-DE',
  http_x_forwarded_for: '',
};

describe('nginx-json', () => {
  const parse = createLineParser({ format: 'nginx-json' });

  it('reads a log_format whose keys are the variable names, with no mapping', () => {
    const parsed = parse(JSON.stringify(nginxLine));
    expect(parsed).toMatchObject({ ok: true, source: 'nginx-json' });
    expect(parsed.ok && parsed.kind === 'input' && parsed.entry.requestId).toBe(
      nginxLine.request_id,
    );
    expect(input(parsed)).toEqual({
      id: nginxLine.request_id,
      ts: 1_764_000_000_123,
      ip: '203.0.113.7',
      method: 'POST',
      path: '/api/login?next=%2Fcart',
      status: 401,
      host: 'shop.example',
      requestBytes: 512,
      responseBytes: 98,
      // Backend time, what a client can drive up; request_time when there is no upstream.
      latencyMs: 100,
      partialHeaders: true,
      headers: {
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
        referer: 'https://shop.example/',
        'accept-language': 'de-DE',
      },
    });
  });

  it('takes numbers as numbers, ISO and common-log times, uri + args, several upstreams', () => {
    const a = input(
      parse(
        JSON.stringify({
          time_iso8601: '2025-11-24T16:00:00+01:00',
          remote_addr: '::ffff:198.51.100.4',
          request_method: 'GET',
          uri: '/search',
          args: 'q=boots',
          status: 200,
          body_bytes_sent: 1234,
          upstream_response_time: '0.010, 0.030',
        }),
      ),
    );
    expect(a).toMatchObject({
      ts: Date.UTC(2025, 10, 24, 15),
      ip: '198.51.100.4',
      path: '/search?q=boots',
      status: 200,
      responseBytes: 1234,
      latencyMs: 40,
    });
    const b = input(
      parse(
        JSON.stringify({
          time_local: '24/Nov/2025:16:00:00 -0700',
          remote_addr: '2001:db8::1',
          request: 'DELETE /api/items/9?force=1 HTTP/1.1',
          status: '204',
          request_time: '0.002',
          upstream_response_time: '-',
        }),
      ),
    );
    expect(b).toMatchObject({
      ts: Date.UTC(2025, 10, 24, 23),
      ip: '2001:db8::1',
      method: 'DELETE',
      path: '/api/items/9?force=1',
      latencyMs: 2,
    });
  });

  it('maps custom keys onto the variable names', () => {
    const custom = createLineParser({
      format: 'nginx-json',
      fields: { remote_addr: 'client', request_uri: 'url', http_user_agent: 'ua', msec: 'when' },
    });
    const parsed = input(
      custom(
        JSON.stringify({
          when: 1764000000.5,
          client: '192.0.2.9',
          request_method: 'GET',
          url: '/x',
          status: 200,
          ua: 'curl/8',
        }),
      ),
    );
    expect(parsed).toMatchObject({
      ts: 1_764_000_000_500,
      ip: '192.0.2.9',
      path: '/x',
      headers: { 'user-agent': 'curl/8' },
    });
  });

  it('says why it skips a line', () => {
    const reason = (line: string) => {
      const parsed = parse(line);
      return parsed.ok ? 'parsed' : parsed.reason;
    };
    expect(reason('{"remote_addr":')).toMatch(/^invalid JSON/);
    expect(reason('[1,2]')).toBe('not a JSON object');
    expect(reason(JSON.stringify({ ...nginxLine, remote_addr: 'unknown' }))).toMatch(
      /is not an IP address/,
    );
    expect(reason(JSON.stringify({ ...nginxLine, status: '2OO' }))).toBe('no valid status');
    expect(reason(JSON.stringify({ ...nginxLine, request_method: '' }))).toMatch(/no HTTP method/);
    expect(reason(JSON.stringify({ ...nginxLine, msec: 'soon' }))).toMatch(/not a valid time/);
    const replay = createLineParser({ format: 'nginx-json', requireTime: true });
    const timeless: Partial<typeof nginxLine> = { ...nginxLine };
    delete timeless.msec;
    const r = replay(JSON.stringify(timeless));
    expect(r.ok ? 'parsed' : r.reason).toMatch(/no time field/);
  });

  it('repairs a JSON format written without escape=json (NGINX escapes a quote as \\x22)', () => {
    const line =
      '{"msec":"1764000000.000","remote_addr":"192.0.2.1","request_method":"GET","request_uri":"/a","status":"200","http_user_agent":"say \\x22hi\\x22 \\xC3\\xA9"}';
    expect(() => {
      JSON.parse(line);
    }).toThrow();
    expect(input(parse(line)).headers?.['user-agent']).toBe('say "hi" é');
    expect(repairNginxEscapes('a\\x5Cb')).toBe('a\\\\b');
  });
});

describe('envoy', () => {
  it('reads the usual JSON access-log keys, durations in milliseconds, address with port', () => {
    const parse = createLineParser({ format: 'envoy' });
    const parsed = input(
      parse(
        JSON.stringify({
          start_time: '2025-11-24T16:00:00.250Z',
          method: 'GET',
          path: '/api/products/1?x=1',
          protocol: 'HTTP/1.1',
          response_code: 200,
          response_flags: '-',
          bytes_received: 0,
          bytes_sent: 5120,
          duration: 31,
          upstream_service_time: '29',
          x_forwarded_for: '203.0.113.9',
          user_agent: 'okhttp/4.12.0',
          request_id: 'a3c5-11',
          authority: 'api.example',
          upstream_host: '10.0.0.7:8080',
          downstream_remote_address: '10.1.2.3:55012',
        }),
      ),
    );
    expect(parsed).toMatchObject({
      id: 'a3c5-11',
      ts: Date.UTC(2025, 10, 24, 16, 0, 0, 250),
      ip: '10.1.2.3',
      method: 'GET',
      host: 'api.example',
      path: '/api/products/1?x=1',
      status: 200,
      responseBytes: 5120,
      latencyMs: 29,
      headers: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'okhttp/4.12.0' },
    });
  });
});

describe('combined and custom text formats', () => {
  it('reads the combined format', () => {
    const parse = createLineParser({ format: 'combined' });
    const parsed = parse(
      '203.0.113.7 - alice [24/Nov/2025:16:00:00 +0000] "GET /api/products/42?page=2 HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (Windows NT 10.0)"',
    );
    expect(parsed).toMatchObject({ ok: true, source: 'nginx-text' });
    expect(input(parsed)).toEqual({
      ts: Date.UTC(2025, 10, 24, 16),
      ip: '203.0.113.7',
      method: 'GET',
      path: '/api/products/42?page=2',
      status: 200,
      responseBytes: 5120,
      partialHeaders: true,
      headers: { referer: 'https://shop.example/', 'user-agent': 'Mozilla/5.0 (Windows NT 10.0)' },
    });
  });

  it('reads any log_format, with NGINX escapes undone', () => {
    const parse = createLineParser({
      format: 'combined',
      logFormat:
        '$remote_addr [$time_local] "$request" $status $bytes_sent $request_time "$http_user_agent" $request_id',
    });
    const parsed = input(
      parse(
        '198.51.100.2 [24/Nov/2025:16:00:00 +0000] "POST /login HTTP/2.0" 302 410 0.031 "bot \\x22quoted\\x22" 0123abcd',
      ),
    );
    expect(parsed).toMatchObject({
      id: '0123abcd',
      method: 'POST',
      path: '/login',
      status: 302,
      latencyMs: 31,
      headers: { 'user-agent': 'bot "quoted"' },
    });
  });

  it('reads the main preset (combined plus X-Forwarded-For)', () => {
    const parse = createLineParser({ format: 'combined', logFormat: 'main' });
    const parsed = input(
      parse(
        '10.0.0.5 - - [24/Nov/2025:16:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.5" "203.0.113.50, 10.0.0.4"',
      ),
    );
    expect(parsed.headers).toEqual({
      'user-agent': 'curl/8.5',
      'x-forwarded-for': '203.0.113.50, 10.0.0.4',
    });
  });

  it('refuses a format it cannot split, naming the variables', () => {
    expect(() => compileLogFormat('$remote_addr$status')).toThrow(/\$remote_addr and \$status/);
    expect(() => compileLogFormat('no variables')).toThrow(/no \$variables/);
  });

  it('says when a line does not fit the format', () => {
    const parse = createLineParser({ format: 'combined' });
    const parsed = parse('hello world');
    expect(parsed.ok ? 'parsed' : parsed.reason).toBe('line does not match the log format');
  });
});

const combinedLine =
  '203.0.113.7 - alice [24/Nov/2025:16:00:00 +0000] "GET /api/products/42?page=2 HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (Windows NT 10.0)"';
const clfLine =
  '172.17.0.1 - - [29/Sep/2021:12:37:05 +0000] "GET /x.php?a=http://cirt.net/rfiinc.txt?? HTTP/1.1" 404 196';
const envoyGatewayLine =
  '{"start_time":"2025-12-31T16:40:00.100Z","method":"GET","x-envoy-origin-path":"/page-01","response_code":404,"user-agent":"Mozilla/5.0","downstream_remote_address":"10.0.0.13:40000",":authority":"crawl.internal"}';

const reason = (parsed: ParsedLine) => (parsed.ok ? 'parsed' : parsed.reason);

describe('common and vhost-combined', () => {
  it('reads the Common Log Format (no referer, no user agent)', () => {
    const parse = createLineParser({ format: 'common', logFormat: 'combined' });
    expect(input(parse(clfLine))).toEqual({
      ts: Date.UTC(2021, 8, 29, 12, 37, 5),
      ip: '172.17.0.1',
      method: 'GET',
      path: '/x.php?a=http://cirt.net/rfiinc.txt??',
      status: 404,
      responseBytes: 196,
      partialHeaders: true,
    });
    // Also as the `common` preset of a text log_format.
    const preset = createLineParser({ format: 'combined', logFormat: 'common' });
    expect(input(preset(clfLine)).path).toBe('/x.php?a=http://cirt.net/rfiinc.txt??');
    expect(reason(parse('172.17.0.1 - - [29/Sep/2021:12:37:05 +0000] "GET /" 404'))).toBe(
      'line does not match the log format',
    );
  });

  it('reads combined with the virtual host first, with or without a port', () => {
    const parse = createLineParser({ format: 'vhost-combined' });
    expect(input(parse(`memze.ro ${combinedLine} "-"`))).toMatchObject({
      ip: '203.0.113.7',
      host: 'memze.ro',
      path: '/api/products/42?page=2',
      headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0)' },
    });
    expect(input(parse(`shop.example:443 ${combinedLine}`)).host).toBe('shop.example:443');
    expect(reason(parse(combinedLine))).toBe('line does not match the log format');
  });
});

describe('envoy gateway keys', () => {
  it("reads Envoy Gateway's default JSON keys, the address with its port", () => {
    const parse = createLineParser({ format: 'envoy', requireTime: true });
    expect(input(parse(envoyGatewayLine))).toEqual({
      ts: Date.UTC(2025, 11, 31, 16, 40, 0, 100),
      ip: '10.0.0.13',
      method: 'GET',
      path: '/page-01',
      status: 404,
      host: 'crawl.internal',
      partialHeaders: true,
      headers: { 'user-agent': 'Mozilla/5.0' },
    });
    const full = input(
      parse(
        JSON.stringify({
          start_time: '2025-04-09T11:44:45.639Z',
          method: 'POST',
          'x-envoy-origin-path': '/api/login?x=1',
          protocol: 'HTTP/1.1',
          response_code: 401,
          bytes_received: 120,
          bytes_sent: 30,
          duration: 9,
          'x-envoy-upstream-service-time': '7',
          'x-forwarded-for': '203.0.113.9',
          'user-agent': 'curl/7.88.1',
          'x-request-id': 'ab1e4da7-5f1d',
          ':authority': 'api.example',
          upstream_host: null,
          downstream_remote_address: '[2001:db8::5]:34805',
        }),
      ),
    );
    expect(full).toMatchObject({
      id: 'ab1e4da7-5f1d',
      ip: '2001:db8::5',
      host: 'api.example',
      path: '/api/login?x=1',
      status: 401,
      latencyMs: 7,
      headers: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'curl/7.88.1' },
    });
  });

  it('prefers the usual key, and a mapping in --fields over both', () => {
    const both = JSON.stringify({
      start_time: '2025-04-09T11:44:45.639Z',
      method: 'GET',
      path: '/usual',
      'x-envoy-origin-path': '/gateway',
      response_code: 200,
      downstream_remote_address: '10.1.2.3:1',
      route: '/mapped',
    });
    expect(input(createLineParser({ format: 'envoy' })(both)).path).toBe('/usual');
    const mapped = createLineParser({ format: 'envoy', fields: { request_uri: 'nowhere' } });
    expect(reason(mapped(both))).toMatch(/no request URI/);
  });
});

describe('syslog-wrapped lines', () => {
  const parse = createLineParser({ format: 'combined', requireTime: true });
  const wrapped = `Sep 15 16:13:46 ip-172-31-43-28.us-east-2.compute.internal nginx[2869]: ${combinedLine}`;

  it("reads the line inside, in its own time (the syslog header's has no year)", () => {
    expect(input(parse(wrapped))).toEqual(input(parse(combinedLine)));
    expect(input(parse(`2025-11-24T17:00:00.123+01:00 web nginx: ${combinedLine}`)).ts).toBe(
      Date.UTC(2025, 10, 24, 16),
    );
    expect(input(parse(`<190>Nov 24 16:00:00 web nginx: ${combinedLine}`)).ip).toBe('203.0.113.7');
    const json = createLineParser({ format: 'nginx-json' });
    expect(input(json(`Sep 15 16:13:46 web nginx: ${JSON.stringify(nginxLine)}`)).path).toBe(
      nginxLine.request_uri,
    );
  });

  it('says why it skips a wrapped line', () => {
    expect(reason(parse('Sep 15 16:13:46 web nginx: hello'))).toBe(
      'line does not match the log format',
    );
    expect(reason(parse('Sep 15 16:13:46 web nginx: '))).toBe('line does not match the log format');
  });

  it('reads a custom format whose first field only looks like a syslog header', () => {
    const custom = createLineParser({
      format: 'combined',
      logFormat: '$time_iso8601 $host $request_method $request_uri: $status $remote_addr',
    });
    expect(input(custom('2025-11-24T16:00:00Z web GET /x: 200 192.0.2.1'))).toMatchObject({
      host: 'web',
      path: '/x',
      ip: '192.0.2.1',
    });
  });
});

describe('CRI-wrapped lines (Kubernetes container logs)', () => {
  const cri = (time: string, stream: string, tag: string, text: string) =>
    `${time} ${stream} ${tag} ${text}`;

  it("reads the line inside in its own time, or in the runtime's when it has none", () => {
    const parse = createLineParser({ format: 'envoy', requireTime: true });
    const parsed = input(
      parse(cri('2025-12-31T17:40:00.000000100+01:00', 'stdout', 'F', envoyGatewayLine)),
    );
    expect(parsed).toEqual(input(parse(envoyGatewayLine)));
    const timeless = createLineParser({
      format: 'combined',
      logFormat: '$remote_addr "$request" $status',
      requireTime: true,
    });
    expect(reason(timeless('192.0.2.1 "GET / HTTP/1.1" 200'))).toMatch(/no time field/);
    expect(
      input(
        timeless(cri('2025-12-31T16:40:00.25Z', 'stdout', 'F', '192.0.2.1 "GET / HTTP/1.1" 200')),
      ).ts,
    ).toBe(Date.UTC(2025, 11, 31, 16, 40, 0, 250));
    const mirror = createLineParser({ format: 'mirror', requireTime: true });
    expect(
      input(
        mirror(
          cri(
            '2025-12-31T16:40:00Z',
            'stdout',
            'F',
            '{"ip":"192.0.2.1","method":"GET","path":"/","status":200}',
          ),
        ),
      ).ts,
    ).toBe(Date.UTC(2025, 11, 31, 16, 40));
    expect(
      input(
        createLineParser({ format: 'combined' })(
          cri('2025-12-31T16:40:00Z', 'stderr', 'F', combinedLine),
        ),
      ).ip,
    ).toBe('203.0.113.7');
  });

  it('joins partial pieces with the full one that ends them, per stream', () => {
    const parse = createLineParser({ format: 'nginx-json' });
    const text = JSON.stringify({ ...nginxLine, http_user_agent: 'u'.repeat(40) });
    const [a, b, c] = [text.slice(0, 30), text.slice(30, 80), text.slice(80)];
    const t = '2025-12-31T16:40:00Z';
    const first = parse(cri(t, 'stdout', 'P', a));
    expect(first).toEqual({
      ok: false,
      reason: 'CRI partial line, joined with the line that completes it',
      pending: true,
    });
    // A full line of the other stream in between is its own line.
    expect(input(parse(cri(t, 'stderr', 'F', JSON.stringify(nginxLine)))).path).toBe(
      nginxLine.request_uri,
    );
    expect(parse(cri(t, 'stdout', 'P', b))).toMatchObject({ ok: false, pending: true });
    const joined = input(parse(cri(t, 'stdout', 'F', c)));
    expect(joined.headers?.['user-agent']).toBe('u'.repeat(40));
    // The state is clear afterwards.
    expect(input(parse(cri(t, 'stdout', 'F', JSON.stringify(nginxLine)))).path).toBe(
      nginxLine.request_uri,
    );
  });

  it('drops a joined line over the limit whole, holding no more than the limit', () => {
    const parse = createLineParser({ format: 'nginx-json', maxLineBytes: 100 });
    const t = '2025-12-31T16:40:00Z';
    expect(parse(cri(t, 'stdout', 'P', 'x'.repeat(60)))).toMatchObject({ pending: true });
    const over = 'CRI line joined from partial lines is over 100 characters';
    expect(reason(parse(cri(t, 'stdout', 'P', 'x'.repeat(60))))).toBe(over);
    expect(reason(parse(cri(t, 'stdout', 'P', 'x'.repeat(10))))).toBe(over);
    expect(reason(parse(cri(t, 'stdout', 'F', '}')))).toBe(over);
    // The next line reads normally.
    expect(input(parse(cri(t, 'stdout', 'F', JSON.stringify(nginxLine)))).ip).toBe('203.0.113.7');
    // An F that makes the joined line too long.
    parse(cri(t, 'stdout', 'P', 'x'.repeat(60)));
    expect(reason(parse(cri(t, 'stdout', 'F', 'x'.repeat(60))))).toBe(over);
  });

  it('skips pieces where they cannot be joined, and says why for empty or bad lines', () => {
    const parse = createLineParser({ format: 'nginx-json', joinCriPieces: false });
    const t = '2025-12-31T16:40:00Z';
    expect(parse(cri(t, 'stdout', 'P', '{"a":'))).toEqual({
      ok: false,
      reason: 'CRI partial line, not joined from this source',
    });
    expect(reason(parse(`${t} stdout F`))).toBe('empty CRI log line');
    expect(reason(parse(cri(t, 'stdout', 'F', '{"remote_addr":')))).toMatch(/^invalid JSON/);
  });
});

describe('nginx error log lines', () => {
  it('are skipped as what they are, whatever the format', () => {
    const line =
      '2021/09/30 09:23:53 [error] 1925800#1925800: *17 user "foo" was not found in "/tmp/a.htpasswd", client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "localhost"';
    for (const format of ['combined', 'common', 'nginx-json', 'envoy'] as const) {
      expect(reason(createLineParser({ format })(line))).toBe(
        'nginx error log line, not an access log line',
      );
    }
    expect(
      reason(createLineParser({ format: 'combined' })(`2025-12-31T16:40:00Z stderr F ${line}`)),
    ).toBe('nginx error log line, not an access log line');
  });
});

describe('mirror and moat lines', () => {
  it('validates mirror input and moat.requests.v1 records', () => {
    const mirror = createLineParser({ format: 'mirror' });
    expect(mirror('{"ip":"192.0.2.1","method":"GET","path":"/","status":200}').ok).toBe(true);
    expect(mirror('{"ip":"192.0.2.1"}').ok).toBe(false);
    const moat = createLineParser({ format: 'moat' });
    const bad = moat('{"v":2}');
    expect(bad.ok ? '' : bad.reason).toMatch(/^schema violation \(requests v1\)/);
  });
});

describe('format detection and helpers', () => {
  it('guesses the format from the first line', () => {
    expect(detectFormat(JSON.stringify(nginxLine))).toBe('nginx-json');
    expect(detectFormat('{"start_time":"x","response_code":200}')).toBe('envoy');
    expect(detectFormat('{"ip":"1.2.3.4","method":"GET","path":"/","status":1}')).toBe('mirror');
    expect(detectFormat('{"v":1,"headerNames":[],"credentials":[],"ip":"1.2.3.4"}')).toBe('moat');
    expect(detectFormat('1.2.3.4 - - [24/Nov/2025:16:00:00 +0000] "GET / HTTP/1.1" 200 1')).toBe(
      'common',
    );
    expect(detectFormat(`${combinedLine} "-"`)).toBe('combined');
    expect(detectFormat(`shop.example ${combinedLine}`)).toBe('vhost-combined');
    // What no preset reads is left to combined, which says why line by line.
    expect(detectFormat('hello world')).toBe('combined');
  });

  it('sees through CRI and syslog prefixes', () => {
    expect(detectFormat(`2025-12-31T17:40:00.000000100+01:00 stdout F ${envoyGatewayLine}`)).toBe(
      'envoy',
    );
    expect(detectFormat(`Sep 15 16:13:46 web nginx[2869]: ${combinedLine}`)).toBe('combined');
    expect(detectFormat(`2025-12-31T16:40:00Z stderr F ${JSON.stringify(nginxLine)}`)).toBe(
      'nginx-json',
    );
    expect(detectFormat(`Sep 15 16:13:46 web nginx: ${clfLine}`)).toBe('common');
  });

  it('parses $time_local and undoes escapes', () => {
    expect(parseTimeLocal('10/Oct/2000:13:55:36 -0700')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36));
    expect(parseTimeLocal('10/Foo/2000:13:55:36 -0700')).toBeNaN();
    expect(unescapeNginx('\\xE2\\x82\\xAC and \\x5C')).toBe('€ and \\');
  });
});
