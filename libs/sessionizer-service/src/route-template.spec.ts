import fc from 'fast-check';
import { templateRoute, templateSegment } from './route-template';

describe('templateRoute', () => {
  it.each([
    ['/api/products/123', '/api/products/{id}'],
    ['/api/users/42/orders/7', '/api/users/{id}/orders/{id}'],
    ['/api/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/api/orders/{uuid}'],
    ['/api/orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301/items', '/api/orders/{uuid}/items'],
    ['/blobs/5f2b1c9e8a7d4e6f', '/blobs/{hex}'],
    ['/blobs/0x1f2e3d4c5b6a', '/blobs/{hex}'],
    ['/reset/eyJhbGciOiJIUzI1NiJ9x7Qk2_ab-cd', '/reset/{token}'],
    ['/api/v2/products', '/api/v2/products'],
    ['/checkout/confirm', '/checkout/confirm'],
    ['/docs/supercalifragilisticexpialidocious', '/docs/supercalifragilisticexpialidocious'],
    ['/commit/deadbeef', '/commit/deadbeef'],
    ['/api/products/', '/api/products/'],
    ['/', '/'],
    ['', '/'],
  ])('%s → %s', (path, template) => {
    expect(templateRoute(path)).toBe(template);
  });

  it('templates segments on their own, not substrings', () => {
    expect(templateSegment('v1')).toBe('v1');
    expect(templateSegment('item42')).toBe('item42');
    expect(templateSegment('12a')).toBe('12a');
    expect(templateSegment('007')).toBe('{id}');
    expect(templateSegment('abcdef12345')).toBe('abcdef12345'); // 11 hex digits: too short to be an id
    expect(templateSegment('abcdefghijklmnopqrstuv')).toBe('abcdefghijklmnopqrstuv'); // no digit: a word
  });

  const hostilePath = fc.oneof(
    fc.string({ maxLength: 300 }).map((s) => `/${s}`),
    fc
      .array(
        fc.oneof(
          fc.constant('1'),
          fc.constant(''),
          fc.stringMatching(/^[0-9a-f-]{1,40}$/),
          fc.string({ maxLength: 30 }),
        ),
        {
          maxLength: 60,
        },
      )
      .map((segments) => `/${segments.join('/')}`),
    // The longest path the contract allows, made of the shortest ids (the template grows).
    fc.integer({ min: 1, max: 4096 }).map((n) => '/1'.repeat(n)),
  );

  it('keeps the segment count, is idempotent and never leaves a numeric segment', () => {
    fc.assert(
      fc.property(hostilePath, (path) => {
        const route = templateRoute(path);
        const whole = path.split('/').map(templateSegment).join('/') || '/';
        if (whole.length <= 8192) {
          expect(route).toBe(whole);
          expect(route.split('/')).toHaveLength(path === '' ? 2 : path.split('/').length);
        } else {
          expect(whole.startsWith(`${route}/`)).toBe(true); // cut at a segment boundary
        }
        expect(templateRoute(route)).toBe(route);
        expect(route.split('/').some((s) => /^\d+$/.test(s))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('always yields a route the event contract accepts, for any path the request contract accepts', () => {
    fc.assert(
      fc.property(hostilePath, (path) => {
        fc.pre(path.length >= 1 && path.length <= 8192);
        const route = templateRoute(path);
        expect(route.length).toBeGreaterThanOrEqual(1);
        expect(route.length).toBeLessThanOrEqual(8192);
      }),
      { numRuns: 500 },
    );
  });
});
