/**
 * The detector weights table: per bot type, the weight of each detector's vote in that type's
 * confidence. The calibrated defaults are in code (default-weights.ts, written by
 * `npm run calibrate`); a weights file (MOAT_WEIGHTS_FILE, replay's --weights) overrides them
 * entry by entry: JSON `{ "scraping": { "request-rate": 0.8, … }, … }`, optionally under a
 * "weights" field next to its provenance. A detector neither table names weighs 1. A wrong
 * table stops the service with an error naming the entry.
 */
import { readFileSync } from 'node:fs';
import { BOT_TYPE_DETECTORS, BOT_TYPES, type BotType, type DetectorId } from '@moat/contracts';
import type { Weights } from './confidence';
import { DEFAULT_WEIGHTS } from './default-weights';

export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsError';
  }
}

/** Validates a weights table; throws a WeightsError naming the first wrong entry. */
export function parseWeights(value: unknown): Weights {
  const table =
    isObject(value) && 'weights' in value && isObject(value.weights) ? value.weights : value;
  if (!isObject(table)) throw new WeightsError('weights: expected an object of bot types');
  const weights: Weights = {};
  for (const [type, row] of Object.entries(table)) {
    if (!(BOT_TYPES as readonly string[]).includes(type)) {
      throw new WeightsError(
        `weights/${type}: unknown bot type; expected one of ${BOT_TYPES.join(', ')}`,
      );
    }
    if (!isObject(row)) throw new WeightsError(`weights/${type}: expected an object of detectors`);
    const members = BOT_TYPE_DETECTORS[type as BotType];
    const out: Partial<Record<DetectorId, number>> = {};
    for (const [detector, weight] of Object.entries(row)) {
      if (!(members as readonly string[]).includes(detector)) {
        throw new WeightsError(
          `weights/${type}/${detector}: not a detector of ${type}; expected one of ${members.join(', ')}`,
        );
      }
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        throw new WeightsError(
          `weights/${type}/${detector}: expected a finite number ≥ 0, got ${JSON.stringify(weight)}`,
        );
      }
      out[detector as DetectorId] = weight;
    }
    weights[type as BotType] = out;
  }
  return weights;
}

/** The calibrated defaults with a table's entries laid over them. */
export function overDefaults(weights: Weights): Weights {
  const merged: Weights = {};
  for (const type of BOT_TYPES) {
    const row = { ...DEFAULT_WEIGHTS[type], ...weights[type] };
    if (Object.keys(row).length > 0) merged[type] = row;
  }
  return merged;
}

/** Reads and validates a weights file; returns it laid over the calibrated defaults. */
export function loadWeights(path: string): Weights {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WeightsError(`cannot read weights file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new WeightsError(`weights file ${path} is not JSON: ${(err as Error).message}`);
  }
  return overDefaults(parseWeights(json));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
