/**
 * Ready-made populations: a realistic mix (many people, every bot scenario plain and spoofed),
 * a site where bots are the majority, and a small smoke run.
 */
import { BOT_SCENARIOS, type BotCampaign, type SimulationOptions } from './simulation.types';

/** 2026-10-05T00:00:00Z: a fixed default start, so a preset yields the same bytes everywhere. */
export const DEFAULT_START = Date.UTC(2026, 9, 5);
const DAY = 86_400_000;

export interface PopulationOptions {
  humans: number;
  /** Campaigns per scenario (and per variant). */
  botsPerScenario: number;
  /** true: every scenario plain and spoofed; false: plain only; 'only': spoofed only. */
  spoof: boolean | 'only';
  start?: number;
  durationMs?: number;
  app?: string;
}

export function population(seed: number, options: PopulationOptions): SimulationOptions {
  const bots: BotCampaign[] = [];
  for (const scenario of BOT_SCENARIOS) {
    if (options.spoof !== 'only') bots.push({ scenario, count: options.botsPerScenario });
    if (options.spoof)
      bots.push({ scenario, count: options.botsPerScenario, spoofUserAgent: true });
  }
  return {
    seed,
    start: options.start ?? DEFAULT_START,
    durationMs: options.durationMs ?? DAY,
    humans: options.humans,
    bots,
    ...(options.app ? { app: options.app } : {}),
  };
}

export const PRESETS = {
  /** 10,000 people over a day and one campaign of every scenario, plain and spoofed. */
  standard: (seed: number) => population(seed, { humans: 10_000, botsPerScenario: 1, spoof: true }),
  /** A site under attack: bots send most of the requests. */
  'bot-majority': (seed: number) =>
    population(seed, { humans: 300, botsPerScenario: 3, spoof: true, durationMs: DAY / 4 }),
  /** Three days, so persistent and low-and-slow campaigns show their shape. */
  'multi-day': (seed: number) =>
    population(seed, { humans: 3_000, botsPerScenario: 1, spoof: true, durationMs: 3 * DAY }),
  /** A few sessions of each kind in an hour: quick checks and examples. */
  smoke: (seed: number) =>
    population(seed, { humans: 40, botsPerScenario: 1, spoof: true, durationMs: DAY / 24 }),
} as const;
export type PresetName = keyof typeof PRESETS;
