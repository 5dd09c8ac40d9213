import fc from 'fast-check';
import { codecs, type RequestRecord } from './index';
import { TOPICS, topicNames, topicRole, type TopicRole } from './topics';
import { BOT_TYPE_DETECTORS, DETECTOR_IDS, botTypesOf } from './vocabulary';

export function sampleRequest(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    v: 1,
    id: 'req-1',
    ts: 1_764_000_000_000,
    app: 'shop.example',
    ip: '203.0.113.7',
    method: 'GET',
    path: '/api/products/42',
    query: { page: '2' },
    status: 200,
    requestBytes: 120,
    responseBytes: 5120,
    latencyMs: 12.5,
    userAgent: 'Mozilla/5.0',
    headerNames: ['host', 'user-agent', 'accept'],
    credentials: [],
    ...overrides,
  };
}

describe('topic names', () => {
  it('applies the configured prefix to every topic', () => {
    const names = topicNames('acme');
    expect(names.requests).toBe('acme.requests.v1');
    expect(names.decisions).toBe('acme.decisions.v1');
    expect(topicRole(names, 'acme.votes.v1')).toBe('votes');
    expect(topicRole(names, 'moat.votes.v1')).toBeUndefined();
  });

  it('defaults to moat.<entity>.v1', () => {
    expect(Object.values(topicNames())).toEqual([
      'moat.requests.v1',
      'moat.events.v1',
      'moat.session-requests.v1',
      'moat.votes.v1',
      'moat.decisions.v1',
      'moat.config.v1',
      'moat.dlq.v1',
    ]);
  });

  it('rejects a prefix Kafka would refuse, naming it', () => {
    expect(() => topicNames('bad prefix!')).toThrow(/Invalid topic prefix "bad prefix!"/);
  });
});

describe('codecs', () => {
  it('round-trips a valid request', () => {
    const bytes = codecs.requests.encode(sampleRequest());
    const decoded = codecs.requests.decode(bytes);
    expect(decoded).toEqual({ ok: true, value: sampleRequest() });
  });

  it('names the field that violates the schema', () => {
    const bad = Buffer.from(JSON.stringify({ ...sampleRequest(), status: 'ok' }));
    const decoded = codecs.requests.decode(bad);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(/\/status must be integer/);
  });

  it('rejects unknown fields and wrong versions', () => {
    const extra = codecs.requests.check({ ...sampleRequest(), password: 'hunter2' });
    expect(!extra.ok && extra.reason).toMatch(/additional properties 'password'/);
    const v2 = codecs.requests.check({ ...sampleRequest(), v: 2 });
    expect(v2.ok).toBe(false);
  });

  it('rejects an address that is not IPv4 or IPv6', () => {
    expect(codecs.requests.check(sampleRequest({ ip: '999.1.1.1' })).ok).toBe(false);
    expect(codecs.requests.check(sampleRequest({ ip: '2001:db8::1' })).ok).toBe(true);
  });

  it('reports invalid JSON with the parser message', () => {
    const decoded = codecs.votes.decode(Buffer.from('{"v":1,'));
    expect(!decoded.ok && decoded.reason).toMatch(/^invalid JSON/);
  });

  it('accepts tombstones only on compacted topics', () => {
    expect(codecs.decisions.decode(null)).toEqual({ ok: true, value: null });
    expect(codecs.requests.decode(null).ok).toBe(false);
  });

  it('validates decisions including CIDR subjects', () => {
    const decision = {
      v: 1,
      subject: '198.51.100.0/24',
      action: 'deny',
      source: 'auto',
      botTypes: ['scraping'],
      confidence: 0.9,
      detectors: [
        { detector: 'request-rate', weight: 1, evidence: [{ metric: 'rate', value: 3 }] },
      ],
      profile: 'default',
      createdAt: 1,
      expiresAt: 3_600_001,
    };
    expect(codecs.decisions.check(decision).ok).toBe(true);
    expect(codecs.decisions.check({ ...decision, action: 'nuke' }).ok).toBe(false);
  });
});

describe('vocabulary', () => {
  it('gives every detector at least one bot type', () => {
    for (const id of DETECTOR_IDS) expect(botTypesOf(id).length).toBeGreaterThan(0);
    expect(DETECTOR_IDS).toHaveLength(18);
  });

  it('maps request rate to the four types it serves', () => {
    expect(botTypesOf('request-rate').sort()).toEqual([
      'scraping',
      'security-crawler',
      'suspicious-api-activity',
      'unrestricted-resource-consumption',
    ]);
    expect(BOT_TYPE_DETECTORS['account-takeover']).not.toContain('request-rate');
  });
});

describe('codecs on hostile input', () => {
  const roles = Object.keys(TOPICS) as TopicRole[];

  it('never throw on arbitrary bytes, and report why they refuse', () => {
    fc.assert(
      fc.property(fc.constantFrom(...roles), fc.uint8Array({ maxLength: 512 }), (role, bytes) => {
        const decoded = codecs[role].decode(Buffer.from(bytes));
        if (!decoded.ok) expect(decoded.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('never throw on arbitrary JSON, and accept only what check accepts', () => {
    fc.assert(
      fc.property(fc.constantFrom(...roles), fc.jsonValue(), (role, value) => {
        const decoded = codecs[role].decode(Buffer.from(JSON.stringify(value) ?? 'null'));
        if (decoded.ok && decoded.value !== null)
          expect(codecs[role].check(decoded.value).ok).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throw on near-valid requests with fields replaced by arbitrary JSON', () => {
    const fields = Object.keys(sampleRequest()) as (keyof RequestRecord)[];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        const decoded = codecs.requests.decode(
          Buffer.from(JSON.stringify({ ...sampleRequest(), [field]: value })),
        );
        if (!decoded.ok) expect(decoded.reason).toMatch(/^schema violation \(requests v1\)/);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trip every value they accept', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }),
        fc.integer({ min: 0, max: 8.64e15 }),
        (path, ts) => {
          const record = sampleRequest({ path: `/${path}`, ts });
          expect(codecs.requests.decode(codecs.requests.encode(record))).toEqual({
            ok: true,
            value: record,
          });
        },
      ),
    );
  });
});
