/**
 * The key of a request's session: a hashed credential when the request carries one the
 * application counts as a session parameter (so the session keeps its id across IP changes),
 * else a fingerprint of application, client IP, User-Agent, Accept-Language and JA3/JA4.
 */
import { createHash } from 'node:crypto';
import type { Credential, RequestRecord } from '@moat/contracts';
import type { ApplicationConfig } from './session-config';

export type SessionKeyKind = 'credential' | 'fingerprint';

export interface SessionKey {
  key: string;
  kind: SessionKeyKind;
}

function selects(selector: string, credential: Credential): boolean {
  const colon = selector.indexOf(':');
  if (colon === -1) return credential.kind === selector;
  return (
    credential.kind === selector.slice(0, colon) &&
    credential.name.toLowerCase() === selector.slice(colon + 1).toLowerCase()
  );
}

/** The credential that keys the session: the first selector that matches, in selector order. */
export function sessionCredential(
  request: RequestRecord,
  config: ApplicationConfig = {},
): Credential | undefined {
  if (!config.sessionKeys) return request.credentials[0];
  for (const selector of config.sessionKeys) {
    const found = request.credentials.find((c) => selects(selector, c));
    if (found) return found;
  }
  return undefined;
}

export function sessionKeyOf(request: RequestRecord, config: ApplicationConfig = {}): SessionKey {
  const credential = sessionCredential(request, config);
  if (credential) return { key: `c:${credential.hash}`, kind: 'credential' };
  const fingerprint = createHash('sha256')
    .update(
      [
        request.app,
        request.ip,
        request.userAgent,
        request.acceptLanguage ?? '',
        request.ja3 ?? '',
        request.ja4 ?? '',
      ].join('\0'),
    )
    .digest('hex');
  return { key: `f:${fingerprint}`, kind: 'fingerprint' };
}
