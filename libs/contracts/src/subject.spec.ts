import { canonicalAddress, parseAddress } from './client-address';
import { parseSubject, subjectContains } from './subject';

const subjectOf = (text: string) => {
  const parsed = parseSubject(text);
  return 'problem' in parsed ? `problem: ${parsed.problem}` : parsed.subject;
};

describe('decision subjects', () => {
  it('writes addresses in one canonical form', () => {
    expect(canonicalAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('010.0.0.1')).toBeUndefined();
    expect(canonicalAddress('1')).toBeUndefined();
  });

  it('writes networks as network address and prefix, single-address networks as the address', () => {
    expect(subjectOf('198.51.100.0/24')).toBe('198.51.100.0/24');
    expect(subjectOf('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(subjectOf('203.0.113.7/32')).toBe('203.0.113.7');
    expect(subjectOf('2001:db8::1/128')).toBe('2001:db8::1');
    expect(subjectOf('::ffff:198.51.100.0/120')).toBe('198.51.100.0/24');
  });

  it('explains what is wrong with a subject', () => {
    expect(subjectOf('10.0.0.5/8')).toBe(
      'problem: "10.0.0.5/8" has host bits set: did you mean 10.0.0.0/8?',
    );
    expect(subjectOf('10.0.0.0/33')).toMatch(/prefix length must be at most 32/);
    expect(subjectOf('shop.example')).toMatch(/is not an IPv4 or IPv6 address or CIDR/);
    expect(subjectOf('10.0.0.0/x')).toMatch(/is not an IPv4 or IPv6 address or CIDR/);
    expect(subjectOf('::ffff:10.0.0.0/90')).toMatch(/IPv4-mapped network needs a prefix ≥ 96/);
  });

  it('masks host bits off when asked to, as the node agent reading the topic does', () => {
    const masked = parseSubject('10.0.0.5/8', { maskHostBits: true });
    expect(masked).toMatchObject({ subject: '10.0.0.0/8', prefix: 8, single: false });
    expect(parseSubject('2001:db8:ffff::1/33', { maskHostBits: true })).toMatchObject({
      subject: '2001:db8:8000::/33',
    });
  });

  it('tells whether a network holds an address, never across address families', () => {
    const net = parseSubject('198.51.100.0/24');
    if ('problem' in net) throw new Error(net.problem);
    expect(subjectContains(net, parseAddress('198.51.100.200')!)).toBe(true);
    expect(subjectContains(net, parseAddress('198.51.101.1')!)).toBe(false);
    expect(subjectContains(net, parseAddress('2001:db8::1')!)).toBe(false);
  });
});
