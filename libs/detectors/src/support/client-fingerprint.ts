/**
 * What a client's software says about itself, independent of its address: User-Agent, the
 * names and order of its headers, its TLS fingerprints and Accept-Language. Clients of one
 * campaign share it across thousands of IPs; a person keeps it across networks.
 */
import type { SessionEvent } from '@moat/contracts';
import { fnv1a } from './hash';

export function clientFingerprint(event: SessionEvent): string {
  const r = event.request;
  const headers = r.headerFingerprint ?? r.headerNames.join(',');
  const text = [r.userAgent, headers, r.ja3 ?? '', r.ja4 ?? '', r.acceptLanguage ?? ''].join('\n');
  // 64 bits (two seeds of FNV-1a), so distinct clients of a large site do not collide.
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return hex(fnv1a(text)) + hex(fnv1a(`~${text}`));
}
