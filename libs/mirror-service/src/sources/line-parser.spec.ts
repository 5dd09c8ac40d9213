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
      'combined',
    );
  });

  it('parses $time_local and undoes escapes', () => {
    expect(parseTimeLocal('10/Oct/2000:13:55:36 -0700')).toBe(Date.UTC(2000, 9, 10, 20, 55, 36));
    expect(parseTimeLocal('10/Foo/2000:13:55:36 -0700')).toBeNaN();
    expect(unescapeNginx('\\xE2\\x82\\xAC and \\x5C')).toBe('€ and \\');
  });
});
