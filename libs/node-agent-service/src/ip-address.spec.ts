import fc from 'fast-check';
import { formatAddress, parseAddress, parseSubject } from './ip-address';

describe('parseAddress', () => {
  it('round-trips every address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const parsed = parseAddress(ip);
        expect(parsed?.family).toBe(4);
        expect(formatAddress(parsed!)).toBe(ip);
      }),
    );
  });
  it('normalises IPv6 spellings and unmaps IPv4-mapped addresses', () => {
    expect(formatAddress(parseAddress('2001:DB8:0:0::1')!)).toBe('2001:db8::1');
    expect(parseAddress('::ffff:198.51.100.7')).toEqual(parseAddress('198.51.100.7'));
    expect(formatAddress(parseAddress('fe80::1%eth0')!)).toBe('fe80::1');
    expect(parseAddress('example.com')).toBeUndefined();
    expect(parseAddress('1:2')).toBeUndefined();
  });
});

describe('parseSubject', () => {
  it('masks host bits and knows full-length prefixes are addresses', () => {
    expect(parseSubject('10.1.2.3/16')).toEqual({
      address: { family: 4, v4: 10 * 2 ** 24 + 2 ** 16 },
      prefix: 16,
    });
    expect(parseSubject('10.1.2.3/32')?.prefix).toBe(32);
    expect(parseSubject('10.1.2.3')?.prefix).toBe(32);
    expect(parseSubject('0.0.0.0/0')).toEqual({ address: { family: 4, v4: 0 }, prefix: 0 });
    expect(parseSubject('2001:db8:ffff::1/33')).toEqual({
      address: { family: 6, groups: [0x2001, 0xdb8, 0x8000, 0, 0, 0, 0, 0] },
      prefix: 33,
    });
    expect(parseSubject('::ffff:10.0.0.0/104')).toEqual({
      address: { family: 4, v4: 10 * 2 ** 24 },
      prefix: 8,
    });
  });

  it('refuses bad prefixes and addresses', () => {
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/x',
      '::/129',
      'host/8',
      '10.0.0.0/-1',
    ]) {
      expect(parseSubject(bad)).toBeUndefined();
    }
  });
});
