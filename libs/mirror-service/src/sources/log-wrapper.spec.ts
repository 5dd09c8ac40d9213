import { isNginxErrorLine, unwrapLine } from './log-wrapper';

const combined =
  '81.150.104.130 - - [15/Sep/2021:16:13:46 +0000] "POST /wp-login.php HTTP/1.1" 200 5364 "-" "UA"';
const json = '{"start_time":"2025-12-31T16:40:00.100Z","method":"GET"}';

describe('unwrapLine', () => {
  it('leaves lines without a prefix alone', () => {
    expect(unwrapLine(combined)).toBeUndefined();
    expect(unwrapLine(json)).toBeUndefined();
    expect(unwrapLine('2001:db8::1 - - [15/Sep/2021:16:13:46 +0000] "GET / HTTP/1.1" 200 1')).toBe(
      undefined,
    );
    expect(unwrapLine('FE80::1 - - [15/Sep/2021:16:13:46 +0000] "GET / HTTP/1.1" 200 1')).toBe(
      undefined,
    );
    expect(unwrapLine('')).toBeUndefined();
    // A custom log_format that starts with $time_iso8601 is not a wrapper.
    expect(
      unwrapLine('2021-09-15T16:13:46+00:00 203.0.113.1 "GET / HTTP/1.1" 200 "curl/8"'),
    ).toBeUndefined();
  });

  it('takes off a CRI prefix: time, stream, full or partial', () => {
    expect(unwrapLine(`2025-12-31T17:40:00.000000100+01:00 stdout F ${json}`)).toEqual({
      wrapper: 'cri',
      line: json,
      time: '2025-12-31T17:40:00.000000100+01:00',
      stream: 'stdout',
    });
    expect(unwrapLine(`2025-12-31T16:40:00.5Z stderr P ${combined}`)).toEqual({
      wrapper: 'cri',
      line: combined,
      time: '2025-12-31T16:40:00.5Z',
      stream: 'stderr',
      partial: true,
    });
    // Further `:`-separated tags are allowed; an empty message is an empty line.
    expect(unwrapLine(`2025-12-31T16:40:00Z stdout F:x ${json}`)?.line).toBe(json);
    expect(unwrapLine('2025-12-31T16:40:00Z stdout F')?.line).toBe('');
    expect(unwrapLine('2025-12-31T16:40:00Z stdout F ')?.line).toBe('');
    // Message text is kept as is, spaces included.
    expect(unwrapLine('2025-12-31T16:40:00Z stdout F  two  spaces ')?.line).toBe(' two  spaces ');
  });

  it('refuses near-misses of the CRI prefix', () => {
    expect(unwrapLine(`2025-12-31T16:40:00Z stdin F ${json}`)).toBeUndefined();
    expect(unwrapLine(`2025-12-31T16:40:00Z stdout X ${json}`)).toBeUndefined();
    expect(unwrapLine(`2025-12-31T16:40:00Z stdout FF ${json}`)).toBeUndefined();
    expect(unwrapLine(`2025-12-31 16:40:00Z stdout F ${json}`)).toBeUndefined();
    expect(unwrapLine(`2025-12-31T16:40:00 stdout F ${json}`)).toBeUndefined();
  });

  it('takes off a syslog file prefix: traditional, high-precision, or a raw frame', () => {
    const host = 'ip-172-31-43-28.us-east-2.compute.internal';
    expect(unwrapLine(`Sep 15 16:13:46 ${host} nginx[2869]: ${combined}`)).toEqual({
      wrapper: 'syslog',
      line: combined,
    });
    expect(unwrapLine(`Sep  5 06:13:46 web nginx: ${combined}`)?.line).toBe(combined);
    expect(unwrapLine(`2021-09-15T16:13:46.123456+02:00 web nginx[1]: ${json}`)).toEqual({
      wrapper: 'syslog',
      line: json,
    });
    expect(unwrapLine(`<190>Sep 15 16:13:46 web nginx: ${combined}`)?.line).toBe(combined);
  });

  it('refuses near-misses of the syslog prefix', () => {
    expect(unwrapLine(`Foo 15 16:13:46 web nginx: ${combined}`)).toBeUndefined();
    expect(unwrapLine(`Sep 15 16:13:46 web: ${combined}`)).toBeUndefined();
    expect(unwrapLine(`Sep 15 16:13 web nginx: ${combined}`)).toBeUndefined();
  });

  it('costs a hostile line no more than a scan', () => {
    const long = `Sep 15 16:13:46 ${'h'.repeat(1 << 20)}`;
    const started = process.hrtime.bigint();
    expect(unwrapLine(long)).toBeUndefined();
    expect(unwrapLine(`2025-12-31T16:40:00Z ${'x'.repeat(1 << 20)}`)).toBeUndefined();
    expect(unwrapLine(`2025-12-31T16:40:00Z h ${'t'.repeat(1 << 20)}`)).toBeUndefined();
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });
});

describe('isNginxErrorLine', () => {
  it('knows an NGINX error log line', () => {
    expect(
      isNginxErrorLine(
        '2021/09/30 09:23:53 [error] 1925800#1925800: *17 user "foo" was not found in "/tmp/a.htpasswd", client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "localhost"',
      ),
    ).toBe(true);
    expect(isNginxErrorLine('2021/09/30 09:23:53 [warn] 12#12: conflicting server name')).toBe(
      true,
    );
    expect(isNginxErrorLine(combined)).toBe(false);
    expect(isNginxErrorLine('2021/09/30 09:23:53 [oops] 12#12: x')).toBe(false);
  });
});
