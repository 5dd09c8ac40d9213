/**
 * User-Agent facts shared by the UA detectors, memoised per string (a site sees few distinct
 * UAs; the cache is bounded). Parsing is ua-parser-js 1.x (MIT; 2.x is AGPL); bot signatures
 * are isbot's pattern list plus the categorised crawler-user-agents list.
 */
import UAParser from 'ua-parser-js';
import { isbotMatches } from 'isbot';
import crawlers from 'crawler-user-agents';

export interface Signature {
  pattern: string;
  /** crawler-user-agents category (scanner, http-library, search-engine, …) when known. */
  category?: string;
}

export interface UserAgentFacts {
  browser?: string;
  version?: string;
  os?: string;
  osVersion?: string;
  engine?: string;
  /** Signatures of automated clients the UA matches (empty for a plain browser). */
  signatures: Signature[];
  /** The UA is an application of its own that embeds an HTTP library (ShopApp/5 okhttp/4). */
  embedsLibrary: boolean;
}

const CRAWLERS = crawlers.map((c) => ({
  re: new RegExp(c.pattern),
  pattern: c.pattern,
  category: c.tags?.[0],
}));

function crawlerMatches(ua: string): Signature[] {
  return CRAWLERS.filter((c) => c.re.test(ua)).map((c) => ({
    pattern: c.pattern,
    category: c.category,
  }));
}

/**
 * A UA made of product tokens of which some match only HTTP-library signatures and at least
 * one other token (the application's own) matches nothing: a native app on a library stack.
 */
function embedsLibrary(ua: string, signatures: Signature[]): boolean {
  if (signatures.length === 0 || signatures.some((s) => s.category !== 'http-library'))
    return false;
  const tokens = ua.split(/\s+(?![^(]*\))/).filter(Boolean);
  const library = (t: string) =>
    CRAWLERS.some((c) => c.category === 'http-library' && c.re.test(t));
  const own = tokens.filter(
    (t) => /^[A-Za-z][\w.-]*\/\d/.test(t) && !t.startsWith('Mozilla/') && !library(t),
  );
  // What is left once the library tokens are gone must look like nothing automated.
  const rest = tokens.filter((t) => !library(t)).join(' ');
  return own.length > 0 && isbotMatches(rest).length === 0 && crawlerMatches(rest).length === 0;
}

const cache = new Map<string, UserAgentFacts>();
const CACHE_SIZE = 5_000;

export function userAgentFacts(ua: string): UserAgentFacts {
  const cached = cache.get(ua);
  if (cached) return cached;
  const parsed = new UAParser(ua).getResult();
  const fromCrawlers = crawlerMatches(ua);
  const fromIsbot = isbotMatches(ua)
    .filter((m) => !fromCrawlers.some((c) => new RegExp(c.pattern).test(m)))
    .map((m) => ({ pattern: m }));
  const signatures: Signature[] = [...fromCrawlers, ...fromIsbot];
  const facts: UserAgentFacts = {
    browser: parsed.browser.name,
    version: parsed.browser.version,
    os: parsed.os.name,
    osVersion: parsed.os.version,
    engine: parsed.engine.name,
    signatures,
    embedsLibrary: embedsLibrary(ua, fromCrawlers),
  };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(ua, facts);
  return facts;
}

/** Browsers whose requests carry the standard browser headers. */
const BROWSERS = new Set([
  'Chrome',
  'Chromium',
  'Mobile Chrome',
  'Edge',
  'Firefox',
  'Mobile Firefox',
  'Safari',
  'Mobile Safari',
  'Opera',
  'Samsung Internet',
  'Brave',
  'Vivaldi',
  'Yandex',
  'IE',
]);

export function claimsBrowser(facts: UserAgentFacts): boolean {
  return facts.browser !== undefined && BROWSERS.has(facts.browser);
}
