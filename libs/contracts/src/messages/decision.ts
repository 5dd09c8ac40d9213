/**
 * moat.decisions.v1 (compacted): what the edge enforces for a source. Key: the IP or CIDR,
 * exactly as `subject`; a null value (tombstone) lifts the decision. Scoring publishes a
 * tombstone when a decision expires (in event time) or a manual entry is removed, and at most
 * one decision per source: a repeat offender's decision is extended (same createdAt, later
 * expiresAt), not duplicated.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BotTypeSchema, DecisionActionSchema, DetectorIdSchema, EpochMs } from './common';
import { EvidenceSchema } from './vote';

export const DecisionSchema = Type.Object(
  {
    v: Type.Literal(1),
    /** An IPv4/IPv6 address or CIDR. */
    subject: Type.String({
      minLength: 2,
      maxLength: 49,
      pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$',
    }),
    action: DecisionActionSchema,
    source: Type.Union([Type.Literal('auto'), Type.Literal('manual')]),
    botTypes: Type.Array(BotTypeSchema),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    detectors: Type.Array(
      Type.Object(
        {
          detector: DetectorIdSchema,
          weight: Type.Number({ minimum: 0 }),
          evidence: Type.Array(EvidenceSchema, { maxItems: 16 }),
        },
        { additionalProperties: false },
      ),
    ),
    profile: Type.String({ maxLength: 128 }),
    app: Type.Optional(Type.String({ maxLength: 253 })),
    /** Event time the decision was first taken; an extension keeps it. */
    createdAt: EpochMs,
    /** Event time it ends (NO_EXPIRY for a manual entry without expiry). */
    expiresAt: EpochMs,
    /** Event time of the latest change (extension, escalation); absent means createdAt. */
    updatedAt: Type.Optional(EpochMs),
    /** The operator's note on a manual decision. */
    note: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  {
    $id: 'https://moat.dev/schemas/decision.v1.json',
    title: 'Decision',
    additionalProperties: false,
  },
);
export type Decision = Static<typeof DecisionSchema>;

/** expiresAt of a decision that does not expire (the largest epoch the contracts allow). */
export const NO_EXPIRY = 8.64e15;
