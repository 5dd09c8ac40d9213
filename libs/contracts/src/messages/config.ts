/**
 * moat.config.v1 (compacted): live configuration every service follows. Key: `<kind>:<name>`
 * (`profile:<profile name>`, `manual-decision:<IP or CIDR>`, see `configKey`); a null value
 * deletes the entry.
 *
 * The entry schema dispatches on `kind` (JSON Schema if/then) rather than being a plain union,
 * so that a validation error names the failing field of the entry's own kind — a union would
 * report every manual entry's mistake against the profile branch.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BOT_TYPES, DECISION_ACTIONS, type BotType, type DecisionAction } from '../vocabulary';
import { EpochMs } from './common';

/**
 * Named sensitivities and the confidence threshold each stands for. Higher sensitivity reacts
 * to less agreement among the detectors: `paranoid` acts when 30 % of the votes possible in a
 * bot type are bot votes, `low` only at 90 %.
 */
export const SENSITIVITIES = { low: 0.9, medium: 0.7, high: 0.5, paranoid: 0.3 } as const;
export type Sensitivity = keyof typeof SENSITIVITIES;

export const PROFILE_REACTIONS = ['monitor', 'graylist', 'deny'] as const;
export type ProfileReaction = (typeof PROFILE_REACTIONS)[number];

/**
 * An application name or glob (`*` matches any run of characters): host names, ports, IPv6
 * literals in brackets, `_`. No spaces, commas or other characters a Host header cannot hold.
 */
export const APPLICATION_PATTERN = '^[A-Za-z0-9*._:\\[\\]-]+$';

/** A bot type as an enum, so an unknown type fails with "must be equal to one of the allowed values". */
const BotTypeEnum = Type.Unsafe<BotType>({ type: 'string', enum: [...BOT_TYPES] });

export const ProfileSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9._-]+$' }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    botTypes: Type.Array(BotTypeEnum, { minItems: 1, uniqueItems: true }),
    /**
     * The named sensitivity the threshold was set from, when it was; `threshold` must then be
     * that sensitivity's value (SENSITIVITIES). Consumers only need `threshold`.
     */
    sensitivity: Type.Optional(
      Type.Unsafe<Sensitivity>({
        type: 'string',
        enum: Object.keys(SENSITIVITIES),
      }),
    ),
    /** Confidence a bot type must reach for this profile to react, in (0, 1]. */
    threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    reaction: Type.Unsafe<ProfileReaction>({ type: 'string', enum: [...PROFILE_REACTIONS] }),
    durationMs: Type.Integer({ minimum: 1000 }),
    /** Application names or glob patterns (`*` matches any run of characters). */
    applications: Type.Array(
      Type.String({ minLength: 1, maxLength: 253, pattern: APPLICATION_PATTERN }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export const ProfileEntrySchema = Type.Object(
  {
    v: Type.Literal(1),
    kind: Type.Literal('profile'),
    /** When the entry was written (epoch ms). */
    updatedAt: EpochMs,
    profile: ProfileSchema,
  },
  { additionalProperties: false },
);

export const ManualDecisionEntrySchema = Type.Object(
  {
    v: Type.Literal(1),
    kind: Type.Literal('manual-decision'),
    updatedAt: EpochMs,
    /** An IPv4/IPv6 address or CIDR, in canonical form (the config key repeats it). */
    subject: Type.String({
      minLength: 2,
      maxLength: 49,
      pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$',
    }),
    action: Type.Unsafe<DecisionAction>({ type: 'string', enum: [...DECISION_ACTIONS] }),
    /** Absent: in force until the entry is deleted. */
    expiresAt: Type.Optional(EpochMs),
    note: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const CONFIG_KINDS = ['profile', 'manual-decision'] as const;
export type ConfigKind = (typeof CONFIG_KINDS)[number];

export type Profile = Static<typeof ProfileSchema>;
export type ProfileEntry = Static<typeof ProfileEntrySchema>;
export type ManualDecisionEntry = Static<typeof ManualDecisionEntrySchema>;
export type ConfigEntry = ProfileEntry | ManualDecisionEntry;

export const ConfigEntrySchema = Type.Unsafe<ConfigEntry>({
  $id: 'https://moat.dev/schemas/config.v1.json',
  title: 'ConfigEntry',
  type: 'object',
  required: ['v', 'kind'],
  properties: {
    v: { const: 1 },
    kind: { type: 'string', enum: [...CONFIG_KINDS] },
  },
  allOf: [
    {
      if: { type: 'object', properties: { kind: { const: 'profile' } } },
      then: ProfileEntrySchema,
    },
    {
      if: { type: 'object', properties: { kind: { const: 'manual-decision' } } },
      then: ManualDecisionEntrySchema,
    },
  ],
});

/** The key an entry must be published under on moat.config.v1. */
export function configKey(entry: ConfigEntry): string {
  return entry.kind === 'profile'
    ? `profile:${entry.profile.name}`
    : `manual-decision:${entry.subject}`;
}

/** The kind a config key names, or undefined when it is none of ours. */
export function configKindOf(key: string): ConfigKind | undefined {
  return CONFIG_KINDS.find((kind) => key.startsWith(`${kind}:`));
}
