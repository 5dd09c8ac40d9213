import type { Decision } from '@moat/contracts';
import { PipelineMetrics } from '@moat/observability';
import { BlockResponses } from './block-response';
import { TrustedProxies } from '@moat/contracts';
import { CriticalEndpoints } from './critical-endpoints';
import { DecisionIndex } from './decision-index';
import { Enforcer } from './enforcer';
import { ForwardAuth, type CheckRequest } from './forward-auth';
import { GraylistLimiter } from './graylist-limiter';

const PROXY = '127.0.0.1';

function decision(subject: string, action: Decision['action']): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject,
    action,
    source: 'auto',
    botTypes: ['scraping'],
    confidence: 0.9,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

function setup(block = new BlockResponses()) {
  const index = new DecisionIndex();
  index.apply('203.0.113.7', decision('203.0.113.7', 'deny'));
  index.apply('198.51.100.0/24', decision('198.51.100.0/24', 'graylist'));
  index.apply('198.51.100.200', decision('198.51.100.200', 'allow'));
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const enforcer = new Enforcer({
    index,
    critical: new CriticalEndpoints(['default']),
    limiter: new GraylistLimiter({ ratePerSecond: 1, burst: 2 }),
    metrics,
  });
  const auth = new ForwardAuth({
    enforcer,
    proxies: new TrustedProxies([PROXY]),
    responses: block,
  });
  const ask = (
    ip: string,
    headers: CheckRequest['headers'] = {},
    url = '/v1/check',
    method = 'GET',
  ) => auth.answer({ peer: PROXY, method, url, headers: { 'x-forwarded-for': ip, ...headers } });
  return { ask, metrics };
}

describe('ForwardAuth', () => {
  it('allows a client without a decision with 204 and says who it judged', () => {
    const { ask } = setup();
    expect(ask('192.0.2.1')).toEqual({
      status: 204,
      headers: {
        'x-moat-action': 'allow',
        'x-moat-reason': 'no-decision',
        'x-moat-client-ip': '192.0.2.1',
      },
      body: '',
    });
  });

  it('denies a denylisted client with 403 and a JSON body', () => {
    const { ask } = setup();
    const answer = ask('203.0.113.7', { 'x-original-uri': '/anything' });
    expect(answer.status).toBe(403);
    expect(answer.headers).toMatchObject({
      'x-moat-action': 'deny',
      'x-moat-reason': 'denylist',
      'x-moat-client-ip': '203.0.113.7',
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(JSON.parse(answer.body)).toEqual({
      error: 'blocked by Moat',
      reason: 'denylist',
      botTypes: ['scraping'],
    });
  });

  it('refuses a graylisted client on critical endpoints, whichever proxy tells the URI', () => {
    const { ask } = setup();
    expect(ask('198.51.100.9', { 'x-original-uri': '/api/login' }).status).toBe(403);
    expect(
      ask('198.51.100.9', { 'x-forwarded-uri': '/checkout', 'x-forwarded-method': 'POST' }).status,
    ).toBe(403);
    expect(
      ask('198.51.100.9', { 'x-original-url': 'https://shop.example/payments/1' }).status,
    ).toBe(403);
    // Envoy: the original path follows the check path, and an allow must be 200.
    expect(
      ask('198.51.100.9', {}, '/v1/check/account/sign-up', 'POST').headers['x-moat-reason'],
    ).toBe('graylist-critical');
  });

  it('lets a graylisted client through elsewhere, marked, and slows it above the rate', () => {
    const { ask } = setup();
    const traefik = { 'x-forwarded-uri': '/api/products/1' };
    expect(ask('198.51.100.9', traefik)).toMatchObject({
      status: 204,
      headers: { 'x-moat-action': 'graylist', 'x-moat-reason': 'graylist' },
    });
    expect(ask('198.51.100.9', traefik).status).toBe(204);
    const slowed = ask('198.51.100.9', traefik);
    expect(slowed.status).toBe(429);
    expect(slowed.headers['retry-after']).toBe('1');
    expect(slowed.headers['x-moat-reason']).toBe('graylist-rate');
  });

  it('keeps to 401/403 for a caller that does not say it is Traefik or Envoy', () => {
    const { ask } = setup();
    ask('198.51.100.11');
    ask('198.51.100.11');
    const slowed = ask('198.51.100.11');
    expect([slowed.status, slowed.headers['x-moat-status']]).toEqual([403, '429']);
  });

  it('gives NGINX a 403 carrying the real status, since auth_request passes on 401/403 only', () => {
    const { ask } = setup();
    const nginx = { 'x-original-uri': '/api/products/1' };
    ask('198.51.100.10', nginx);
    ask('198.51.100.10', nginx);
    const slowed = ask('198.51.100.10', nginx);
    expect(slowed.status).toBe(403);
    expect(slowed.headers).toMatchObject({ 'x-moat-status': '429', 'retry-after': '1' });
  });

  it('lets a matching allow win inside a graylisted network', () => {
    const { ask } = setup();
    expect(ask('198.51.100.200', { 'x-original-uri': '/login' })).toMatchObject({
      status: 204,
      headers: { 'x-moat-action': 'allow', 'x-moat-reason': 'allowlist' },
    });
  });

  it('answers Envoy with 200 on allow and the original method decides critical rules', () => {
    const { ask } = setup();
    expect(ask('192.0.2.1', {}, '/v1/check/api/items?x=1', 'POST').status).toBe(200);
  });

  it('renders an HTML block page when configured or asked for', () => {
    const { ask } = setup(new BlockResponses({ format: 'auto', status: 451 }));
    const traefik = { 'x-forwarded-uri': '/' };
    const html = ask('203.0.113.7', { ...traefik, accept: 'text/html,application/xhtml+xml' });
    expect(html.status).toBe(451);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body).toContain('Access denied');
    expect(html.body).toContain('203.0.113.7');
    expect(ask('203.0.113.7', { accept: 'application/json' }).headers['content-type']).toContain(
      'json',
    );
    // Through NGINX, a status other than 401/403 travels in X-Moat-Status.
    const nginx = ask('203.0.113.7', { 'x-original-uri': '/' });
    expect([nginx.status, nginx.headers['x-moat-status']]).toEqual([403, '451']);
  });

  it('escapes what it puts into a custom page', () => {
    const block = new BlockResponses({
      format: 'html',
      htmlTemplate: '<p>{{reason}} {{clientIp}} {{unknown}}</p>',
    });
    const { ask } = setup(block);
    expect(ask('203.0.113.7').body).toBe('<p>denylist 203.0.113.7 {{unknown}}</p>');
    expect(() => new BlockResponses({ status: 200 })).toThrow('not an HTTP error status');
  });

  it('counts checks by integration, action and outcome', async () => {
    const { ask, metrics } = setup();
    ask('203.0.113.7');
    ask('203.0.113.7');
    ask('192.0.2.1');
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'moat_node_agent_checks_total{service="node-agent",integration="forward-auth",action="deny",outcome="block"} 2',
    );
    expect(text).toContain(
      'moat_node_agent_checks_total{service="node-agent",integration="forward-auth",action="allow",outcome="pass"} 1',
    );
  });

  it('does not let an untrusted peer choose its address', () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.7', decision('203.0.113.7', 'deny'));
    const auth = new ForwardAuth({
      enforcer: new Enforcer({
        index,
        critical: new CriticalEndpoints([]),
        limiter: new GraylistLimiter({ ratePerSecond: 1, burst: 1 }),
      }),
      proxies: new TrustedProxies([PROXY]),
      responses: new BlockResponses(),
    });
    const answer = auth.answer({
      peer: '203.0.113.7',
      method: 'GET',
      url: '/v1/check',
      headers: { 'x-forwarded-for': '192.0.2.1' },
    });
    expect(answer.status).toBe(403);
  });
});
