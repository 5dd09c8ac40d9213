import type { RequestRecord } from '@moat/contracts';
import { MAX_APPS, MAX_CANDIDATES, RouteLearner, SAMPLE } from './route-learner';
import { RouteTemplater, templateRoute } from './route-template';
import { ApplicationConfigs } from './session-config';

const base: RequestRecord = {
  v: 1,
  id: 'r',
  ts: 0,
  app: 'shop.example',
  ip: '203.0.113.1',
  method: 'GET',
  path: '/',
  query: {},
  status: 200,
  requestBytes: 0,
  responseBytes: 0,
  latencyMs: 1,
  userAgent: 'ua',
  headerNames: [],
  credentials: [],
};
const req = (path: string, status = 200, app = 'shop.example'): RequestRecord => ({
  ...base,
  path,
  status,
  app,
});

function templater(config = new ApplicationConfigs()) {
  return new RouteTemplater(config, new RouteLearner());
}

describe('route templates learned from the traffic', () => {
  it('turns a position of values mostly seen once into {param}', () => {
    const t = templater();
    // Popular handles come back, most are seen once: user names, not resource names.
    const handle = (i: number) => (i % 4 === 0 ? `star${i % 12}` : `user_${i}ab`);
    const routes = Array.from({ length: 2 * SAMPLE + 10 }, (_, i) =>
      t.template(req(`/api/users/${handle(i)}/wishlist`)),
    );
    expect(routes[0]).toBe('/api/users/star0/wishlist');
    // Two samples: the first could be a cold start of many names.
    expect(routes[2 * SAMPLE - 2]).toBe(`/api/users/${handle(2 * SAMPLE - 2)}/wishlist`);
    expect(routes[2 * SAMPLE - 1]).toBe('/api/users/{param}/wishlist'); // the deciding request
    expect(routes[2 * SAMPLE + 9]).toBe('/api/users/{param}/wishlist');
    expect(t.learner.decisions('shop.example')).toEqual(['/api/users']);
    // Other applications learn on their own.
    expect(t.template(req('/api/users/zed/wishlist', 200, 'other.example'))).toBe(
      '/api/users/zed/wishlist',
    );
  });

  it('keeps resource names as they are, however many, once each is requested a few times', () => {
    const t = templater();
    // 150 names requested in turn: the first ones are all new, but a sample of 200 requests
    // sees most of them more than once.
    const names = Array.from({ length: 150 }, (_, i) => `resource${i}`);
    for (let round = 0; round < 20; round++) for (const n of names) t.template(req(`/api/${n}`));
    for (let round = 0; round < 20; round++)
      for (const n of names.slice(0, 40)) t.template(req(`/api/v2/${n}/list`));
    expect(t.learner.decisions('shop.example')).toEqual([]);
    expect(t.template(req('/api/resource7'))).toBe('/api/resource7');
  });

  it('does not learn from 404 storms, nor directly under the root', () => {
    const t = templater();
    for (let i = 0; i < 500; i++) t.template(req(`/api/admin${i}x/backup`, 404));
    for (let i = 0; i < 500; i++) t.template(req(`/page${i}x`));
    expect(t.learner.decisions('shop.example')).toEqual([]);
    expect(t.template(req('/page1x'))).toBe('/page1x');
  });

  it('applies configured templates first and can be switched off per application', () => {
    const configs = new ApplicationConfigs({
      applications: {
        'shop.example': { routes: ['/api/users/{user}/wishlist', '/files/*'] },
        'raw.example': { learnRoutes: false },
      },
    });
    const t = templater(configs);
    expect(t.template(req('/api/users/alice/wishlist'))).toBe('/api/users/{user}/wishlist');
    expect(t.template(req('/files/a/b/c.txt'))).toBe('/files/*');
    expect(t.template(req('/api/products/12'))).toBe('/api/products/{id}');
    for (let i = 0; i < 100; i++) t.template(req(`/api/u/name${i}q`, 200, 'raw.example'));
    expect(t.template(req('/api/u/name1q', 200, 'raw.example'))).toBe('/api/u/name1q');
  });

  it('agrees with the fixed rules when nothing is learned', () => {
    const t = templater();
    for (const path of [
      '/api/products/123',
      '/a/3f2504e0-4f89-11d3-9a0c-0305e82c3301/b',
      '/',
      '/x/',
      '/blobs/0x1f2e3d4c5b6a',
    ])
      expect(t.template(req(path, 404))).toBe(templateRoute(path));
  });

  it('bounds its memory: applications and parents under observation', () => {
    const learner = new RouteLearner();
    const t = new RouteTemplater(new ApplicationConfigs(), learner);
    for (let a = 0; a < MAX_APPS + 50; a++)
      for (let i = 0; i < 2 * SAMPLE; i++) t.template(req(`/api/x/v${i}q`, 200, `app${a}.example`));
    for (let p = 0; p < MAX_CANDIDATES + 500; p++) t.template(req(`/api/p${p}q/child`));
    const internals = learner as unknown as { apps: Map<string, unknown> };
    expect(learner.decisions(`app${MAX_APPS + 49}.example`)).toEqual(['/api/x']);
    expect(internals.apps.size).toBeLessThanOrEqual(MAX_APPS);
    expect(learner.observing).toBeLessThanOrEqual(MAX_CANDIDATES);
  });

  it('merges decisions from the store and writes back what the store lacks', () => {
    const a = new RouteLearner();
    a.merge('shop.example', JSON.stringify({ v: 1, variable: ['/api/users'] }));
    expect(a.isVariable('shop.example', '/api/users')).toBe(true);
    expect(a.takeUnsaved()).toEqual([]);
    for (let i = 0; i < 2 * SAMPLE; i++) a.observe('shop.example', '/api/brands', `brand${i}`);
    const [saved] = a.takeUnsaved();
    expect(JSON.parse(saved.value)).toEqual({ v: 1, variable: ['/api/brands', '/api/users'] });
    // Another writer's older list won the race: ours is written again.
    a.merge('shop.example', JSON.stringify({ v: 1, variable: ['/api/users'] }));
    expect(a.takeUnsaved()).toHaveLength(1);
    a.merge('shop.example', 'not json');
    expect(a.isVariable('shop.example', '/api/brands')).toBe(true);
  });
});
