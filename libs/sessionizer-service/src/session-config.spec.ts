import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestRecord } from '@moat/contracts';
import { AuthAttempts, authOutcome } from './auth-attempt';
import {
  ApplicationConfigs,
  checkSessionizerConfig,
  loadSessionizerConfig,
} from './session-config';
import { sessionKeyOf } from './session-key';
import { sessionizerOptionsFromEnv } from './sessionizer.module';

const h = (c: string) => c.repeat(64);

describe('sessionizer configuration', () => {
  it('loads inline JSON or a file, and names the failing field', () => {
    expect(loadSessionizerConfig('')).toEqual({ applications: {} });
    expect(
      loadSessionizerConfig('{"applications":{"*":{"learnRoutes":false}}}').applications['*'],
    ).toEqual({
      learnRoutes: false,
    });
    const dir = mkdtempSync(join(tmpdir(), 'sessionizer-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ applications: { 'shop.example': { sessionKeys: ['cookie:sid'] } } }),
    );
    expect(loadSessionizerConfig(file).applications['shop.example'].sessionKeys).toEqual([
      'cookie:sid',
    ]);
    expect(() => loadSessionizerConfig(join(dir, 'missing.json'))).toThrow(
      /cannot read the sessionizer configuration file/,
    );
    expect(() => loadSessionizerConfig('{"applications":')).toThrow(/not JSON/);
    expect(() =>
      checkSessionizerConfig({
        applications: { a: { authRules: [{ route: '/login', success: ['9xx'] }] } },
      }),
    ).toThrow(/\/applications\/a\/authRules\/0\/success\/0/);
    expect(() => checkSessionizerConfig({ applications: { a: { sessionKey: [] } } })).toThrow(
      /must NOT have additional properties 'sessionKey'/,
    );
    expect(() =>
      sessionizerOptionsFromEnv({ MOAT_SESSION_INACTIVITY: 1, MOAT_SESSIONIZER_CONFIG: '{' }),
    ).toThrow(/^MOAT_SESSIONIZER_CONFIG: /);
  });

  it('resolves an application by exact name, then the most specific glob, then *', () => {
    const configs = new ApplicationConfigs({
      applications: {
        '*': { learnRoutes: false },
        '*.example': { authHeuristic: false },
        '*.shop.example': { sessionKeys: ['bearer'] },
        'admin.shop.example': { routes: ['/x'] },
      },
    });
    expect(configs.for('admin.shop.example')).toEqual({ routes: ['/x'] });
    expect(configs.for('eu.shop.example')).toEqual({ sessionKeys: ['bearer'] });
    expect(configs.for('blog.example')).toEqual({ authHeuristic: false });
    expect(configs.for('other.org')).toEqual({ learnRoutes: false });
  });
});

describe('session keys by configuration', () => {
  const request = (credentials: RequestRecord['credentials']): RequestRecord => ({
    v: 1,
    id: 'r',
    ts: 0,
    app: 'a',
    ip: '203.0.113.1',
    method: 'GET',
    path: '/',
    query: {},
    status: 200,
    requestBytes: 0,
    responseBytes: 0,
    latencyMs: 0,
    userAgent: 'ua',
    headerNames: [],
    credentials,
  });
  const both = request([
    { kind: 'bearer', name: 'authorization', hash: h('b') },
    { kind: 'cookie', name: 'sid', hash: h('c') },
  ]);

  it('takes the first credential by default, the first selector that matches when configured', () => {
    expect(sessionKeyOf(both).key).toBe(`c:${h('b')}`);
    expect(sessionKeyOf(both, { sessionKeys: ['cookie:SID', 'bearer'] }).key).toBe(`c:${h('c')}`);
    expect(sessionKeyOf(both, { sessionKeys: ['cookie'] }).key).toBe(`c:${h('c')}`);
    // Credentials the application does not count key nothing: the fingerprint does.
    expect(sessionKeyOf(both, { sessionKeys: ['api-key:x-api-key'] }).kind).toBe('fingerprint');
  });
});

describe('authentication attempts by configuration', () => {
  it('applies rules by method, route and status before the heuristic, which they turn off', () => {
    const auth = new AuthAttempts({
      authRules: [
        { route: '/api/v2/sessions', success: [201], failure: ['400-403', 429] },
        { method: 'PUT', route: '/api/{tenant}/credentials/*' },
      ],
    });
    expect(auth.outcome('POST', '/api/v2/sessions', '/api/v2/sessions', 201)).toBe('success');
    expect(auth.outcome('POST', '/api/v2/sessions', '/api/v2/sessions', 200)).toBeUndefined();
    expect(auth.outcome('POST', '/api/v2/sessions', '/api/v2/sessions', 403)).toBe('failure');
    expect(auth.outcome('POST', '/api/v2/sessions', '/api/v2/sessions', 429)).toBe('failure');
    expect(auth.outcome('PUT', '/api/acme/credentials/a/b', '/api/acme/credentials/a/b', 204)).toBe(
      'success',
    );
    expect(
      auth.outcome('POST', '/api/acme/credentials/a', '/api/acme/credentials/a', 204),
    ).toBeUndefined();
    // The heuristic is off once rules exist, unless asked for.
    expect(auth.outcome('POST', '/login', '/login', 401)).toBeUndefined();
    const both = new AuthAttempts({ authRules: [{ route: '/x' }], authHeuristic: true });
    expect(both.outcome('POST', '/login', '/login', 401)).toBe('failure');
    // Without configuration: the heuristic.
    expect(new AuthAttempts().outcome('POST', '/api/login', '/api/login', 302)).toBe(
      authOutcome('POST', '/api/login', 302),
    );
  });
});
