/** Building blocks shared by the message schemas. */
import { Type } from '@sinclair/typebox';
import { BOT_TYPES, DETECTOR_IDS, DECISION_ACTIONS } from '../vocabulary';

/** Event time: milliseconds since the Unix epoch, as the edge saw the request. */
export const EpochMs = Type.Integer({
  minimum: 0,
  maximum: 8.64e15,
  description: 'epoch milliseconds',
});
export const Ip = Type.String({ anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }], maxLength: 45 });
/** A keyed hash (HMAC-SHA256, hex) made by the mirror agent; never the clear value. */
export const KeyedHash = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const Id = Type.String({ minLength: 1, maxLength: 200 });
export const ShortText = Type.String({ maxLength: 2048 });
export const BotTypeSchema = Type.Union(BOT_TYPES.map((t) => Type.Literal(t)));
export const DetectorIdSchema = Type.Union(DETECTOR_IDS.map((d) => Type.Literal(d)));
export const DecisionActionSchema = Type.Union(DECISION_ACTIONS.map((a) => Type.Literal(a)));
