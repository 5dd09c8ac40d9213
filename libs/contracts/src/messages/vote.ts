/**
 * moat.votes.v1: a detector's judgement of a subject. `bot` counts towards every bot type the
 * detector serves; `clean` records that the detector worked (had enough data) and found nothing,
 * which is what makes confidence = votes gained / votes possible. Key: subject IP.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DetectorIdSchema, EpochMs, Id, Ip } from './common';

export const EvidenceSchema = Type.Object(
  {
    metric: Type.String({ maxLength: 128 }),
    value: Type.Number(),
    threshold: Type.Optional(Type.Number()),
    baseline: Type.Optional(Type.Number()),
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const VoteSchema = Type.Object(
  {
    v: Type.Literal(1),
    /** Deterministic (detector + triggering event), so a replayed batch does not double-count. */
    id: Id,
    detector: DetectorIdSchema,
    ts: EpochMs,
    app: Type.String({ minLength: 1, maxLength: 253 }),
    ip: Ip,
    sessionId: Type.Optional(Id),
    verdict: Type.Union([Type.Literal('bot'), Type.Literal('clean')]),
    /** Strength of the vote in [0, 1]. */
    score: Type.Number({ minimum: 0, maximum: 1 }),
    evidence: Type.Array(EvidenceSchema, { maxItems: 16 }),
    eventId: Id,
  },
  { $id: 'https://moat.dev/schemas/vote.v1.json', title: 'Vote', additionalProperties: false },
);
export type Vote = Static<typeof VoteSchema>;
export type Evidence = Static<typeof EvidenceSchema>;
