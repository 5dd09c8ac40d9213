import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { codecs } from '@moat/contracts';
import type { MirrorInput } from './mirror-input';
import { checkMirrorInput } from './mirror-input';
import { DEFAULT_API_KEY_HEADERS, DEFAULT_SESSION_COOKIES, Normaliser } from './normaliser';

const SECRET = 'test-secret-0123456789abcdef';
const NOW = 1_764_000_000_000;

const normaliser = new Normaliser({
  secret: SECRET,
  defaultApp: 'default-app',
  sessionCookies: [...DEFAULT_SESSION_COOKIES, 'MyAppSession'],
  apiKeyHeaders: [...DEFAULT_API_KEY_HEADERS, 'X-Partner-Key'],
  now: () => NOW,
});

const hmac = (kind: string, name: string, value: string) =>
  createHmac('sha256', SECRET).update(`${kind}\0${name}\0${value}`).digest('hex');

function input(overrides: Partial<MirrorInput> = {}): MirrorInput {
  return { ip: '203.0.113.7', method: 'GET', path: '/api/products/1', status: 200, ...overrides };
}

describe('Normaliser', () => {
  describe('credentials', () => {
    it('hashes a bearer token with HMAC and never keeps it in clear', () => {
      const token = 'eyJhbGciOiJIUzI1NiJ9.secret-payload.sig';
      const record = normaliser.normalise(input({ headers: { Authorization: `Bearer ${token}` } }));
      expect(record.credentials).toEqual([
        { kind: 'bearer', name: 'authorization', hash: hmac('bearer', 'authorization', token) },
      ]);
      expect(JSON.stringify(record)).not.toContain(token);
      expect(JSON.stringify(record)).not.toContain('secret-payload');
    });

    it('hashes basic credentials and API keys', () => {
      const basic = Buffer.from('alice:hunter2').toString('base64');
      const record = normaliser.normalise(
        input({
          headers: {
            authorization: `Basic ${basic}`,
            'x-api-key': 'key-123',
            'X-Partner-Key': 'partner-456',
          },
        }),
      );
      expect(record.credentials).toEqual([
        { kind: 'basic', name: 'authorization', hash: hmac('basic', 'authorization', basic) },
        { kind: 'api-key', name: 'x-api-key', hash: hmac('api-key', 'x-api-key', 'key-123') },
        {
          kind: 'api-key',
          name: 'x-partner-key',
          hash: hmac('api-key', 'x-partner-key', 'partner-456'),
        },
      ]);
      const json = JSON.stringify(record);
      for (const secret of [basic, 'key-123', 'partner-456']) expect(json).not.toContain(secret);
    });

    it('hashes only the configured session cookies, whatever their case, and drops the cookie values', () => {
      const record = normaliser.normalise(
        input({
          headers: {
            cookie:
              'theme=dark-mode-77; SID=sid-value-1; myappsession=app-value-2; tracking=trk-value-3',
          },
        }),
      );
      expect(record.credentials).toEqual([
        { kind: 'cookie', name: 'sid', hash: hmac('cookie', 'sid', 'sid-value-1') },
        {
          kind: 'cookie',
          name: 'myappsession',
          hash: hmac('cookie', 'myappsession', 'app-value-2'),
        },
      ]);
      const json = JSON.stringify(record);
      for (const value of ['dark-mode-77', 'sid-value-1', 'app-value-2', 'trk-value-3'])
        expect(json).not.toContain(value);
      expect(record.headerNames).toEqual(['cookie']);
    });

    it('ignores empty credentials and unknown schemes', () => {
      const record = normaliser.normalise(
        input({ headers: { authorization: 'Bearer', cookie: 'sid=; other' } }),
      );
      expect(record.credentials).toEqual([]);
      const digest = normaliser.normalise(
        input({ headers: { authorization: 'Digest username="bob"' } }),
      );
      expect(digest.credentials).toEqual([]);
    });

    it('gives the same hash on every agent with the same secret, and another with another secret', () => {
      const other = new Normaliser({
        secret: 'another-secret-0123456789',
        defaultApp: 'x',
        sessionCookies: [],
        apiKeyHeaders: [],
      });
      const again = new Normaliser({
        secret: SECRET,
        defaultApp: 'x',
        sessionCookies: [],
        apiKeyHeaders: [],
      });
      const headers = { authorization: 'Bearer t0ken' };
      const hash = normaliser.normalise(input({ headers })).credentials[0].hash;
      expect(again.normalise(input({ headers })).credentials[0].hash).toBe(hash);
      expect(other.normalise(input({ headers })).credentials[0].hash).not.toBe(hash);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('never lets a credential value through in clear, whatever it is', () => {
      // Values with characters that occur nowhere else in a record (no hex-only strings).
      const secret = fc.string({
        unit: fc.constantFrom(...'ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_~!'),
        minLength: 8,
        maxLength: 40,
      });
      fc.assert(
        fc.property(secret, secret, secret, secret, (bearer, cookie, apiKey, other) => {
          const record = normaliser.normalise(
            input({
              headers: {
                authorization: `Bearer ${bearer}`,
                cookie: `session=${cookie}; tracker=${other}`,
                'x-api-key': apiKey,
              },
            }),
          );
          const json = JSON.stringify(record);
          for (const value of [bearer, cookie, apiKey, other]) expect(json).not.toContain(value);
          expect(record.credentials.map((c) => c.kind)).toEqual(['bearer', 'api-key', 'cookie']);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('query', () => {
    it('parses the query string, first value wins, decoded', () => {
      const record = normaliser.normalise(
        input({ path: '/search?q=red+shoes&page=2&q=boots&tag=%C3%A9t%C3%A9&empty=' }),
      );
      expect(record.path).toBe('/search');
      expect(record.query).toEqual({ q: 'red shoes', page: '2', tag: 'été', empty: '' });
    });

    it('keeps parameters named like object properties', () => {
      const record = normaliser.normalise(
        input({ path: '/a?constructor=1&toString=2&__proto__=3&hasOwnProperty=4' }),
      );
      expect(record.query.constructor).toBe('1');
      expect(record.query.toString).toBe('2');
      expect(record.query.hasOwnProperty).toBe('4');
      expect(Object.keys(record.query)).toContain('__proto__');
      expect(JSON.parse(JSON.stringify(record)).query).toEqual(
        JSON.parse('{"constructor":"1","toString":"2","__proto__":"3","hasOwnProperty":"4"}'),
      );
    });

    it('keeps at most 64 parameters', () => {
      const query = Array.from({ length: 100 }, (_, i) => `p${i}=${i}`).join('&');
      expect(Object.keys(normaliser.normalise(input({ path: `/a?${query}` })).query)).toHaveLength(
        64,
      );
    });

    it('gives an empty query and a rooted path when there is none', () => {
      expect(normaliser.normalise(input({ path: '/a' })).query).toEqual({});
      expect(normaliser.normalise(input({ path: '?x=1' }))).toMatchObject({
        path: '/',
        query: { x: '1' },
      });
      expect(normaliser.normalise(input({ path: 'relative/path' })).path).toBe('/relative/path');
    });
  });

  describe('application', () => {
    it('is the Host without its port, lower-cased', () => {
      expect(normaliser.normalise(input({ headers: { Host: 'Shop.Example:8443' } })).app).toBe(
        'shop.example',
      );
    });

    it('keeps an IPv6 literal Host whole', () => {
      expect(normaliser.normalise(input({ headers: { host: '[2001:db8::1]:8080' } })).app).toBe(
        '[2001:db8::1]',
      );
    });

    it('prefers the explicit app, then the host field, then the Host header, then the default', () => {
      expect(
        normaliser.normalise(input({ app: 'explicit', host: 'h.example', headers: { host: 'x' } }))
          .app,
      ).toBe('explicit');
      expect(normaliser.normalise(input({ host: 'h.example', headers: { host: 'x' } })).app).toBe(
        'h.example',
      );
      expect(normaliser.normalise(input()).app).toBe('default-app');
      expect(normaliser.normalise(input({ headers: { host: ':80' } })).app).toBe('default-app');
    });
  });

  describe('headers and request line', () => {
    it('keeps header names in the order sent, lower-cased, each once', () => {
      const record = normaliser.normalise(
        input({
          headers: {
            Host: 'a',
            'User-Agent': 'UA',
            Accept: '*/*',
            'X-Custom': '1',
            'x-custom': '2',
          },
        }),
      );
      expect(record.headerNames).toEqual(['host', 'user-agent', 'accept', 'x-custom']);
      expect(record.userAgent).toBe('UA');
    });

    it('upper-cases the method and keeps only letters', () => {
      expect(normaliser.normalise(input({ method: 'post' })).method).toBe('POST');
      expect(normaliser.normalise(input({ method: '123' })).method).toBe('GET');
    });

    it('keeps Accept-Language and TLS fingerprints when present, and fills defaults', () => {
      const record = normaliser.normalise(
        input({ headers: { 'accept-language': 'de-DE' }, ja3: 'j3', ja4: 'j4' }),
      );
      expect(record).toMatchObject({
        acceptLanguage: 'de-DE',
        ja3: 'j3',
        ja4: 'j4',
        requestBytes: 0,
        responseBytes: 0,
        latencyMs: 0,
      });
      expect(normaliser.normalise(input())).not.toHaveProperty('acceptLanguage');
    });

    it('keeps the given id, or makes one', () => {
      expect(normaliser.normalise(input({ id: 'edge-1' })).id).toBe('edge-1');
      const a = normaliser.normalise(input()).id;
      expect(a).toMatch(/^[0-9a-f-]{36}$/);
      expect(normaliser.normalise(input()).id).not.toBe(a);
    });
  });

  describe('event time', () => {
    it('takes epoch milliseconds or ISO-8601, else the arrival time', () => {
      expect(normaliser.normalise(input({ ts: 1_700_000_000_123 })).ts).toBe(1_700_000_000_123);
      expect(normaliser.normalise(input({ ts: '2025-11-24T16:00:00.250Z' })).ts).toBe(
        Date.UTC(2025, 10, 24, 16, 0, 0, 250),
      );
      expect(normaliser.normalise(input({ ts: '2025-11-24T17:00:00+01:00' })).ts).toBe(
        Date.UTC(2025, 10, 24, 16),
      );
      expect(normaliser.normalise(input()).ts).toBe(NOW);
    });

    it('marks a time outside the epoch-millisecond range as invalid (NaN) for the caller to reject', () => {
      expect(normaliser.normalise(input({ ts: '1969-12-31T23:59:59Z' })).ts).toBeNaN();
      expect(normaliser.normalise(input({ ts: 9e15 })).ts).toBeNaN();
    });
  });

  it('turns every input the schema accepts into a valid record, or a NaN time the controller rejects', () => {
    const hostile = fc.string({ unit: 'binary', maxLength: 300 });
    const headers = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'host',
          'Host',
          'user-agent',
          'cookie',
          'authorization',
          'x-api-key',
          'accept-language',
        ),
        fc.string({ maxLength: 128 }),
      ),
      fc.oneof(
        hostile,
        fc.string({ maxLength: 8192, unit: 'grapheme-ascii' }),
        fc.constant('x'.repeat(8192)),
      ),
      { maxKeys: 20 },
    );
    const mirrorInput = fc.record(
      {
        id: fc.string({ minLength: 1, maxLength: 200 }),
        ts: fc.oneof(
          fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        ip: fc.oneof(fc.ipV4(), fc.ipV6()),
        method: fc.string({ minLength: 1, maxLength: 16 }),
        app: fc.string({ minLength: 1, maxLength: 253 }),
        host: fc.string({ maxLength: 253 }),
        path: fc.oneof(
          hostile.filter((s) => s.length >= 1),
          fc.constant('a'.repeat(8192)),
          fc.webPath().map((p) => p || '/'),
          fc.tuple(fc.webPath(), fc.webQueryParameters()).map(([p, q]) => `${p}?${q}`),
        ),
        status: fc.integer({ min: 0, max: 999 }),
        requestBytes: fc.nat(),
        responseBytes: fc.nat(),
        latencyMs: fc.double({ min: 0, max: 1e9, noNaN: true }),
        headers,
        ja3: fc.string({ maxLength: 256 }),
        ja4: fc.string({ maxLength: 256 }),
      },
      { requiredKeys: ['ip', 'method', 'path', 'status'] },
    );
    fc.assert(
      fc.property(mirrorInput, (candidate) => {
        const checked = checkMirrorInput(candidate);
        fc.pre(checked.ok);
        const record = normaliser.normalise(candidate);
        if (Number.isNaN(record.ts)) return;
        const valid = codecs.requests.check(record);
        expect(valid.ok ? 'valid' : valid.reason).toBe('valid');
      }),
      { numRuns: 500 },
    );
  });
});

describe('Normaliser: secrets in the query string', () => {
  const normaliser = new Normaliser({
    secret: 'query-secret-0123456789',
    defaultApp: 'default',
    sessionCookies: [],
    apiKeyHeaders: [],
    sensitiveQueryParams: ['X-Custom-Secret'],
  });

  it('hashes credential and secret parameters and keeps the others', () => {
    const record = normaliser.normalise({
      ip: '203.0.113.1',
      method: 'GET',
      path: '/api/items?access_token=TOKEN-abc-123&page=2&password=hunter2&x-custom-secret=s3cr3t',
      status: 200,
    });
    const published = JSON.stringify(record);
    for (const clear of ['TOKEN-abc-123', 'hunter2', 's3cr3t'])
      expect(published).not.toContain(clear);
    expect(record.query.page).toBe('2');
    expect(record.query.access_token).toBe(
      `hmac:${normaliser.hash('query', 'access_token', 'TOKEN-abc-123')}`,
    );
    expect(record.credentials).toEqual([
      {
        kind: 'api-key',
        name: 'query:access_token',
        hash: normaliser.hash('query', 'access_token', 'TOKEN-abc-123'),
      },
    ]);
  });

  it('gives the same token the same hash, so it can key a session', () => {
    const a = normaliser.normalise({
      ip: '203.0.113.1',
      method: 'GET',
      path: '/a?api_key=K1',
      status: 200,
    });
    const b = normaliser.normalise({
      ip: '198.51.100.9',
      method: 'GET',
      path: '/b?API_KEY=K1',
      status: 200,
    });
    expect(a.credentials[0].hash).toBe(b.credentials[0].hash);
  });
});

describe('Normaliser: client address, application, fingerprints and logins', () => {
  const secret = 'login-secret-0123456789';
  const normaliser = new Normaliser({
    secret,
    defaultApp: 'default',
    sessionCookies: ['sid'],
    apiKeyHeaders: [],
    trustedProxies: ['10.0.0.0/8'],
    appHeader: 'X-Moat-App',
  });
  const hash = (kind: string, name: string, value: string) =>
    createHmac('sha256', secret).update(`${kind}\0${name}\0${value}`).digest('hex');
  const base = { ip: '10.0.0.2', method: 'POST', path: '/api/login', status: 401 };

  it('takes the client from X-Forwarded-For only through a trusted proxy', () => {
    const headers = { 'x-forwarded-for': '198.51.100.7, 10.0.0.9' };
    expect(normaliser.normalise({ ...base, headers }).ip).toBe('198.51.100.7');
    expect(normaliser.normalise({ ...base, ip: '203.0.113.5', headers }).ip).toBe('203.0.113.5');
    expect(normaliser.normalise({ ...base, ip: '::ffff:203.0.113.5' }).ip).toBe('203.0.113.5');
  });

  it('names the application from the configured header, before the Host', () => {
    const record = normaliser.normalise({
      ...base,
      headers: { host: 'a.example', 'x-moat-app': 'shop' },
    });
    expect(record.app).toBe('shop');
    // The agent's own transport headers are not the client's.
    expect(record.headerNames).toEqual(['host']);
  });

  it('hashes the username of a login body, lower-cased, and never keeps the body', () => {
    const body = JSON.stringify({ email: 'Bob@Example.com', password: 'pw-SECRET-1' });
    const record = normaliser.normalise({
      ...base,
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(record.usernameHash).toBe(hash('username', '', 'bob@example.com'));
    const json = JSON.stringify(record);
    for (const clear of ['Bob@Example.com', 'bob@example.com', 'pw-SECRET-1'])
      expect(json).not.toContain(clear);
    const form = normaliser.normalise({ ...base, body: 'username=bob%40example.com&password=x' });
    expect(form.usernameHash).toBe(record.usernameHash);
  });

  it('hashes the user of basic credentials as the username', () => {
    const basic = Buffer.from('Carol:pw').toString('base64');
    const record = normaliser.normalise({ ...base, headers: { authorization: `Basic ${basic}` } });
    expect(record.usernameHash).toBe(hash('username', '', 'carol'));
  });

  it('gives clients that send the same header names in the same order one fingerprint', () => {
    const a = normaliser.normalise({
      ...base,
      headers: { host: 'x', accept: 'a', 'user-agent': 'u1' },
    });
    const b = normaliser.normalise({
      ...base,
      headers: { Host: 'y', Accept: 'b', 'User-Agent': 'u2' },
    });
    const c = normaliser.normalise({
      ...base,
      headers: { accept: 'a', host: 'x', 'user-agent': 'u1' },
    });
    expect(a.headerFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(b.headerFingerprint).toBe(a.headerFingerprint);
    expect(c.headerFingerprint).not.toBe(a.headerFingerprint);
  });

  it('marks records from sources that know only some headers, without a fingerprint', () => {
    const record = normaliser.normalise(
      { ...base, partialHeaders: true, headers: { 'user-agent': 'u' } },
      'nginx-json',
    );
    expect(record).toMatchObject({ partialHeaders: true, source: 'nginx-json' });
    expect(record).not.toHaveProperty('headerFingerprint');
  });

  it('takes JA3/JA4 from the headers an edge passes them in', () => {
    const record = normaliser.normalise({
      ...base,
      headers: { 'x-ja3-hash': 'abc', 'x-ja4': 't13d1516h2_x' },
    });
    expect(record).toMatchObject({ ja3: 'abc', ja4: 't13d1516h2_x' });
  });

  it('rejects, with the reason, an address or a time it cannot use', () => {
    expect(normaliser.tryNormalise({ ...base, ip: 'nope' })).toEqual({
      ok: false,
      reason: '/ip is not an IP address',
    });
    expect(normaliser.tryNormalise({ ...base, ts: -1 })).toEqual({
      ok: false,
      reason: '/ts is not a valid time',
    });
  });
});
