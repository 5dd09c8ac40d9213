/**
 * moat.config.v1 (compacted): live configuration every service follows. Key: `<kind>:<name>`;
 * a null value deletes the entry.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BotTypeSchema, DecisionActionSchema, EpochMs } from './common';

export const ProfileSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9._-]+$' }),
    botTypes: Type.Array(BotTypeSchema, { minItems: 1, uniqueItems: true }),
    /** Confidence a bot type must reach for this profile to react, in (0, 1]. */
    threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    reaction: Type.Union([Type.Literal('monitor'), Type.Literal('graylist'), Type.Literal('deny')]),
    durationMs: Type.Integer({ minimum: 1000 }),
    /** Application names or glob patterns (`*` matches any run of characters). */
    applications: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const ConfigEntrySchema = Type.Union(
  [
    Type.Object(
      {
        v: Type.Literal(1),
        kind: Type.Literal('profile'),
        updatedAt: EpochMs,
        profile: ProfileSchema,
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        v: Type.Literal(1),
        kind: Type.Literal('manual-decision'),
        updatedAt: EpochMs,
        subject: Type.String({ minLength: 2, maxLength: 49 }),
        action: DecisionActionSchema,
        expiresAt: Type.Optional(EpochMs),
        note: Type.Optional(Type.String({ maxLength: 1024 })),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: 'https://moat.dev/schemas/config.v1.json', title: 'ConfigEntry' },
);
export type Profile = Static<typeof ProfileSchema>;
export type ConfigEntry = Static<typeof ConfigEntrySchema>;
