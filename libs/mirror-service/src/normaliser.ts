/**
 * Normalisation, done once here: the client address (through trusted proxies only),
 * application, method, path and query, sizes, latency, User-Agent, the header-order
 * fingerprint, Accept-Language, JA3/JA4, session credentials (cookies, bearer tokens, API keys,
 * basic auth, and credential-like query parameters such as `access_token` or `api_key`) and the
 * username of a login replaced by keyed hashes, HMAC-SHA256 with the deployment secret.
 * Clear-text credential values never leave this module.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Credential, RequestRecord } from '@moat/contracts';
import { canonicalAddress, TrustedProxies } from '@moat/contracts';
import { findLogin } from './login-body';
import type { MirrorInput } from './mirror-input';

export type RequestSource = NonNullable<RequestRecord['source']>;

export interface NormaliserOptions {
  /** HMAC key; the same secret across agents makes hashes comparable. */
  secret: string;
  defaultApp: string;
  /** Cookie names that carry a session (lower-case). */
  sessionCookies: string[];
  /** Headers that carry an API key (lower-case). */
  apiKeyHeaders: string[];
  /**
   * Query parameters whose values are secrets (lower-case). Their values are replaced by
   * `hmac:<hash>`; those that identify a client (tokens, keys, session ids) also become session
   * credentials.
   */
  sensitiveQueryParams?: string[];
  /**
   * Proxies (addresses or CIDRs) whose X-Forwarded-For / Forwarded / X-Real-IP are believed.
   * Empty: the edge's peer address is the client.
   */
  trustedProxies?: readonly string[];
  /** A request header that names the application (lower-case), before the Host. */
  appHeader?: string;
  /** Headers an edge uses to pass the TLS fingerprints it computed (lower-case). */
  ja3Headers?: readonly string[];
  ja4Headers?: readonly string[];
  now?: () => number;
}

export const DEFAULT_JA3_HEADERS = ['x-ja3', 'x-ja3-hash', 'x-ja3-fingerprint', 'cf-ja3-hash'];
export const DEFAULT_JA4_HEADERS = ['x-ja4', 'x-ja4-fingerprint', 'cf-ja4'];
/** Headers the mirror agent's own transport adds; not part of the client's fingerprint. */
const TRANSPORT_HEADER = /^x-moat-/;

export const DEFAULT_SESSION_COOKIES = [
  'session',
  'sessionid',
  'sid',
  'connect.sid',
  'jsessionid',
  'phpsessid',
  '_session',
  'auth_token',
];
export const DEFAULT_API_KEY_HEADERS = ['x-api-key', 'api-key', 'apikey'];
/** Query parameters that carry a client's credential: hashed, and used as a session key. */
export const DEFAULT_CREDENTIAL_QUERY_PARAMS = [
  'access_token',
  'token',
  'id_token',
  'refresh_token',
  'auth',
  'auth_token',
  'api_key',
  'apikey',
  'api-key',
  'key',
  'session',
  'sessionid',
  'session_id',
  'sid',
  'jsessionid',
  'phpsessid',
];
/** Query parameters that carry other secrets: hashed only. */
export const DEFAULT_SECRET_QUERY_PARAMS = [
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'client_secret',
  'code',
  'signature',
  'sig',
  'otp',
];

export class Normaliser {
  private readonly cookies: Set<string>;
  private readonly apiKeys: Set<string>;
  private readonly credentialParams: Set<string>;
  private readonly secretParams: Set<string>;
  private readonly now: () => number;
  private readonly proxies: TrustedProxies;
  private readonly ja3Headers: readonly string[];
  private readonly ja4Headers: readonly string[];
  private readonly appHeader: string | undefined;
  /** Header-order fingerprints of recently seen orders: few distinct orders exist in practice. */
  private readonly fingerprints = new Map<string, string>();

  constructor(private readonly options: NormaliserOptions) {
    this.cookies = new Set(options.sessionCookies.map((c) => c.toLowerCase()));
    this.apiKeys = new Set(options.apiKeyHeaders.map((h) => h.toLowerCase()));
    this.credentialParams = new Set(DEFAULT_CREDENTIAL_QUERY_PARAMS);
    this.secretParams = new Set([
      ...DEFAULT_SECRET_QUERY_PARAMS,
      ...(options.sensitiveQueryParams ?? []).map((p) => p.toLowerCase()),
    ]);
    this.now = options.now ?? Date.now;
    this.proxies = new TrustedProxies(options.trustedProxies ?? []);
    this.ja3Headers = (options.ja3Headers ?? DEFAULT_JA3_HEADERS).map((h) => h.toLowerCase());
    this.ja4Headers = (options.ja4Headers ?? DEFAULT_JA4_HEADERS).map((h) => h.toLowerCase());
    this.appHeader = options.appHeader?.toLowerCase() || undefined;
  }

  /**
   * The record for a valid input, or why there is none (a time outside the contract's range,
   * a client address that is not one). Never throws on input the MirrorInput schema accepts.
   */
  tryNormalise(
    input: MirrorInput,
    source?: RequestSource,
  ): { ok: true; record: RequestRecord } | { ok: false; reason: string } {
    const record = this.normalise(input, source);
    if (Number.isNaN(record.ts)) return { ok: false, reason: '/ts is not a valid time' };
    if (record.ip === '') return { ok: false, reason: '/ip is not an IP address' };
    return { ok: true, record };
  }

  /**
   * Normalises one input. A time outside the epoch-millisecond range comes back as NaN and an
   * unusable client address as '' for the caller to reject (see tryNormalise).
   */
  normalise(input: MirrorInput, source?: RequestSource): RequestRecord {
    const headers = lowerCaseHeaders(input.headers ?? {});
    const { path, query } = splitPath(input.path);
    // The port goes; an IPv6 literal keeps its brackets. The Host header is the client's to set.
    const host = /^\[[^\]]*\]|^[^:]*/
      .exec(input.host ?? headers.get('host') ?? '')![0]
      .toLowerCase()
      .slice(0, 253);
    const named = this.appHeader ? headers.get(this.appHeader)?.trim().slice(0, 253) : undefined;
    const headerNames = [...headers.keys()].filter((n) => !TRANSPORT_HEADER.test(n)).slice(0, 128);
    const record: RequestRecord = {
      v: 1,
      id: input.id ?? randomUUID(),
      ts: eventTime(input.ts, this.now),
      app: input.app ?? (named || host || this.options.defaultApp),
      ip: this.clientIp(input.ip, headers),
      method:
        input.method
          .toUpperCase()
          .replace(/[^A-Z]/g, '')
          .slice(0, 16) || 'GET',
      path,
      query,
      status: input.status,
      requestBytes: input.requestBytes ?? 0,
      responseBytes: input.responseBytes ?? 0,
      latencyMs: input.latencyMs ?? 0,
      userAgent: (headers.get('user-agent') ?? '').slice(0, 2048),
      headerNames,
      credentials: [...this.credentials(headers), ...this.protectQuery(query)].slice(0, 32),
    };
    const acceptLanguage = headers.get('accept-language');
    if (acceptLanguage) record.acceptLanguage = acceptLanguage.slice(0, 256);
    const ja3 = input.ja3 || firstHeader(headers, this.ja3Headers);
    const ja4 = input.ja4 || firstHeader(headers, this.ja4Headers);
    if (ja3) record.ja3 = ja3.slice(0, 256);
    if (ja4) record.ja4 = ja4.slice(0, 256);
    const username = this.username(input, headers, path);
    if (username !== undefined) record.usernameHash = this.hash('username', '', username);
    if (input.partialHeaders) record.partialHeaders = true;
    else if (headerNames.length > 0) record.headerFingerprint = this.fingerprint(headerNames);
    if (source) record.source = source;
    return record;
  }

  private clientIp(peer: string, headers: Map<string, string>): string {
    if (this.proxies.size === 0) return canonicalAddress(peer) ?? '';
    return this.proxies.clientIp(peer, headers) ?? '';
  }

  /**
   * The account a request authenticates as: the username field of a login body, else the user
   * of HTTP basic credentials. Lower-cased: most sites treat usernames and e-mail addresses
   * case-insensitively, so `Alice` and `alice` are one account to a credential stuffer too.
   */
  private username(
    input: MirrorInput,
    headers: Map<string, string>,
    path: string,
  ): string | undefined {
    if (input.body) {
      const login = findLogin(input.body, path, headers.get('content-type'));
      if (login) return login.username.toLowerCase();
    }
    const authorization = headers.get('authorization');
    if (authorization && /^\s*basic\s/i.test(authorization)) {
      const decoded = Buffer.from(authorization.trim().slice(5).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return decoded.slice(0, colon).toLowerCase().slice(0, 1024);
    }
    return undefined;
  }

  private fingerprint(names: string[]): string {
    const joined = names.join(',');
    let value = this.fingerprints.get(joined);
    if (value === undefined) {
      value = createHash('sha256').update(joined).digest('hex').slice(0, 16);
      if (this.fingerprints.size >= 4096) this.fingerprints.clear();
      this.fingerprints.set(joined, value);
    }
    return value;
  }

  hash(kind: string, name: string, value: string): string {
    return createHmac('sha256', this.options.secret)
      .update(`${kind}\0${name}\0${value}`)
      .digest('hex');
  }

  /** Replaces secret query values by their hash, in place; returns the credentials among them. */
  private protectQuery(query: Record<string, string>): Credential[] {
    const found: Credential[] = [];
    for (const name of Object.keys(query)) {
      const lower = name.toLowerCase();
      const identifies = this.credentialParams.has(lower);
      if (!identifies && !this.secretParams.has(lower)) continue;
      const hash = this.hash('query', lower, query[name]);
      query[name] = `hmac:${hash}`;
      if (identifies) found.push({ kind: 'api-key', name: `query:${lower}`.slice(0, 256), hash });
    }
    return found;
  }

  private credentials(headers: Map<string, string>): Credential[] {
    const found: Credential[] = [];
    const authorization = headers.get('authorization');
    if (authorization) {
      const [scheme, ...rest] = authorization.trim().split(/\s+/);
      const value = rest.join(' ');
      if (/^bearer$/i.test(scheme) && value) {
        found.push({
          kind: 'bearer',
          name: 'authorization',
          hash: this.hash('bearer', 'authorization', value),
        });
      } else if (/^basic$/i.test(scheme) && value) {
        found.push({
          kind: 'basic',
          name: 'authorization',
          hash: this.hash('basic', 'authorization', value),
        });
      }
    }
    for (const header of this.apiKeys) {
      const value = headers.get(header);
      if (value)
        found.push({ kind: 'api-key', name: header, hash: this.hash('api-key', header, value) });
    }
    for (const [name, value] of parseCookies(headers.get('cookie') ?? '')) {
      if (this.cookies.has(name.toLowerCase()) && value) {
        found.push({
          kind: 'cookie',
          name: name.toLowerCase(),
          hash: this.hash('cookie', name.toLowerCase(), value),
        });
      }
    }
    return found.slice(0, 32);
  }
}

function firstHeader(headers: Map<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return undefined;
}

function lowerCaseHeaders(headers: Record<string, string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase().slice(0, 128);
    if (!map.has(key)) map.set(key, value);
  }
  return map;
}

function splitPath(raw: string): { path: string; query: Record<string, string> } {
  const q = raw.indexOf('?');
  const path = (q === -1 ? raw : raw.slice(0, q)) || '/';
  // No prototype: `constructor` or `__proto__` are parameters like any other.
  const query = Object.create(null) as Record<string, string>;
  if (q !== -1) {
    for (const [name, value] of new URLSearchParams(raw.slice(q + 1))) {
      if (Object.keys(query).length >= 64) break;
      const key = name.slice(0, 256);
      if (!(key in query)) query[key] = value.slice(0, 2048);
    }
  }
  // Rooting may add a character to a path already at the contract's limit.
  return { path: (path.startsWith('/') ? path : `/${path}`).slice(0, 8192), query };
}

function parseCookies(header: string): [string, string][] {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? [part, ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
}

function eventTime(ts: MirrorInput['ts'], now: () => number): number {
  if (ts === undefined) return now();
  const ms = typeof ts === 'number' ? ts : Date.parse(ts);
  // Outside the contract's epoch-millisecond range: NaN, which the caller rejects.
  return ms >= 0 && ms <= 8.64e15 ? ms : NaN;
}
