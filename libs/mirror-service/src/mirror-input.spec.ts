import fc from 'fast-check';
import { checkMirrorInput } from './mirror-input';

const valid = { ip: '203.0.113.7', method: 'GET', path: '/a', status: 200 };

function reasonFor(value: unknown): string {
  const result = checkMirrorInput(value);
  if (result.ok) throw new Error('expected a rejection');
  return result.reason;
}

describe('checkMirrorInput', () => {
  it('accepts the minimal input and a full one', () => {
    expect(checkMirrorInput(valid)).toEqual({ ok: true, value: valid });
    const full = {
      ...valid,
      id: 'edge-1',
      ts: '2025-11-24T16:00:00Z',
      app: 'shop',
      host: 'shop.example',
      requestBytes: 1,
      responseBytes: 2,
      latencyMs: 0.5,
      headers: { 'User-Agent': 'UA' },
      ja3: 'a',
      ja4: 'b',
    };
    expect(checkMirrorInput(full).ok).toBe(true);
    expect(checkMirrorInput({ ...valid, ts: 1_764_000_000_000 }).ok).toBe(true);
  });

  it('names a missing field', () => {
    expect(reasonFor({ method: 'GET', path: '/a', status: 200 })).toBe(
      "(root) must have required property 'ip'",
    );
  });

  it('names a field of the wrong type or format', () => {
    expect(reasonFor({ ...valid, status: '200' })).toBe('/status must be integer');
    expect(reasonFor({ ...valid, status: 1000 })).toMatch(/^\/status must be <= 999/);
    expect(reasonFor({ ...valid, ip: '999.0.0.1' })).toMatch(/^\/ip /);
    expect(reasonFor({ ...valid, ts: 'yesterday' })).toMatch(/^\/ts /);
    expect(reasonFor({ ...valid, path: '' })).toMatch(
      /^\/path must NOT have fewer than 1 characters/,
    );
    expect(reasonFor({ ...valid, latencyMs: -1 })).toMatch(/^\/latencyMs must be >= 0/);
    expect(reasonFor({ ...valid, headers: { 'user-agent': 5 } })).toMatch(
      /^\/headers\/user-agent must be string/,
    );
  });

  it('names an unknown field', () => {
    expect(reasonFor({ ...valid, password: 'hunter2' })).toBe(
      "(root) must NOT have additional properties 'password'",
    );
  });

  it('rejects what is not an object', () => {
    for (const value of [null, 'x', 1, [valid]])
      expect(reasonFor(value)).toMatch(/^\(root\) must be object/);
  });

  it('never throws on arbitrary JSON, and always says why it refuses', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            ip: fc.jsonValue(),
            method: fc.jsonValue(),
            path: fc.jsonValue(),
            status: fc.jsonValue(),
          }),
        ),
        (value) => {
          const result = checkMirrorInput(value);
          if (!result.ok) expect(result.reason).toMatch(/^(\(root\)|\/\S+) \S/);
        },
      ),
      { numRuns: 500 },
    );
  });
});
