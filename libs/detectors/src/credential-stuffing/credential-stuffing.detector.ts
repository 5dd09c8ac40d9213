/**
 * Credential stuffing: one client — an IP whose request attributes stay the same (User-Agent,
 * header names and order, JA3/JA4, Accept-Language) — trying many different user names, most
 * of them failing. A person mistypes a password two or three times for one account; a NAT of
 * many people shows many fingerprints, each with a login or two.
 *
 * State is per client IP (the events' key, so it stays on one partition and replicas never
 * share it): for at most `maxFingerprints` fingerprints of the IP, the last `maxAttempts` login
 * attempts within `windowMs` of event time as (time, short user-name hash, failed) — a few KB
 * per IP at most, dropped `windowMs` × 2 after the IP's last request.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { clientFingerprint } from '../support/client-fingerprint';
import { withSlot, type Slot } from '../support/session-slots';

export const CredentialStuffingConfig = Type.Object(
  {
    windowMs: Type.Integer({ minimum: 60_000, default: 1_800_000 }),
    /** Login attempts of one fingerprint in the window before it is judged `bot`. */
    minAttempts: Type.Integer({ minimum: 2, default: 10 }),
    /** Distinct user names among them. */
    minDistinctUsernames: Type.Integer({ minimum: 2, default: 5 }),
    /** Share of the attempts that failed. */
    minFailureShare: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    /** Attempts a fingerprint must show before the detector judges it `clean`. */
    minJudged: Type.Integer({ minimum: 1, default: 3 }),
    maxAttempts: Type.Integer({ minimum: 10, maximum: 500, default: 64 }),
    maxFingerprints: Type.Integer({ minimum: 1, maximum: 32, default: 4 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type CredentialStuffingConfig = Static<typeof CredentialStuffingConfig>;

/** [event time, user-name hash prefix ('' when unknown), 1 if failed else 0] */
type Attempt = [number, string, 0 | 1];

interface FingerprintData extends VoteMemory {
  attempts: Attempt[];
  sessions: string[];
}

export interface CredentialStuffingState {
  fingerprints: Slot<FingerprintData>[];
}

export const credentialStuffingDetector = defineDetector<
  CredentialStuffingState,
  typeof CredentialStuffingConfig
>({
  id: 'credential-stuffing',
  summary:
    'Many login attempts with different user names, mostly failing, from one client whose attributes stay stable',
  configSchema: CredentialStuffingConfig,
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => config.windowMs * 2,

  evaluate({ event, state, config }) {
    if (!event.auth) return { state };
    const ts = event.request.ts;
    const fingerprint = clientFingerprint(event);
    let data!: FingerprintData;
    const { slots } = withSlot<FingerprintData>(
      state?.fingerprints,
      fingerprint,
      ts,
      () => ({ attempts: [], sessions: [] }),
      (previous) => {
        const attempt: Attempt = [
          ts,
          event.request.usernameHash?.slice(0, 12) ?? '',
          event.auth!.outcome === 'failure' ? 1 : 0,
        ];
        const newest = Math.max(ts, previous.attempts.at(-1)?.[0] ?? ts);
        const attempts = [...previous.attempts, attempt]
          .filter(([t]) => t > newest - config.windowMs)
          .sort((a, b) => a[0] - b[0])
          .slice(-config.maxAttempts);
        const sessions = [
          ...previous.sessions.filter((s) => s !== event.sessionId),
          event.sessionId,
        ].slice(-8);
        data = { ...previous, attempts, sessions };
        return data;
      },
      config.maxFingerprints,
    );

    const attempts = data.attempts.length;
    const usernames = new Set(data.attempts.map(([, u]) => u).filter((u) => u !== '')).size;
    const failures = data.attempts.filter(([, , f]) => f === 1).length;
    const failureShare = failures / attempts;
    const verdict: 'bot' | 'clean' | undefined =
      attempts >= config.minAttempts &&
      usernames >= config.minDistinctUsernames &&
      failureShare >= config.minFailureShare
        ? 'bot'
        : attempts >= config.minJudged
          ? 'clean'
          : undefined;
    const { vote, memory } = castVote(data, verdict, ts, config.repeatVoteMs, () => ({
      // Half from the breadth of user names, half from the failures.
      score: 0.5 * Math.min(1, usernames / (config.minDistinctUsernames * 2)) + 0.5 * failureShare,
      evidence: [
        {
          metric: 'login_attempts',
          value: attempts,
          threshold: config.minAttempts,
          detail: `last ${config.windowMs} ms, one fingerprint`,
        },
        { metric: 'distinct_usernames', value: usernames, threshold: config.minDistinctUsernames },
        {
          metric: 'login_failure_share',
          value: Number(failureShare.toFixed(4)),
          threshold: config.minFailureShare,
        },
        { metric: 'sessions', value: data.sessions.length, detail: `fingerprint ${fingerprint}` },
      ],
    }));
    const fingerprints = slots.map((slot) =>
      slot.id === fingerprint ? { ...slot, data: { ...data, ...memory } } : slot,
    );
    return { state: { fingerprints }, ...(vote ? { vote } : {}) };
  },
});
