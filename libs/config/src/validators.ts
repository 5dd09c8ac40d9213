/** Validators for the value shapes Moat's services share (broker lists, CIDR lists, durations). */
import ipaddr from 'ipaddr.js';
import { makeValidator } from 'envalid';

export const hostPortList = makeValidator<string[]>((input) => {
  const items = input
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error('expected a comma-separated list of host:port');
  for (const item of items) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(item)) {
      throw new Error(`"${item}" is not host:port (example: 127.0.0.1:9092)`);
    }
  }
  return items;
});

export const cidrList = makeValidator<string[]>((input) => {
  const items = input
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const valid = item.includes('/') ? isCidr(item) : isStrictAddress(item);
    if (!valid)
      throw new Error(`"${item}" is not an IP address or CIDR (example: 10.0.0.0/8, ::1)`);
  }
  return items;
});

/** Dotted-quad IPv4 or IPv6; not the shorthand and octal forms ipaddr.js also accepts. */
function isStrictAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

function isCidr(item: string): boolean {
  if (!isStrictAddress(item.slice(0, item.lastIndexOf('/')))) return false;
  try {
    ipaddr.parseCIDR(item);
    return true;
  } catch {
    return false;
  }
}

/** A duration such as 500ms, 30s, 30m, 1h or 7d, returned in milliseconds. */
export const duration = makeValidator<number>((input) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(input.trim());
  if (!match) throw new Error('expected a duration such as 500ms, 30s, 30m, 1h or 7d');
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[
    match[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Math.round(Number(match[1]) * unit);
});

/** A secret at least 16 characters long (HMAC keys). */
export const secret = makeValidator<string>((input) => {
  if (input.length < 16)
    throw new Error('must be at least 16 characters; generate one with `openssl rand -hex 32`');
  return input;
});
