import { isIP } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { parseIPv4, TrustedProxies } from './client-address';

const proxies = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48', '192.0.2.1']);
const PROXY = '10.0.0.5';
const CLIENT = '203.0.113.7';

describe('parseIPv4', () => {
  it('parses dotted quads to unsigned integers', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('203.0.113.7')).toBe(((203 * 256 + 0) * 256 + 113) * 256 + 7);
  });

  it('refuses everything that is not a strict dotted quad', () => {
    for (const bad of [
      '1',
      '1.2.3',
      '1.2.3.4.5',
      '010.0.0.1',
      '256.1.1.1',
      '1..2.3',
      '1.2.3.',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '::1',
      '',
    ]) {
      expect(parseIPv4(bad)).toBe(-1);
    }
  });
});

describe('TrustedProxies', () => {
  it('knows which peers are trusted', () => {
    expect(proxies.isTrusted('10.200.1.1')).toBe(true);
    expect(proxies.isTrusted('::ffff:10.200.1.1')).toBe(true);
    expect(proxies.isTrusted('192.0.2.1')).toBe(true);
    expect(proxies.isTrusted('192.0.2.2')).toBe(false);
    expect(proxies.isTrusted('2001:db8:ffff:1::1')).toBe(true);
    expect(proxies.isTrusted('2001:db8:fffe::1')).toBe(false);
    expect(proxies.isTrusted(undefined)).toBe(false);
    expect(proxies.isTrusted('garbage')).toBe(false);
  });

  it('answers for a dotted quad (parsed by hand) as for the parsed address', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.ipV4(),
        (ranges, ip) => {
          // Host bits set on purpose (10.1.2.3/8): the network is what counts.
          const cidrs = ranges.map(([a, p]) => `${a}/${p}`);
          const trusted = new TrustedProxies(cidrs);
          expect(trusted.isTrusted(ip)).toBe(trusted.isTrusted(ipaddr.parse(ip)));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('accepts IPv4-mapped CIDRs as their IPv4 networks', () => {
    const mapped = new TrustedProxies(['::ffff:10.0.0.0/104']);
    expect(mapped.isTrusted('10.9.9.9')).toBe(true);
    expect(mapped.isTrusted('11.0.0.1')).toBe(false);
  });

  it('trims entries', () => {
    expect(new TrustedProxies([' 10.0.0.0/8 ']).isTrusted('10.1.2.3')).toBe(true);
  });

  it('refuses a bad entry, naming it', () => {
    expect(() => new TrustedProxies(['10.0.0.1', 'proxy.internal'])).toThrow(
      '"proxy.internal" is not an IP address or CIDR',
    );
  });

  describe('clientIp', () => {
    it('ignores forwarding headers from an untrusted peer (no spoofing)', () => {
      expect(
        proxies.clientIp(CLIENT, { 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '8.8.8.8' }),
      ).toBe(CLIENT);
    });

    it('returns the normalised peer when there are no headers', () => {
      expect(proxies.clientIp('::ffff:203.0.113.7', {})).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, {})).toBe(PROXY);
      expect(proxies.clientIp(undefined, { 'x-forwarded-for': CLIENT })).toBeUndefined();
    });

    it('takes the right-most untrusted hop of X-Forwarded-For from a trusted peer', () => {
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': CLIENT })).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `${CLIENT}, 10.0.0.9, 192.0.2.1` })).toBe(
        CLIENT,
      );
      // A client prepending entries cannot choose its address.
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `1.1.1.1, 8.8.8.8, ${CLIENT}` })).toBe(
        CLIENT,
      );
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `10.0.0.7,${CLIENT},10.0.0.8` })).toBe(
        CLIENT,
      );
    });

    it('takes the left-most hop when every hop is trusted', () => {
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '10.0.0.1, 10.0.0.2' })).toBe('10.0.0.1');
    });

    it('reads repeated X-Forwarded-For headers in order', () => {
      expect(
        proxies.clientIp(PROXY, { 'x-forwarded-for': ['1.1.1.1', `${CLIENT}, 10.0.0.2`] }),
      ).toBe(CLIENT);
    });

    it('falls back to X-Real-IP, then to the peer', () => {
      expect(proxies.clientIp(PROXY, { 'x-real-ip': ` ${CLIENT} ` })).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { 'x-real-ip': 'nonsense' })).toBe(PROXY);
    });

    it('strips ports and brackets from hops', () => {
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `${CLIENT}:51234` })).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '[2001:db8::7]:443' })).toBe(
        '2001:db8::7',
      );
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '[2001:db8::7]' })).toBe('2001:db8::7');
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '2001:DB8:0::7' })).toBe('2001:db8::7');
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '::ffff:203.0.113.7' })).toBe(CLIENT);
    });

    it('stops believing the chain at a malformed hop, keeping the last trusted hop (as nginx)', () => {
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `${CLIENT}, unknown, 10.0.0.9` })).toBe(
        '10.0.0.9',
      );
      expect(
        proxies.clientIp(PROXY, {
          'x-forwarded-for': `${CLIENT}, _hidden, 10.0.0.9`,
          'x-real-ip': '198.51.100.4',
        }),
      ).toBe('10.0.0.9');
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': ' , ,' })).toBe(PROXY);
      // Empty entries are no hops.
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `${CLIENT}, ` })).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': `${CLIENT},, 10.0.0.9` })).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { 'x-forwarded-for': '203.0.113.7:port' })).toBe(PROXY);
    });

    it('reads RFC 7239 Forwarded when there is no X-Forwarded-For', () => {
      expect(
        proxies.clientIp(PROXY, { forwarded: `for=1.1.1.1, for="${CLIENT}:443";proto=https` }),
      ).toBe(CLIENT);
      expect(proxies.clientIp(PROXY, { forwarded: 'for="[2001:db8::7]:443", for=10.0.0.3' })).toBe(
        '2001:db8::7',
      );
      expect(proxies.clientIp(PROXY, { forwarded: 'for=_hidden' })).toBe(PROXY);
    });

    it('gives the same answer for a Map of headers (the mirror agent) as for a record (Node)', () => {
      const headers = { 'x-forwarded-for': `1.1.1.1, ${CLIENT}, 10.0.0.2`, 'x-real-ip': '8.8.8.8' };
      expect(proxies.clientIp(PROXY, new Map(Object.entries(headers)))).toBe(
        proxies.clientIp(PROXY, headers),
      );
    });

    const headerText = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc
        .array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 12 })), {
          maxLength: 6,
        })
        .map((a) => a.join(', ')),
    );

    it('never lets headers change the address of an untrusted peer', () => {
      fc.assert(
        fc.property(fc.ipV4(), headerText, headerText, (peer, xff, real) => {
          fc.pre(!proxies.isTrusted(peer));
          expect(proxies.clientIp(peer, { 'x-forwarded-for': xff, 'x-real-ip': real })).toBe(peer);
        }),
        { numRuns: 500 },
      );
    });

    it('returns the client a trusted proxy appended, whatever the client sent before it', () => {
      fc.assert(
        fc.property(
          headerText,
          fc.ipV4(),
          fc.array(fc.constantFrom('10.0.0.2', '192.0.2.1', '10.9.8.7'), { maxLength: 3 }),
          (spoof, client, hops) => {
            fc.pre(!proxies.isTrusted(client));
            const xff = [spoof, client, ...hops].join(', ');
            expect(
              proxies.clientIp(PROXY, { 'x-forwarded-for': xff, 'x-real-ip': '8.8.8.8' }),
            ).toBe(client);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('never throws on hostile headers and returns only a canonical IP', () => {
      fc.assert(
        fc.property(headerText, headerText, (xff, real) => {
          const ip = proxies.clientIp(PROXY, { 'x-forwarded-for': xff, 'x-real-ip': real });
          expect(ip).toBeDefined();
          expect(isIP(ip!)).not.toBe(0);
        }),
        { numRuns: 500 },
      );
    });
  });
});
