import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Decision } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { BlockResponses } from './block-response';
import { TrustedProxies } from '@moat/contracts';
import { CriticalEndpoints } from './critical-endpoints';
import { DecisionIndex } from './decision-index';
import { Enforcer } from './enforcer';
import { GraylistLimiter } from './graylist-limiter';
import { ReverseProxy } from './reverse-proxy';

function decision(action: Decision['action']): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject: 'x',
    action,
    source: 'auto',
    botTypes: [],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('ReverseProxy', () => {
  let upstream: Server;
  let proxy: ReverseProxy;
  let port: number;
  const index = new DecisionIndex();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          url: req.url,
          xff: req.headers['x-forwarded-for'],
          moat: req.headers['x-moat-action'],
        }),
      );
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    index.apply('127.0.0.2', decision('deny'));
    proxy = new ReverseProxy({
      upstream: `http://127.0.0.1:${upstreamPort}`,
      enforcer: new Enforcer({
        index,
        critical: new CriticalEndpoints(['default']),
        limiter: new GraylistLimiter({ ratePerSecond: 1, burst: 5 }),
      }),
      proxies: new TrustedProxies([]),
      responses: new BlockResponses({ format: 'auto' }),
      logger: createLogger('test', 'silent'),
    });
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.address as AddressInfo).port;
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => upstream.close(r));
  });

  it('forwards an allowed request with the verdict and X-Forwarded-For, replacing spoofed marks', async () => {
    const res = await get(port, '/api/items?x=1', { 'x-moat-action': 'allow-me' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      url: '/api/items?x=1',
      xff: '127.0.0.1',
      moat: 'allow',
    });
  });

  it('refuses a denied client without reaching the upstream', async () => {
    index.apply('127.0.0.1', decision('deny'));
    try {
      const res = await get(port, '/api/items', { accept: 'text/html' });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('Access denied');
    } finally {
      index.apply('127.0.0.1', null);
    }
  });

  it('refuses a graylisted client on a critical endpoint and passes it elsewhere', async () => {
    index.apply('127.0.0.1', decision('graylist'));
    try {
      expect((await get(port, '/login')).status).toBe(403);
      const res = await get(port, '/api/items');
      expect([res.status, JSON.parse(res.body).moat]).toEqual([200, 'graylist']);
    } finally {
      index.apply('127.0.0.1', null);
    }
  });

  it('answers 502 when the upstream is down', async () => {
    const dead = new ReverseProxy({
      upstream: 'http://127.0.0.1:1',
      enforcer: new Enforcer({
        index: new DecisionIndex(),
        critical: new CriticalEndpoints([]),
        limiter: new GraylistLimiter({ ratePerSecond: 1, burst: 1 }),
      }),
      proxies: new TrustedProxies([]),
      responses: new BlockResponses(),
      logger: createLogger('test', 'silent'),
    });
    await dead.listen(0, '127.0.0.1');
    try {
      const res = await get((dead.address as AddressInfo).port, '/');
      expect([res.status, res.body]).toEqual([502, '{"error":"upstream unavailable"}']);
    } finally {
      await dead.close();
    }
  });
});
