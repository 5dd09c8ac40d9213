/**
 * Session rotation: one client (an IP and a stable fingerprint) cycling through many sessions —
 * a fresh session every few requests, around logins — so that no session ever looks busy. A
 * person keeps one session for a visit; people behind one NAT have different fingerprints, and
 * long sessions.
 *
 * State is per client IP (the events' key): for at most `maxFingerprints` fingerprints, the
 * last `maxSessions` sessions seen within `windowMs` of event time as (id hash, last seen,
 * requests, login attempts) — under 4 KB per fingerprint, dropped `windowMs` × 2 after the IP's
 * last request.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { clientFingerprint } from '../support/client-fingerprint';
import { fnv1a } from '../support/hash';
import { withSlot, type Slot } from '../support/session-slots';

export const SessionRotationConfig = Type.Object(
  {
    windowMs: Type.Integer({ minimum: 60_000, default: 1_800_000 }),
    /** Sessions of one client in the window before it is judged. */
    minSessions: Type.Integer({ minimum: 2, default: 8 }),
    /** A session with at most this many requests counts as short. */
    shortSessionRequests: Type.Integer({ minimum: 1, default: 5 }),
    minShortShare: Type.Number({ minimum: 0, maximum: 1, default: 0.7 }),
    /** Share of the sessions with a login attempt ("around login"). */
    minLoginShare: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    /** Requests a fingerprint must show before the detector judges it `clean`. */
    minJudgedRequests: Type.Integer({ minimum: 1, default: 10 }),
    maxSessions: Type.Integer({ minimum: 4, maximum: 256, default: 64 }),
    maxFingerprints: Type.Integer({ minimum: 1, maximum: 32, default: 4 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type SessionRotationConfig = Static<typeof SessionRotationConfig>;

/** [session id hash, last seen (event time), requests, login attempts] */
type SessionEntry = [number, number, number, number];

interface ClientData extends VoteMemory {
  sessions: SessionEntry[];
  requests: number;
}

export interface SessionRotationState {
  fingerprints: Slot<ClientData>[];
}

export const sessionRotationDetector = defineDetector<
  SessionRotationState,
  typeof SessionRotationConfig
>({
  id: 'session-rotation',
  summary: 'One client cycling through many short sessions around logins',
  configSchema: SessionRotationConfig,
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.windowMs * 2,

  evaluate({ event, state, config }) {
    const ts = event.request.ts;
    const fingerprint = clientFingerprint(event);
    const id = fnv1a(event.sessionId);
    // Earlier ids of this session (a late request moved its start) are the same session.
    const superseded = new Set((event.supersedes ?? []).map(fnv1a));
    let data!: ClientData;
    const { slots } = withSlot<ClientData>(
      state?.fingerprints,
      fingerprint,
      ts,
      () => ({ sessions: [], requests: 0 }),
      (previous) => {
        const newest = Math.max(ts, ...previous.sessions.map(([, t]) => t));
        const others = previous.sessions.filter(([s]) => s !== id && !superseded.has(s));
        const own: SessionEntry = [id, ts, event.session.requestCount, event.session.authAttempts];
        const sessions = [...others, own]
          .filter(([, t]) => t > newest - config.windowMs)
          .sort((a, b) => a[1] - b[1])
          .slice(-config.maxSessions);
        data = { ...previous, sessions, requests: previous.requests + 1 };
        return data;
      },
      config.maxFingerprints,
    );

    const sessions = data.sessions.length;
    const short = data.sessions.filter(([, , n]) => n <= config.shortSessionRequests).length;
    const withLogin = data.sessions.filter(([, , , a]) => a > 0).length;
    const shortShare = short / sessions;
    const loginShare = withLogin / sessions;
    const verdict: 'bot' | 'clean' | undefined =
      sessions >= config.minSessions &&
      shortShare >= config.minShortShare &&
      loginShare >= config.minLoginShare
        ? 'bot'
        : data.requests >= config.minJudgedRequests
          ? 'clean'
          : undefined;
    const { vote, memory } = castVote(data, verdict, ts, config.repeatVoteMs, () => ({
      score: Math.min(1, sessions / (config.minSessions * 2)) * shortShare,
      evidence: [
        {
          metric: 'sessions',
          value: sessions,
          threshold: config.minSessions,
          detail: `last ${config.windowMs} ms, one fingerprint`,
        },
        {
          metric: 'short_session_share',
          value: Number(shortShare.toFixed(4)),
          threshold: config.minShortShare,
          detail: `≤ ${config.shortSessionRequests} requests`,
        },
        {
          metric: 'login_session_share',
          value: Number(loginShare.toFixed(4)),
          threshold: config.minLoginShare,
        },
      ],
    }));
    const fingerprints = slots.map((slot) =>
      slot.id === fingerprint ? { ...slot, data: { ...data, ...memory } } : slot,
    );
    return { state: { fingerprints }, ...(vote ? { vote } : {}) };
  },
});
