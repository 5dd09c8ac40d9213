/**
 * How well the suspicious behavior score separates bots from people, on held-out data.
 *
 * 1. Train: the detector runs over a simulated population (seed A) as the detector service
 *    would — events in order, state per client IP, the baseline learned from what the detector
 *    observes and refreshed every 500 events.
 * 2. Evaluate: the learned model is frozen and the detector scores a second population drawn
 *    with another seed (B), which it has never seen. Each session judged (at least `minRequests`
 *    requests) gets its highest score; bots are positives, people negatives.
 * 3. Print the ROC AUC (Mann–Whitney, ties counted half), ROC points, the operating point of the
 *    detector's own learned threshold, and what share of each scenario's sessions it flags.
 *
 * Nothing here is asserted: the numbers are measured and printed.
 *
 *   npm run eval:behavior -- [--seed-train 101] [--seed-eval 202] [--humans 4000]
 */
import { LocalBaseline, refineThreshold } from '@moat/baselines';
import {
  resolveDetectorConfig,
  suspiciousBehaviorScoreDetector,
  type SuspiciousBehaviorScoreConfig,
  type SuspiciousBehaviorScoreState,
} from '@moat/detectors';
import { collectSessionEvents, population, simulate, type LabelledEvent } from '@moat/simulator';

interface Args {
  seedTrain: number;
  seedEval: number;
  humans: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seedTrain: 101, seedEval: 202, humans: 4_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`${argv[i]} needs a non-negative integer, got "${argv[i + 1]}".`);
    if (argv[i] === '--seed-train') args.seedTrain = value;
    else if (argv[i] === '--seed-eval') args.seedEval = value;
    else if (argv[i] === '--humans') args.humans = value;
    else throw new Error(`Unknown option ${argv[i]}; use --seed-train, --seed-eval, --humans.`);
  }
  return args;
}

const detector = suspiciousBehaviorScoreDetector;

interface SessionScore {
  label: 'bot' | 'human';
  group: string;
  /** Highest score while judged (what a vote reacts to). */
  score: number;
  /** Score at the session's last judged request. */
  final: number;
}

/** Runs the detector over events; learns only when `learn`. Returns each judged session's peak. */
function run(
  events: readonly LabelledEvent[],
  baseline: LocalBaseline,
  config: SuspiciousBehaviorScoreConfig,
  learn: boolean,
): { sessions: Map<string, SessionScore>; seen: Map<string, string> } {
  const states = new Map<string, SuspiciousBehaviorScoreState | undefined>();
  const sessions = new Map<string, SessionScore>();
  const seen = new Map<string, string>(); // every session and its group, judged or not
  events.forEach(({ event, label }, i) => {
    if (learn && i % 500 === 0) baseline.refresh();
    const group =
      label.kind === 'bot'
        ? `${label.scenario}${label.spoofedUserAgent ? '~spoofed' : ''}`
        : 'human';
    seen.set(event.sessionId, group);
    const key = detector.stateKey(event)!;
    const result = detector.evaluate({
      event,
      state: states.get(key),
      baseline: baseline.view(event.request.app),
      config,
    });
    const state = result.state as SuspiciousBehaviorScoreState | undefined;
    states.set(key, state);
    if (learn && result.observations)
      baseline.learn(event.request.app, event.request.ts, result.observations);
    const slot = state?.sessions.find((s) => s.id === event.sessionId);
    if (slot?.data.peak !== undefined) {
      sessions.set(event.sessionId, {
        label: label.kind === 'bot' ? 'bot' : 'human',
        group,
        score: slot.data.peak,
        final: slot.data.score ?? slot.data.peak,
      });
    }
  });
  return { sessions, seen };
}

/** ROC AUC by the Mann–Whitney U statistic (ties count half). */
export function rocAuc(scores: readonly SessionScore[]): number {
  const sorted = [...scores].sort((a, b) => a.score - b.score);
  let rankSumBots = 0;
  let bots = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && sorted[j].score === sorted[i].score) j++;
    const rank = (i + 1 + j) / 2; // average rank of the tie group (1-based)
    for (let k = i; k < j; k++) {
      if (sorted[k].label !== 'bot') continue;
      rankSumBots += rank;
      bots++;
    }
    i = j;
  }
  const humans = sorted.length - bots;
  if (bots === 0 || humans === 0) return NaN;
  return (rankSumBots - (bots * (bots + 1)) / 2) / (bots * humans);
}

function rocPoints(scores: readonly SessionScore[], count = 20): [number, number, number][] {
  const bots = scores.filter((s) => s.label === 'bot').length;
  const humans = scores.length - bots;
  const values = [...new Set(scores.map((s) => s.score))].sort((a, b) => a - b);
  const points: [number, number, number][] = [];
  for (let k = 0; k <= count; k++) {
    const threshold =
      values[Math.min(values.length - 1, Math.floor((k / count) * (values.length - 1)))];
    const tp = scores.filter((s) => s.label === 'bot' && s.score >= threshold).length;
    const fp = scores.filter((s) => s.label === 'human' && s.score >= threshold).length;
    points.push([threshold, fp / humans, tp / bots]);
  }
  return points;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = resolveDetectorConfig(detector, {}) as SuspiciousBehaviorScoreConfig;
  const options = { humans: args.humans, botsPerScenario: 1, spoof: true } as const;
  const started = Date.now();
  const train = await collectSessionEvents(simulate(population(args.seedTrain, options)), {
    secret: 'behavior-eval',
  });
  const held = await collectSessionEvents(simulate(population(args.seedEval, options)), {
    secret: 'behavior-eval',
  });
  const baseline = new LocalBaseline(detector.baseline!);
  run(train, baseline, config, true);
  baseline.refresh();
  const { sessions, seen } = run(held, baseline, config, false);
  const scores = [...sessions.values()];

  const view = baseline.view(held[0].event.request.app);
  const threshold = refineThreshold(view, {
    metric: 'session_score',
    prior: config.prior,
    quantile: config.quantile,
    factor: config.factor,
    min: config.floor,
    max: config.ceiling,
    minObservations: config.minBaselineSessions,
  });

  const out: string[] = [];
  out.push(
    `suspicious-behavior-score: trained on seed ${args.seedTrain} (${train.length} events), evaluated on held-out seed ${args.seedEval} (${held.length} events); ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  out.push(
    `model: ${view?.count('arrival') ?? 0} steps learned; threshold ${threshold.value.toFixed(2)} (${threshold.source}${threshold.baseline !== undefined ? `, learned q${config.quantile} = ${threshold.baseline}` : ''})`,
  );
  const totals = new Map<string, [number, number]>();
  for (const group of seen.values()) {
    const t = totals.get(group) ?? [0, 0];
    t[0] += 1;
    totals.set(group, t);
  }
  for (const s of scores) totals.get(s.group)![1] += 1;
  const bots = scores.filter((s) => s.label === 'bot');
  const humans = scores.filter((s) => s.label === 'human');
  out.push(
    `judged sessions (>= ${config.minRequests} requests): ${humans.length} human of ${totals.get('human')?.[0] ?? 0}, ${bots.length} bot of ${[...totals].filter(([g]) => g !== 'human').reduce((n, [, t]) => n + t[0], 0)}`,
  );
  out.push(`ROC AUC (held-out, per judged session, peak score): ${rocAuc(scores).toFixed(4)}`);
  out.push(
    `ROC AUC (held-out, per judged session, score at its last request): ${rocAuc(scores.map((s) => ({ ...s, score: s.final }))).toFixed(4)}`,
  );
  out.push('ROC points (score threshold, false-positive rate, true-positive rate):');
  for (const [t, fpr, tpr] of rocPoints(scores))
    out.push(
      `  ${t.toFixed(2).padStart(8)}  FPR ${pct(fpr).padStart(8)}  TPR ${pct(tpr).padStart(8)}`,
    );
  const humanPeaks = humans.map((s) => s.score).sort((a, b) => a - b);
  const at = (q: number) =>
    humanPeaks[Math.min(humanPeaks.length - 1, Math.floor(q * humanPeaks.length))];
  out.push(
    `human peak scores: median ${at(0.5)?.toFixed(2)}, p99 ${at(0.99)?.toFixed(2)}, p99.9 ${at(0.999)?.toFixed(2)}, max ${humanPeaks.at(-1)?.toFixed(2)}`,
  );
  const fp = humans.filter((s) => s.score > threshold.value).length;
  const tp = bots.filter((s) => s.score > threshold.value).length;
  out.push(
    `at the detector's threshold ${threshold.value.toFixed(2)}: FPR ${pct(fp / Math.max(1, humans.length))} (${fp} human sessions), TPR ${pct(tp / Math.max(1, bots.length))}`,
  );
  out.push('per scenario (judged / sessions, flagged at the threshold, median peak score):');
  for (const [group, [all, judged]] of [...totals].sort()) {
    const g = scores
      .filter((s) => s.group === group)
      .map((s) => s.score)
      .sort((a, b) => a - b);
    const flagged = g.filter((x) => x > threshold.value).length;
    const med = g.length > 0 ? g[Math.floor(g.length / 2)].toFixed(1) : '-';
    out.push(
      `  ${group.padEnd(32)} ${String(judged).padStart(6)} / ${String(all).padEnd(6)} flagged ${String(flagged).padStart(5)}  median ${med}`,
    );
  }
  console.log(out.join('\n'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
