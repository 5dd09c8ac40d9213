/**
 * Session windows of one session key, with their running features. A session is a run of
 * requests with no gap longer than the inactivity timeout, in event time (Kafka Streams'
 * session windows): a request within the timeout of a window joins it, one within the timeout
 * of two windows merges them, any other starts a window. The windows of a key are therefore the
 * same whatever order its requests arrive in — only their event times matter — and so is each
 * window's id, derived from the key and the window's start. Counts and sums are
 * order-independent too; interval dispersion is measured on the gaps as they are observed
 * (exact when requests arrive in event-time order, which is the normal case).
 */
import { createHash } from 'node:crypto';

/** Distinct values tracked exactly per window; beyond, new values are counted as distinct. */
export const MAX_TRACKED_ROUTES = 200;
export const MAX_TRACKED_IPS = 64;
export const MAX_TRACKED_USERNAMES = 32;
/** Windows kept per key; the oldest go first. */
export const MAX_WINDOWS = 8;
const MAX_SUPERSEDED = 8;

export interface GapStats {
  /** Number of gaps, their mean and sum of squared deviations (Welford), and the smallest. */
  n: number;
  mean: number;
  m2: number;
  min: number;
}

export interface SessionWindow {
  id: string;
  start: number;
  end: number;
  count: number;
  routes: string[];
  uniqueRoutes: number;
  gaps: GapStats;
  authAttempts: number;
  authFailures: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
  notFound: number;
  serverErrors: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  ips: string[];
  uniqueIps: number;
  /** Short prefixes of the username hashes of the window's login attempts. */
  usernames: string[];
  uniqueUsernames: number;
}

/** What one request contributes to its window. */
export interface Contribution {
  ts: number;
  ip: string;
  route: string;
  status: number;
  requestBytes: number;
  responseBytes: number;
  auth?: 'success' | 'failure';
  usernameHash?: string;
}

export function windowId(key: string, start: number): string {
  return createHash('sha256').update(`${key}\0${start}`).digest('hex').slice(0, 32);
}

const NO_GAPS: GapStats = { n: 0, mean: 0, m2: 0, min: 0 };

function addGap(stats: GapStats, gap: number): GapStats {
  const n = stats.n + 1;
  const delta = gap - stats.mean;
  const mean = stats.mean + delta / n;
  return {
    n,
    mean,
    m2: stats.m2 + delta * (gap - mean),
    min: stats.n === 0 ? gap : Math.min(stats.min, gap),
  };
}

/** Chan et al.'s parallel combination of two sets of gaps. */
function combineGaps(a: GapStats, b: GapStats): GapStats {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return {
    n,
    mean: a.mean + (delta * b.n) / n,
    m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n,
    min: Math.min(a.min, b.min),
  };
}

function unionCount(a: string[], countA: number, b: string[], countB: number, cap: number) {
  const set = new Set(a);
  let shared = 0;
  for (const x of b) {
    if (set.has(x)) shared++;
    else if (set.size < cap) set.add(x);
  }
  return { values: [...set], count: Math.max(set.size, countA + countB - shared) };
}

function single(key: string, c: Contribution): SessionWindow {
  return {
    id: windowId(key, c.ts),
    start: c.ts,
    end: c.ts,
    count: 1,
    routes: [c.route],
    uniqueRoutes: 1,
    gaps: NO_GAPS,
    authAttempts: c.auth ? 1 : 0,
    authFailures: c.auth === 'failure' ? 1 : 0,
    bytesIn: c.requestBytes,
    bytesOut: c.responseBytes,
    errors: c.status >= 400 ? 1 : 0,
    notFound: c.status === 404 ? 1 : 0,
    serverErrors: c.status >= 500 ? 1 : 0,
    maxRequestBytes: c.requestBytes,
    maxResponseBytes: c.responseBytes,
    ips: [c.ip],
    uniqueIps: 1,
    usernames: c.auth && c.usernameHash ? [c.usernameHash.slice(0, 16)] : [],
    uniqueUsernames: c.auth && c.usernameHash ? 1 : 0,
  };
}

/** Joins `later` (starting at or after `earlier`'s start) into `earlier`. */
function join(earlier: SessionWindow, later: SessionWindow): SessionWindow {
  let gaps = combineGaps(earlier.gaps, later.gaps);
  // The gap between them is real only when they do not overlap.
  if (later.start >= earlier.end)
    gaps = combineGaps(gaps, addGap(NO_GAPS, later.start - earlier.end));
  const routes = unionCount(
    earlier.routes,
    earlier.uniqueRoutes,
    later.routes,
    later.uniqueRoutes,
    MAX_TRACKED_ROUTES,
  );
  const ips = unionCount(
    earlier.ips,
    earlier.uniqueIps,
    later.ips,
    later.uniqueIps,
    MAX_TRACKED_IPS,
  );
  const users = unionCount(
    earlier.usernames,
    earlier.uniqueUsernames,
    later.usernames,
    later.uniqueUsernames,
    MAX_TRACKED_USERNAMES,
  );
  return {
    id: earlier.id,
    start: earlier.start,
    end: Math.max(earlier.end, later.end),
    count: earlier.count + later.count,
    routes: routes.values,
    uniqueRoutes: routes.count,
    gaps,
    authAttempts: earlier.authAttempts + later.authAttempts,
    authFailures: earlier.authFailures + later.authFailures,
    bytesIn: earlier.bytesIn + later.bytesIn,
    bytesOut: earlier.bytesOut + later.bytesOut,
    errors: earlier.errors + later.errors,
    notFound: earlier.notFound + later.notFound,
    serverErrors: earlier.serverErrors + later.serverErrors,
    maxRequestBytes: Math.max(earlier.maxRequestBytes, later.maxRequestBytes),
    maxResponseBytes: Math.max(earlier.maxResponseBytes, later.maxResponseBytes),
    ips: ips.values,
    uniqueIps: ips.count,
    usernames: users.values,
    uniqueUsernames: users.count,
  };
}

/** Adds a value to a bounded distinct list; returns the list (a copy if it changed) and the count. */
function addDistinct(
  values: string[],
  count: number,
  value: string,
  cap: number,
): [string[], number] {
  if (values.includes(value)) return [values, count];
  return [values.length < cap ? [...values, value] : values, count + 1];
}

/** The common case, a request at or after the end of its window: one window, updated in place of a copy. */
function extend(w: SessionWindow, c: Contribution): SessionWindow {
  const [routes, uniqueRoutes] = addDistinct(w.routes, w.uniqueRoutes, c.route, MAX_TRACKED_ROUTES);
  const [ips, uniqueIps] = addDistinct(w.ips, w.uniqueIps, c.ip, MAX_TRACKED_IPS);
  let { usernames, uniqueUsernames } = w;
  if (c.auth && c.usernameHash)
    [usernames, uniqueUsernames] = addDistinct(
      usernames,
      uniqueUsernames,
      c.usernameHash.slice(0, 16),
      MAX_TRACKED_USERNAMES,
    );
  return {
    ...w,
    end: c.ts,
    count: w.count + 1,
    routes,
    uniqueRoutes,
    gaps: addGap(w.gaps, c.ts - w.end),
    authAttempts: w.authAttempts + (c.auth ? 1 : 0),
    authFailures: w.authFailures + (c.auth === 'failure' ? 1 : 0),
    bytesIn: w.bytesIn + c.requestBytes,
    bytesOut: w.bytesOut + c.responseBytes,
    errors: w.errors + (c.status >= 400 ? 1 : 0),
    notFound: w.notFound + (c.status === 404 ? 1 : 0),
    serverErrors: w.serverErrors + (c.status >= 500 ? 1 : 0),
    maxRequestBytes: Math.max(w.maxRequestBytes, c.requestBytes),
    maxResponseBytes: Math.max(w.maxResponseBytes, c.responseBytes),
    ips,
    uniqueIps,
    usernames,
    uniqueUsernames,
  };
}

export interface Placement {
  /** The key's windows after the request, oldest first. */
  windows: SessionWindow[];
  /** The window the request is in. */
  window: SessionWindow;
  /** Gap since the latest request of the session before this one; undefined if it is the first. */
  lastIntervalMs?: number;
  /** Ids the window had before this request: it moved the start, or merged two windows. */
  supersedes?: string[];
}

/**
 * Places a request among a key's windows: joins, merges or starts one. Pure: the windows given
 * are not changed. A window is kept while it ends within `retentionMs` of the newest one (and
 * at most MAX_WINDOWS are kept): a request later than that starts a window of its own.
 */
export function place(
  key: string,
  windows: readonly SessionWindow[],
  c: Contribution,
  inactivityMs: number,
  retentionMs: number,
): Placement {
  const close: SessionWindow[] = [];
  const rest: SessionWindow[] = [];
  for (const w of windows) {
    if (c.ts - w.end <= inactivityMs && w.start - c.ts <= inactivityMs) close.push(w);
    else rest.push(w);
  }
  let lastIntervalMs: number | undefined;
  let supersedes: string[] | undefined;
  let window: SessionWindow;
  if (close.length === 0) window = single(key, c);
  else if (close.length === 1 && c.ts >= close[0].end) {
    lastIntervalMs = c.ts - close[0].end;
    window = extend(close[0], c);
  } else {
    const own = single(key, c);
    const previousEnd = Math.max(...close.map((w) => w.end));
    lastIntervalMs = Math.max(0, c.ts - previousEnd);
    if (close.length === 1 && c.ts >= close[0].start && c.ts < close[0].end) {
      // A late arrival inside the window: where it falls between the others is unknown, so it
      // adds no gap; the window keeps its start and id.
      window = { ...join(close[0], { ...own, start: close[0].end }), gaps: close[0].gaps };
    } else {
      const parts = [...close, own].sort((a, b) => a.start - b.start || a.end - b.end);
      window = parts.reduce((acc, part) => join(acc, part));
    }
    // join keeps the id of the earliest part, which is the id of the merged start.
    const superseded = [...new Set(close.map((w) => w.id))].filter((id) => id !== window.id);
    if (superseded.length > 0) supersedes = superseded.slice(-MAX_SUPERSEDED);
  }
  const newest = Math.max(window.end, ...rest.map((w) => w.end));
  const kept = [...rest.filter((w) => newest - w.end <= retentionMs), window]
    .sort((a, b) => a.start - b.start)
    .slice(-MAX_WINDOWS);
  return {
    windows: kept,
    window,
    ...(lastIntervalMs !== undefined ? { lastIntervalMs } : {}),
    ...(supersedes ? { supersedes } : {}),
  };
}
