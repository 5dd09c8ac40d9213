/**
 * The simulation: every actor's script, merged into one stream in event-time order. Actors are
 * started lazily when the merge reaches their start time and dropped when they finish, so
 * memory follows the number of concurrently active actors, not the number of events: a run of
 * millions of requests is iterated, never held.
 */
import {
  BOT_SCENARIOS,
  type BotCampaign,
  type Label,
  type SimulatedRequest,
  type SimulationOptions,
} from './simulation.types';
import type { AccountBook, ActorContext } from './actor';
import { BOT_SCRIPTS, LONG_RUNNING, SCENARIO_BOT_TYPE } from './bots';
import { BrowserVersions } from './clients';
import { humanScript, pickPersona } from './humans';
import { deriveSeed, Rng } from './rng';
import { Site } from './site';
import { password, userName } from './vocabulary';

export const DEFAULT_APP = 'shop.example';

interface ActorPlan {
  actor: string;
  start: number;
  /** Position in the plan: breaks ties between actors at the same event time. */
  order: number;
  bot?: { scenario: BotCampaign['scenario']; spoof: boolean };
}

/** The site's accounts: account i's name and password derive from the seed and i. */
export function accountBook(seed: number, size: number): AccountBook {
  return {
    size,
    account(i: number) {
      const rng = Rng.derive(seed, `account:${i}`);
      return { username: userName(rng), password: password(rng) };
    },
  };
}

export function checkOptions(options: SimulationOptions): void {
  const fail = (what: string) => {
    throw new Error(`Invalid simulation options: ${what}.`);
  };
  if (!Number.isInteger(options.seed)) fail(`seed must be an integer (got ${options.seed})`);
  if (!Number.isInteger(options.start) || options.start < 0)
    fail(`start must be epoch milliseconds (got ${options.start})`);
  if (!(options.durationMs > 0)) fail(`durationMs must be positive (got ${options.durationMs})`);
  if (!Number.isInteger(options.humans) || options.humans < 0)
    fail(`humans must be a non-negative integer (got ${options.humans})`);
  for (const campaign of options.bots) {
    if (!BOT_SCENARIOS.includes(campaign.scenario))
      fail(
        `unknown bot scenario "${String(campaign.scenario)}" (one of: ${BOT_SCENARIOS.join(', ')})`,
      );
    if (!Number.isInteger(campaign.count) || campaign.count < 0)
      fail(`count of ${campaign.scenario} must be a non-negative integer`);
  }
}

/** Start time of an actor: a stable hash, so adding actors does not move the others. */
function startOf(seed: number, actor: string, from: number, span: number): number {
  const unit = (deriveSeed(seed, `start:${actor}`) >>> 0) / 2 ** 32;
  return Math.floor(from + unit * span);
}

function plan(options: SimulationOptions): ActorPlan[] {
  const { seed, start, durationMs } = options;
  const actors: ActorPlan[] = [];
  for (let i = 0; i < options.humans; i++) {
    const actor = `human-${i}`;
    actors.push({ actor, start: startOf(seed, actor, start, durationMs), order: 0 });
  }
  const seen = new Map<string, number>();
  for (const campaign of options.bots) {
    const name = `bot-${campaign.scenario}${campaign.spoofUserAgent ? '-spoofed' : ''}`;
    for (let k = 0; k < campaign.count; k++) {
      const n = seen.get(name) ?? 0;
      seen.set(name, n + 1);
      const actor = `${name}-${n}`;
      const span = LONG_RUNNING.has(campaign.scenario) ? durationMs / 20 : (durationMs * 4) / 5;
      actors.push({
        actor,
        start: startOf(seed, actor, start, span),
        order: 0,
        bot: { scenario: campaign.scenario, spoof: campaign.spoofUserAgent ?? false },
      });
    }
  }
  actors.forEach((a, i) => (a.order = i));
  return actors.sort((a, b) => a.start - b.start || a.order - b.order);
}

interface Running {
  ts: number;
  order: number;
  next: SimulatedRequest;
  script: Iterator<SimulatedRequest>;
  actor: string;
}

/** A binary min-heap on (event time, actor order). */
class Merge {
  private readonly heap: Running[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Running | undefined {
    return this.heap[0];
  }

  push(item: Running): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): Running | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Running, b: Running) => a.ts < b.ts || (a.ts === b.ts && a.order < b.order);

/**
 * The simulated traffic, in event-time order (ties in a fixed actor order): deterministic for a
 * seed and options, lazy, and labelled request by request.
 */
export function* simulate(options: SimulationOptions): Generator<SimulatedRequest> {
  checkOptions(options);
  const { seed } = options;
  const end = options.start + options.durationMs;
  const site = new Site(Rng.derive(seed, 'site'), options.app ?? DEFAULT_APP);
  const versions = new BrowserVersions(options.start);
  const accounts = accountBook(seed, Math.max(1_000, options.humans));
  const actors = plan(options);
  const merge = new Merge();
  let waiting = 0;

  const launch = (p: ActorPlan) => {
    const rng = Rng.derive(seed, p.actor);
    let label: Label;
    if (p.bot) {
      label = {
        kind: 'bot',
        scenario: p.bot.scenario,
        botType: SCENARIO_BOT_TYPE[p.bot.scenario],
        spoofedUserAgent: p.bot.spoof,
      };
    } else {
      label = { kind: 'human', persona: pickPersona(rng) };
    }
    let n = 0;
    const ctx: ActorContext = {
      rng,
      site,
      versions,
      start: p.start,
      end,
      periodStart: options.start,
      label,
      actor: p.actor,
      accounts,
      nextId: () => `${seed}:${p.actor}:${n++}`,
    };
    const script = (p.bot ? BOT_SCRIPTS[p.bot.scenario](ctx) : humanScript(ctx))[Symbol.iterator]();
    advance({ ts: p.start, order: p.order, script, actor: p.actor, next: undefined! });
  };

  const advance = (running: Running) => {
    const step = running.script.next();
    if (step.done || step.value.input.ts >= end) return;
    if (step.value.input.ts < running.ts && running.next !== undefined)
      throw new Error(
        `simulator bug: ${running.actor} went back in time (${step.value.input.ts} after ${running.ts})`,
      );
    running.ts = step.value.input.ts;
    running.next = step.value;
    merge.push(running);
  };

  for (;;) {
    // Start every actor whose start time the merge has reached.
    while (
      waiting < actors.length &&
      (merge.size === 0 || actors[waiting].start <= merge.peek()!.ts)
    )
      launch(actors[waiting++]);
    const top = merge.pop();
    if (!top) {
      if (waiting >= actors.length) return;
      continue;
    }
    const request = top.next;
    advance(top);
    yield request;
  }
}
