/** Resolves a detector's configuration: schema defaults, overridden by validated user values. */
import Ajv, { type ValidateFunction } from 'ajv';
import { Value } from '@sinclair/typebox/value';
import type { Static, TSchema } from '@sinclair/typebox';
import { describeSchemaError } from '@moat/contracts';
import type { AnyDetector } from './detector';

const ajv = new Ajv({ strict: true, allErrors: false });
const validators = new Map<string, ValidateFunction>();

export function resolveDetectorConfig(
  detector: AnyDetector,
  overrides: unknown = {},
): Static<TSchema> {
  const config: unknown = Value.Default(detector.configSchema, Value.Clone(overrides ?? {}));
  let validate = validators.get(detector.id);
  if (!validate) validators.set(detector.id, (validate = ajv.compile(detector.configSchema)));
  if (!validate(config)) {
    throw new Error(
      `Invalid configuration for detector ${detector.id}: ${describeSchemaError(validate.errors)}.`,
    );
  }
  return config;
}
