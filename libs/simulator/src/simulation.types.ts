/**
 * The simulator's contract (agreed before it is written, so that detectors can be tested
 * against it): a deterministic, time-ordered stream of labelled requests as an edge would
 * report them to the mirror agent, plus helpers that turn them into the records and session
 * events the pipeline produces.
 */
import type { BotType } from '@moat/contracts';
import type { MirrorInput } from '@moat/mirror-service';

/** Every scenario the simulator can play; each bot scenario also exists with a spoofed browser UA. */
export const BOT_SCENARIOS = [
  // security crawlers
  'scanner-paths',
  'not-found-storm',
  // scraping
  'catalogue-enumeration',
  'slow-drip-scraper',
  'distributed-scraper',
  'legacy-browser-scraper',
  // account takeover
  'credential-stuffing',
  'low-frequency-stuffing',
  'ip-rotation',
  'session-rotation',
  'persistent-ato',
  // unrestricted resource consumption
  'expensive-endpoint',
  'huge-payload',
  'huge-download',
  'flood',
  // suspicious API activity
  'odd-sequence',
  'critical-endpoint-abuse',
] as const;
export type BotScenario = (typeof BOT_SCENARIOS)[number];

export type Label =
  | { kind: 'human'; persona: string }
  | { kind: 'bot'; scenario: BotScenario; botType: BotType; spoofedUserAgent: boolean };

export interface SimulatedRequest {
  /**
   * What the edge sends to the mirror agent (clear-text headers included). `body` is the
   * request body when it matters to detection (login, signup and reset forms carry the user
   * name, which the mirror agent hashes); it is optional in MirrorInput.
   */
  input: MirrorInput & { ts: number; id: string; body?: string };
  label: Label;
  /** The actor (one human or one bot campaign) that sent it; stable across its IPs and sessions. */
  actor: string;
}

export interface BotCampaign {
  scenario: BotScenario;
  /** How many independent campaigns of this scenario to run. */
  count: number;
  /** Use a current desktop/mobile browser User-Agent and browser-like headers. */
  spoofUserAgent?: boolean;
}

export interface SimulationOptions {
  seed: number;
  /** Event time of the simulation start (epoch ms). */
  start: number;
  /** Length of the simulated period; actors start at random times within it. */
  durationMs: number;
  humans: number;
  bots: BotCampaign[];
  /** Application name (Host header) of the simulated site. */
  app?: string;
}
