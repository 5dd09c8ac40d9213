import fc from 'fast-check';
import type { Decision } from '@moat/contracts';
import { DecisionIndex, normaliseAddress } from './decision-index';

const NOW = 1_764_000_000_000;

function decision(
  subject: string,
  action: Decision['action'] = 'deny',
  expiresAt = NOW + 3_600_000,
): Decision {
  return {
    v: 1,
    subject,
    action,
    source: action === 'allow' ? 'manual' : 'auto',
    botTypes: [],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: NOW - 1,
    expiresAt,
  };
}

function indexOf(...entries: [string, Decision['action'], number?][]): DecisionIndex {
  const index = new DecisionIndex();
  for (const [subject, action, expiresAt] of entries)
    index.apply(subject, decision(subject, action, expiresAt));
  return index;
}

const actionFor = (index: DecisionIndex, address: string, now = NOW) =>
  index.lookup(address, now).action;

describe('DecisionIndex', () => {
  it('matches an exact IPv4 address and nothing else', () => {
    const index = indexOf(['203.0.113.7', 'deny']);
    expect(index.lookup('203.0.113.7', NOW)).toEqual({
      action: 'deny',
      decision: decision('203.0.113.7'),
    });
    expect(actionFor(index, '203.0.113.8')).toBe('allow');
    expect(index.lookup('203.0.113.8', NOW).decision).toBeUndefined();
  });

  it('matches an exact IPv6 address in any of its spellings', () => {
    const index = indexOf(['2001:DB8:0:0:0:0:0:1', 'graylist']);
    expect(actionFor(index, '2001:db8::1')).toBe('graylist');
    expect(actionFor(index, '2001:0db8:0000::0001')).toBe('graylist');
    expect(actionFor(index, '2001:db8::2')).toBe('allow');
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 address, both ways', () => {
    expect(actionFor(indexOf(['198.51.100.7', 'deny']), '::ffff:198.51.100.7')).toBe('deny');
    expect(actionFor(indexOf(['::ffff:198.51.100.7', 'deny']), '198.51.100.7')).toBe('deny');
    expect(actionFor(indexOf(['::ffff:198.51.100.7/128', 'deny']), '198.51.100.7')).toBe('deny');
    expect(actionFor(indexOf(['::ffff:198.51.100.0/120', 'deny']), '198.51.100.9')).toBe('deny');
    expect(actionFor(indexOf(['198.51.100.0/24', 'deny']), '::ffff:198.51.100.9')).toBe('deny');
    expect(normaliseAddress('::ffff:198.51.100.7')?.toString()).toBe('198.51.100.7');
  });

  it('lets the longest matching prefix decide', () => {
    const index = indexOf(
      ['10.0.0.0/8', 'graylist'],
      ['10.1.0.0/16', 'deny'],
      ['10.1.2.0/24', 'graylist'],
    );
    expect(actionFor(index, '10.1.2.3')).toBe('graylist');
    expect(index.lookup('10.1.2.3', NOW).decision?.subject).toBe('10.1.2.0/24');
    expect(actionFor(index, '10.1.9.9')).toBe('deny');
    expect(actionFor(index, '10.9.9.9')).toBe('graylist');
    expect(actionFor(index, '11.0.0.1')).toBe('allow');
  });

  it('lets an exact address beat any CIDR', () => {
    const index = indexOf(['10.1.0.0/16', 'deny'], ['10.1.2.3', 'graylist']);
    expect(actionFor(index, '10.1.2.3')).toBe('graylist');
  });

  it('matches IPv6 networks and keeps IPv4 and IPv6 apart', () => {
    const index = indexOf(['2001:db8:abcd::/48', 'deny'], ['0.0.0.0/0', 'graylist']);
    expect(actionFor(index, '2001:db8:abcd:12::1')).toBe('deny');
    expect(actionFor(index, '2001:db8:abce::1')).toBe('allow');
    expect(actionFor(index, '192.0.2.1')).toBe('graylist');
  });

  it('masks host bits of a CIDR subject', () => {
    expect(actionFor(indexOf(['10.1.2.3/16', 'deny']), '10.1.200.200')).toBe('deny');
  });

  it('treats a full-length prefix as the exact address', () => {
    const index = indexOf(['192.0.2.5/32', 'deny']);
    expect(actionFor(index, '192.0.2.5')).toBe('deny');
    index.apply('192.0.2.5', null);
    expect(actionFor(index, '192.0.2.5')).toBe('allow');
  });

  it('stops enforcing a decision at its expiry', () => {
    const index = indexOf(
      ['203.0.113.7', 'deny', NOW + 1_000],
      ['203.0.113.0/24', 'graylist', NOW + 2_000],
    );
    expect(actionFor(index, '203.0.113.7', NOW + 999)).toBe('deny');
    expect(actionFor(index, '203.0.113.7', NOW + 1_000)).toBe('graylist');
    expect(actionFor(index, '203.0.113.7', NOW + 2_000)).toBe('allow');
  });

  it('lifts a decision on a tombstone, for addresses and networks', () => {
    const index = indexOf(
      ['203.0.113.7', 'deny'],
      ['198.51.100.0/24', 'deny'],
      ['198.51.100.0/25', 'graylist'],
    );
    expect(index.size).toBe(3);
    index.apply('203.0.113.7', null);
    index.apply('198.51.100.0/25', null);
    expect(actionFor(index, '203.0.113.7')).toBe('allow');
    expect(actionFor(index, '198.51.100.1')).toBe('deny');
    index.apply('198.51.100.0/24', null);
    expect(actionFor(index, '198.51.100.1')).toBe('allow');
    expect(index.size).toBe(0);
    index.apply('198.51.100.0/24', null); // lifting twice is harmless
  });

  it('replaces the decision of a subject with the newer one', () => {
    const index = indexOf(['203.0.113.7', 'deny']);
    index.apply('203.0.113.7', decision('203.0.113.7', 'graylist'));
    expect(actionFor(index, '203.0.113.7')).toBe('graylist');
    expect(index.size).toBe(1);
  });

  it('lets an allow anywhere on the path win over deny and graylist', () => {
    expect(actionFor(indexOf(['10.0.0.0/8', 'allow'], ['10.1.2.3', 'deny']), '10.1.2.3')).toBe(
      'allow',
    );
    expect(actionFor(indexOf(['10.1.2.3', 'allow'], ['10.1.0.0/16', 'deny']), '10.1.2.3')).toBe(
      'allow',
    );
    expect(
      actionFor(
        indexOf(['10.0.0.0/8', 'allow'], ['10.1.0.0/16', 'deny'], ['10.1.2.0/24', 'graylist']),
        '10.1.2.3',
      ),
    ).toBe('allow');
    expect(
      indexOf(['10.0.0.0/8', 'allow'], ['10.1.2.3', 'deny']).lookup('10.1.2.3', NOW).decision
        ?.subject,
    ).toBe('10.0.0.0/8');
  });

  it('ignores an expired allow', () => {
    expect(
      actionFor(indexOf(['10.0.0.0/8', 'allow', NOW - 1], ['10.1.2.3', 'deny']), '10.1.2.3'),
    ).toBe('deny');
  });

  it('ignores subjects and addresses that are not IPs', () => {
    const index = indexOf(['not-an-ip', 'deny'], ['10.0.0.0/99', 'deny'], ['10.0.0.0/', 'deny']);
    expect(index.size).toBe(0);
    expect(actionFor(index, 'garbage')).toBe('allow');
    expect(actionFor(index, '')).toBe('allow');
  });

  it('matches a network exactly when the address shares its first prefix bits (IPv4)', () => {
    const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.ipV4(),
        fc.integer({ min: 0, max: 31 }),
        (network, address, prefix) => {
          const index = indexOf([`${network}/${prefix}`, 'deny']);
          const shift = 2 ** (32 - prefix);
          const same = Math.floor(toInt(network) / shift) === Math.floor(toInt(address) / shift);
          expect(actionFor(index, address)).toBe(same ? 'deny' : 'allow');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('matches a network exactly when the address shares its first prefix bits (IPv6)', () => {
    const bits = (bytes: number[]) => bytes.map((b) => b.toString(2).padStart(8, '0')).join('');
    const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(
        v6,
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 127 }),
        (groups, flip, prefix) => {
          const network = groups.map((g) => g.toString(16)).join(':');
          const near = groups.map((g, i) => (i === flip ? g ^ 1 : g));
          const address = near.map((g) => g.toString(16)).join(':');
          fc.pre(
            !normaliseAddress(network)!.toString().startsWith('::ffff:') &&
              normaliseAddress(network)!.kind() === 'ipv6',
          );
          fc.pre(normaliseAddress(address)!.kind() === 'ipv6');
          const index = indexOf([`${network}/${prefix}`, 'deny']);
          const a = bits(normaliseAddress(network)!.toByteArray()).slice(0, prefix);
          const b = bits(normaliseAddress(address)!.toByteArray()).slice(0, prefix);
          expect(actionFor(index, address)).toBe(a === b ? 'deny' : 'allow');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('normaliseAddress is strict', () => {
  it('refuses shorthand and octal IPv4 forms that would alias other addresses', () => {
    expect(normaliseAddress('1')).toBeUndefined();
    expect(normaliseAddress('010.0.0.1')).toBeUndefined();
    expect(normaliseAddress('10.0.0.1')?.toString()).toBe('10.0.0.1');
    expect(normaliseAddress('::ffff:10.0.0.1')?.toString()).toBe('10.0.0.1');
  });
});
