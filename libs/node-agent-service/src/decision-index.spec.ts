import fc from 'fast-check';
import type { Decision } from '@moat/contracts';
import { CONFIRMED, DecisionIndex, PROVISIONAL, type EntryView } from './decision-index';
import { parseAddress as parseIp } from '@moat/contracts';
import { parseSubject } from './ip-address';

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
    const verdict = index.lookup('203.0.113.7', NOW);
    expect(verdict.action).toBe('deny');
    expect(verdict.match).toMatchObject({
      action: 'deny',
      subject: '203.0.113.7',
      expiresAt: NOW + 3_600_000,
      meta: { source: 'auto', profile: 'default', botTypes: [] },
    });
    expect(actionFor(index, '203.0.113.8')).toBe('allow');
    expect(index.lookup('203.0.113.8', NOW).match).toBeUndefined();
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
    expect(parseIp('::ffff:198.51.100.7')?.toString()).toBe('198.51.100.7');
  });

  it('lets the longest matching prefix decide', () => {
    const index = indexOf(
      ['10.0.0.0/8', 'graylist'],
      ['10.1.0.0/16', 'deny'],
      ['10.1.2.0/24', 'graylist'],
    );
    expect(actionFor(index, '10.1.2.3')).toBe('graylist');
    expect(index.lookup('10.1.2.3', NOW).match?.subject).toBe('10.1.2.0/24');
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
      indexOf(['10.0.0.0/8', 'allow'], ['10.1.2.3', 'deny']).lookup('10.1.2.3', NOW).match?.subject,
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
            !parseIp(network)!.toString().startsWith('::ffff:') &&
              parseIp(network)!.kind() === 'ipv6',
          );
          fc.pre(parseIp(address)!.kind() === 'ipv6');
          const index = indexOf([`${network}/${prefix}`, 'deny']);
          const a = bits(parseIp(network)!.toByteArray()).slice(0, prefix);
          const b = bits(parseIp(address)!.toByteArray()).slice(0, prefix);
          expect(actionFor(index, address)).toBe(a === b ? 'deny' : 'allow');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('DecisionIndex storage', () => {
  it('names the matching network in the verdict, for both families', () => {
    const index = indexOf(['2001:db8:abcd::/48', 'deny'], ['198.51.100.0/24', 'graylist']);
    expect(index.lookup('2001:db8:abcd:12::1', NOW).match?.subject).toBe('2001:db8:abcd::/48');
    expect(index.lookup('198.51.100.77', NOW).match?.subject).toBe('198.51.100.0/24');
    const exact = indexOf(['2001:db8::7', 'deny']);
    expect(exact.lookup('2001:db8:0::7', NOW).match?.subject).toBe('2001:db8::7');
  });

  it('counts entries by action and keeps the count right through replace and lift', () => {
    const index = indexOf(['10.0.0.1', 'deny'], ['10.0.0.2', 'graylist'], ['10.0.0.0/8', 'allow']);
    expect(index.countByAction()).toEqual({ allow: 1, deny: 1, graylist: 1 });
    index.apply('10.0.0.1', decision('10.0.0.1', 'graylist'));
    expect(index.countByAction()).toEqual({ allow: 1, deny: 0, graylist: 2 });
    index.apply('10.0.0.2', null);
    index.apply('10.0.0.0/8', null);
    expect(index.countByAction()).toEqual({ allow: 0, deny: 0, graylist: 1 });
    expect(index.size).toBe(1);
  });

  it('shares metadata between decisions and frees it when the last one is lifted', () => {
    const index = new DecisionIndex();
    const scraping = (subject: string) => ({
      ...decision(subject),
      botTypes: ['scraping' as const],
    });
    for (let i = 0; i < 100; i++) index.apply(`10.0.0.${i}`, scraping(`10.0.0.${i}`));
    index.apply('10.0.1.1', decision('10.0.1.1'));
    expect(index.metadataCount).toBe(2);
    for (let i = 0; i < 100; i++) index.apply(`10.0.0.${i}`, null);
    expect(index.metadataCount).toBe(1);
    expect(index.lookup('10.0.1.1', NOW).match?.meta.botTypes).toEqual([]);
  });

  it('reuses slots of lifted decisions', () => {
    const index = new DecisionIndex();
    for (let i = 0; i < 3000; i++) index.apply(`10.1.${i >> 8}.${i & 255}`, decision('x'));
    const bytes = index.slotBytes;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) index.apply(`10.1.${i >> 8}.${i & 255}`, null);
      for (let i = 0; i < 3000; i++) index.apply(`10.2.${i >> 8}.${i & 255}`, decision('x'));
      for (let i = 0; i < 3000; i++) index.apply(`10.2.${i >> 8}.${i & 255}`, null);
      for (let i = 0; i < 3000; i++) index.apply(`10.1.${i >> 8}.${i & 255}`, decision('x'));
    }
    expect(index.slotBytes).toBeLessThanOrEqual(bytes + 3000 * 8);
    expect(index.size).toBe(3000);
  });

  it('sweeps expired entries in steps and keeps the live ones', () => {
    const index = new DecisionIndex();
    for (let i = 0; i < 250; i++) {
      index.apply(`192.0.2.${i}`, decision('x', 'deny', i % 2 === 0 ? NOW - 1 : NOW + 60_000));
    }
    index.apply('2001:db8::/32', decision('x', 'deny', NOW - 1));
    index.apply('198.51.100.0/24', decision('x', 'deny', NOW + 60_000));
    const sweep = index.sweepExpired(NOW, 50);
    let steps = 0;
    let result = sweep.next();
    while (!result.done) {
      steps++;
      result = sweep.next();
    }
    expect(result.value).toBe(126);
    expect(steps).toBeGreaterThanOrEqual(4);
    expect(index.size).toBe(126);
    expect(actionFor(index, '192.0.2.1')).toBe('deny');
    expect(actionFor(index, '198.51.100.9')).toBe('deny');
    expect(actionFor(index, '2001:db8::1')).toBe('allow');
  });

  it('drops the provisional entries the topic did not confirm', () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.1', decision('x'), PROVISIONAL);
    index.apply('203.0.113.2', decision('x'), PROVISIONAL);
    index.apply('2001:db8::/48', decision('x'), PROVISIONAL);
    index.apply('203.0.113.2', decision('x', 'graylist'), CONFIRMED);
    index.apply('198.51.100.0/24', decision('x'), CONFIRMED);
    expect(DecisionIndex.drain(index.dropGeneration(PROVISIONAL))).toBe(2);
    expect(actionFor(index, '203.0.113.1')).toBe('allow');
    expect(actionFor(index, '203.0.113.2')).toBe('graylist');
    expect(actionFor(index, '2001:db8::1')).toBe('allow');
    expect(actionFor(index, '198.51.100.1')).toBe('deny');
  });

  it('lists every entry so that an index can be rebuilt from them', () => {
    const source = indexOf(
      ['203.0.113.7', 'deny'],
      ['10.0.0.0/8', 'allow'],
      ['2001:db8::1', 'graylist'],
      ['2001:db8:1::/48', 'deny'],
      ['0.0.0.0/0', 'graylist', NOW + 5],
    );
    const entries: EntryView[] = [];
    source.forEachEntry((e) => entries.push({ ...e, groups: e.groups?.slice() }));
    expect(entries).toHaveLength(5);
    const metas = source.metadata();
    const copy = new DecisionIndex();
    for (const e of entries) {
      const address =
        e.family === 4
          ? { family: 4 as const, v4: e.v4 }
          : { family: 6 as const, groups: e.groups! };
      copy.set(address, e.prefix, e.action, e.expiresAt, metas[e.metaId]!);
    }
    for (const ip of ['203.0.113.7', '10.9.9.9', '2001:db8::1', '2001:db8:1:2::3', '8.8.8.8']) {
      expect(copy.lookup(ip, NOW)).toEqual(source.lookup(ip, NOW));
    }
    expect(actionFor(copy, '8.8.8.8', NOW + 5)).toBe('allow');
  });

  it('agrees with a straightforward model on random decisions and lookups', () => {
    const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const entry = fc.record({
      network: fc.ipV4(),
      prefix: fc.integer({ min: 8, max: 32 }),
      action: fc.constantFrom<Decision['action']>('allow', 'deny', 'graylist'),
      lifted: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 30 }),
        fc.array(fc.ipV4(), { maxLength: 20 }),
        (entries, probes) => {
          const index = new DecisionIndex();
          const model = new Map<
            string,
            { net: number; prefix: number; action: Decision['action'] }
          >();
          for (const e of entries) {
            const subject = `${e.network}/${e.prefix}`;
            const parsed = parseSubject(subject)!;
            const key = `${(parsed.address as { v4: number }).v4}/${e.prefix}`;
            if (e.lifted) {
              index.apply(subject, null);
              model.delete(key);
            } else {
              index.apply(subject, decision(subject, e.action));
              model.set(key, {
                net: (parsed.address as { v4: number }).v4,
                prefix: e.prefix,
                action: e.action,
              });
            }
          }
          for (const probe of [...probes, ...entries.map((e) => e.network)]) {
            const ip = toInt(probe);
            const hits = [...model.values()].filter(
              (m) =>
                Math.floor(ip / 2 ** (32 - m.prefix)) === Math.floor(m.net / 2 ** (32 - m.prefix)),
            );
            const expected = hits.some((h) => h.action === 'allow')
              ? 'allow'
              : (hits.sort((a, b) => b.prefix - a.prefix)[0]?.action ?? 'allow');
            expect(actionFor(index, probe)).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
