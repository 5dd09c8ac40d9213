/**
 * Release dates of browser versions, from caniuse-lite (the data browserslist uses), and the
 * browsers browserslist calls dead (no updates for 24 months). A User-Agent parsed by
 * ua-parser-js is mapped to its caniuse agent; iOS browsers all run the system WebKit, so they
 * are judged by the iOS Safari release.
 */
import browserslist from 'browserslist';
import type { UserAgentFacts } from '../support/user-agent';

export interface BrowserRelease {
  /** caniuse agent id and version range, e.g. chrome 131, ios_saf 16.6-16.7. */
  agent: string;
  version: string;
  /** Release date (epoch ms); undefined when the data does not know the version yet. */
  releasedAt?: number;
  /** browserslist counts the version as dead. */
  dead: boolean;
}

const AGENT_OF: Record<string, string> = {
  Chrome: 'chrome',
  'Mobile Chrome': 'chrome',
  Chromium: 'chrome',
  Edge: 'edge',
  Firefox: 'firefox',
  'Mobile Firefox': 'firefox',
  Safari: 'safari',
  'Mobile Safari': 'ios_saf',
  Opera: 'opera',
  'Samsung Internet': 'samsung',
  IE: 'ie',
  IEMobile: 'ie_mob',
};

const DEAD = new Set(browserslist('dead'));

/** caniuse keys are versions or ranges ("15.2-15.3"); parsed once per agent. */
const ranges = new Map<string, { key: string; lo: number[]; hi: number[]; at?: number }[]>();

function parseVersion(v: string): number[] {
  return v.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function rangesOf(agent: string) {
  let list = ranges.get(agent);
  if (!list) {
    // browserslist.data is caniuse-lite's agents table, unpacked.
    const dates: Record<string, number | null | undefined> =
      browserslist.data[agent]?.releaseDate ?? {};
    list = Object.entries(dates).map(([key, seconds]) => {
      const [lo, hi = lo] = key.split('-');
      return {
        key,
        lo: parseVersion(lo),
        hi: parseVersion(hi),
        at: typeof seconds === 'number' ? seconds * 1000 : undefined,
      };
    });
    list.sort((a, b) => compare(a.lo, b.lo));
    ranges.set(agent, list);
  }
  return list;
}

const releases = new Map<string, BrowserRelease | undefined>();

/** The release a parsed UA claims (memoised per browser, version and platform). */
export function browserRelease(facts: UserAgentFacts): BrowserRelease | undefined {
  const key = `${facts.browser}|${facts.version}|${facts.os}|${facts.osVersion}`;
  if (releases.has(key)) return releases.get(key);
  const release = lookUp(facts);
  if (releases.size >= 5_000) releases.clear();
  releases.set(key, release);
  return release;
}

function lookUp(facts: UserAgentFacts): BrowserRelease | undefined {
  if (!facts.browser) return undefined; // an app or a tool on iOS is not Safari
  let agent = facts.browser ? AGENT_OF[facts.browser] : undefined;
  let version = facts.version;
  if (facts.os === 'iOS' && facts.osVersion && agent !== 'ios_saf') {
    agent = 'ios_saf'; // every iOS browser is the system WebKit
    version = facts.osVersion;
  }
  if (!agent || !version) return undefined;
  const list = rangesOf(agent);
  if (list.length === 0) return undefined;
  // Chrome-like agents key by major only; Safari-like by major.minor.
  const precision = list.some((r) => r.lo.length > 1) ? 2 : 1;
  const v = parseVersion(version).slice(0, precision);
  let match = list.find(
    (r) => compare(v, r.lo.slice(0, precision)) >= 0 && compare(v, r.hi.slice(0, precision)) <= 0,
  );
  if (!match) {
    // Between listed ranges: the newest range that starts at or before it.
    match = [...list].reverse().find((r) => compare(r.lo.slice(0, precision), v) <= 0);
  }
  if (!match) {
    // Older than anything the data lists: as old as its oldest entry at least.
    match = list[0];
  }
  return {
    agent,
    version: match.key,
    releasedAt: match.at,
    dead: DEAD.has(`${agent} ${match.key}`),
  };
}
