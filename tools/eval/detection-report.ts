/**
 * The detection report (`npm run eval`).
 *
 * 1. Simulator: a labelled population (default: 10,000 people over a day and every bot
 *    scenario, plain and with a spoofed browser User-Agent) is written as the mirror agent's
 *    input and replayed through `moat replay` with the default profile and the calibrated
 *    weights. A bot is one campaign's traffic from one address (decisions are per address): it
 *    is blocked when a decision on its address is in force while it is active there. Measured:
 *    per bot type and per scenario, recall (bots blocked / bots present) and the requests and
 *    seconds each blocked bot got in before the block; for people, the share blocked (false
 *    positives), per person and per address.
 * 2. CrowdSec hub corpus: every test log in ../shared/corpus/crowdsec-hub goes through
 *    `moat replay`; per test, the addresses CrowdSec's own scenario assertions expect to be
 *    flagged against the addresses Moat decides on (and those any detector voted bot on).
 *
 * Nothing is asserted: whatever the run measured is printed and written to docs/DETECTION.md.
 *
 *   npm run eval -- [--seed 7] [--humans 10000] [--bots-per-scenario 1] [--out docs/DETECTION.md]
 *                   [--work-dir /tmp/moat-eval] [--corpus ../shared/corpus/crowdsec-hub] [--reuse]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BOT_TYPES, SENSITIVITIES } from '@moat/contracts';
import { BOT_SCENARIOS, type BotScenario } from '@moat/simulator';
import {
  jsonLines,
  moatReplay,
  percent,
  quantile,
  REPO_ROOT,
  scriptOptions,
  replayPopulation,
  type DecisionLine,
  type ReplaySummary,
  type Unit,
} from './harness';

function parseOptions(argv: string[]) {
  return scriptOptions(argv, {
    seed: 7,
    humans: 10_000,
    botsPerScenario: 1,
    out: join(REPO_ROOT, 'docs', 'DETECTION.md'),
    workDir: join(tmpdir(), 'moat-eval'),
    corpus: join(REPO_ROOT, '..', 'shared', 'corpus', 'crowdsec-hub'),
    /** Reuse the replay output a previous run left in the work dir (re-render the report). */
    reuse: false,
  });
}
type Args = ReturnType<typeof parseOptions>;

/** A unit's fate: when a decision first covered it, and how much it got in before. */
interface Outcome {
  unit: Unit;
  blocked: boolean;
  requestsBefore: number;
  secondsBefore: number;
  /** The decision named the unit's own bot type. */
  typeRight: boolean;
}

interface Decided {
  at: number;
  expires: number;
  botTypes: string[];
}

async function readDecisions(file: string): Promise<Map<string, Decided[]>> {
  const byIp = new Map<string, Decided[]>();
  for await (const line of jsonLines<DecisionLine>(file)) {
    if (line.action !== 'deny' && line.action !== 'graylist') continue;
    const list = byIp.get(line.ip) ?? [];
    list.push({
      at: Date.parse(line.decidedAt),
      expires: Date.parse(line.expiresAt),
      botTypes: line.botTypes,
    });
    byIp.set(line.ip, list);
  }
  for (const list of byIp.values()) list.sort((a, b) => a.at - b.at);
  return byIp;
}

/** The first decision on the unit's address in force while the unit is active there. */
function outcome(unit: Unit, decisions: Map<string, Decided[]>): Outcome {
  const first = unit.times[0];
  const last = unit.times[unit.times.length - 1];
  const hit = decisions.get(unit.ip)?.find((d) => d.at <= last && d.expires > first);
  if (!hit) return { unit, blocked: false, requestsBefore: 0, secondsBefore: 0, typeRight: false };
  const at = Math.max(hit.at, first);
  let before = 0;
  while (before < unit.times.length && unit.times[before] <= at) before++;
  return {
    unit,
    blocked: true,
    requestsBefore: before,
    secondsBefore: (at - first) / 1000,
    typeRight: unit.label.kind === 'bot' && hit.botTypes.includes(unit.label.botType),
  };
}

interface Row {
  name: string;
  campaigns: number;
  bots: number;
  blocked: number;
  typeRight: number;
  requests: number[];
  seconds: number[];
}

function row(name: string, outcomes: Outcome[]): Row {
  const blocked = outcomes.filter((o) => o.blocked);
  return {
    name,
    campaigns: new Set(outcomes.map((o) => o.unit.actor)).size,
    bots: outcomes.length,
    blocked: blocked.length,
    typeRight: blocked.filter((o) => o.typeRight).length,
    requests: blocked.map((o) => o.requestsBefore).sort((a, b) => a - b),
    seconds: blocked.map((o) => o.secondsBefore).sort((a, b) => a - b),
  };
}

const fmt = (n: number, digits = 0) =>
  Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

function rowLine(r: Row): string {
  return `| ${r.name} | ${fmt(r.campaigns)} | ${fmt(r.bots)} | ${fmt(r.blocked)} | **${percent(r.blocked, r.bots)}** | ${percent(r.typeRight, r.blocked)} | ${fmt(quantile(r.requests, 0.5))} | ${fmt(quantile(r.requests, 0.95))} | ${fmt(quantile(r.seconds, 0.5), 1)} | ${fmt(quantile(r.seconds, 0.95), 1)} |`;
}

const ROW_HEAD = [
  '| | campaigns | bots (addresses) | blocked | recall | named its type | requests before block, median | p95 | seconds before block, median | p95 |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

interface SimulatorResult {
  markdown: string;
  console: string;
}

async function simulatorReport(args: Args): Promise<SimulatorResult> {
  // Every vote is kept beside the decisions, for explaining a miss (which detectors voted).
  const { options, index, summary, decisionsFile } = await replayPopulation({
    ...args,
    label: 'eval',
  });
  const decisions = await readDecisions(decisionsFile);

  const outcomes: Outcome[] = [...index.units.values()].map((u) => outcome(u, decisions));
  const botIps = new Set(outcomes.filter((o) => o.unit.label.kind === 'bot').map((o) => o.unit.ip));
  const humans = outcomes.filter((o) => o.unit.label.kind === 'human');
  const people = new Set(humans.map((o) => o.unit.actor));
  // A person behind an address a bot also used is blocked with it: counted, but apart.
  const sharedHumans = humans.filter((o) => botIps.has(o.unit.ip));
  const ownHumans = humans.filter((o) => !botIps.has(o.unit.ip));
  const blockedPeople = new Set(ownHumans.filter((o) => o.blocked).map((o) => o.unit.actor));
  const blockedHumanIps = new Set(ownHumans.filter((o) => o.blocked).map((o) => o.unit.ip));
  const humanIps = new Set(ownHumans.map((o) => o.unit.ip));

  const bots = outcomes.filter((o) => o.unit.label.kind === 'bot');
  const byType = BOT_TYPES.map((type) =>
    row(
      type,
      bots.filter((o) => o.unit.label.kind === 'bot' && o.unit.label.botType === type),
    ),
  );
  const byScenario: Row[] = [];
  for (const scenario of BOT_SCENARIOS as readonly BotScenario[])
    for (const spoofed of [false, true])
      byScenario.push(
        row(
          `${scenario}${spoofed ? ' (spoofed UA)' : ''}`,
          bots.filter(
            (o) =>
              o.unit.label.kind === 'bot' &&
              o.unit.label.scenario === scenario &&
              o.unit.label.spoofedUserAgent === spoofed,
          ),
        ),
      );
  const all = row('all bots', bots);
  const threshold = SENSITIVITIES.medium;

  const lines: string[] = [];
  lines.push(
    `Population: seed ${args.seed}, ${fmt(args.humans)} people (${fmt(index.humanSessions)} sessions: runs of one person's requests with no gap over 30 min), ${fmt(options.bots.reduce((n, b) => n + b.count, 0))} bot campaigns (${BOT_SCENARIOS.length} scenarios × plain and spoofed User-Agent × ${args.botsPerScenario}), ${fmt(index.requests)} requests over ${options.durationMs / 3_600_000} h of event time.`,
    '',
    `Replay: \`moat replay --format mirror\`, all ${Object.keys(summary.votesByDetector).length} detectors, the default profile (every bot type, sensitivity medium = confidence ≥ ${threshold}, deny for 1 h), the calibrated weights (docs/SCORING.md). ${fmt(summary.replayed)} of ${fmt(summary.lines)} lines replayed, ${fmt(summary.events)} session events, ${fmt(summary.votes.bot)} bot and ${fmt(summary.votes.clean)} clean votes, decisions on ${fmt(summary.decidedIps)} addresses; ${fmt(summary.seconds, 0)} s (${fmt(summary.linesPerSecond)} lines/s, ${fmt(summary.cpuSeconds, 0)} s of CPU).`,
    '',
    `Against the aims (recall ≥ 95 % for every bot type, people's false-positive rate ≤ 0.1 %): ${byType
      .map((r) => `${r.name} ${r.bots > 0 && r.blocked / r.bots >= 0.95 ? 'met' : 'not met'}`)
      .join(
        ', ',
      )}; people ${blockedPeople.size / Math.max(1, people.size) <= 0.001 ? 'met' : 'not met'}.`,
    '',
    '### People',
    '',
    '| | present | blocked | false-positive rate |',
    '|---|---:|---:|---:|',
    `| people | ${fmt(people.size)} | ${fmt(blockedPeople.size)} | **${percent(blockedPeople.size, people.size, 2)}** |`,
    `| their addresses | ${fmt(humanIps.size)} | ${fmt(blockedHumanIps.size)} | ${percent(blockedHumanIps.size, humanIps.size, 2)} |`,
    '',
    `${fmt(new Set(sharedHumans.map((o) => o.unit.actor)).size)} people also used an address a bot used (the simulator draws residential addresses at random); a block on such an address is the bot's and is not counted above (${fmt(sharedHumans.filter((o) => o.blocked).length)} such person-addresses were blocked).`,
    '',
    '### Bots by type',
    '',
    "A bot is one campaign's traffic from one address. Recall = bots blocked / bots present. \"Named its type\": the decision listed the bot's true type among its bot types. Requests and seconds before block count from the bot's first request on that address to the decision (0 requests: a decision was already in force when it arrived).",
    '',
    ...ROW_HEAD,
    ...byType.map(rowLine),
    rowLine(all),
    '',
    '### Bots by scenario',
    '',
    ...ROW_HEAD,
    ...byScenario.map(rowLine),
  );

  const consoleLines = [
    `people: ${blockedPeople.size} of ${people.size} blocked (${percent(blockedPeople.size, people.size, 2)}); addresses ${blockedHumanIps.size} of ${humanIps.size}`,
    ...[...byType, all].map(
      (r) =>
        `${r.name.padEnd(36)} recall ${percent(r.blocked, r.bots).padStart(8)} (${r.blocked}/${r.bots}), requests before block median ${fmt(quantile(r.requests, 0.5))} p95 ${fmt(quantile(r.requests, 0.95))}, seconds median ${fmt(quantile(r.seconds, 0.5), 1)} p95 ${fmt(quantile(r.seconds, 0.95), 1)}`,
    ),
  ];
  return { markdown: lines.join('\n'), console: consoleLines.join('\n') };
}

// ---- CrowdSec hub corpus ----

interface CorpusRow {
  test: string;
  scenario: string;
  logType: string;
  summary?: ReplaySummary;
  error?: string;
  expected: Set<string>;
  expectedAlerts: number | undefined;
  decided: Set<string>;
  voted: Map<string, Set<string>>;
}

/** The addresses a hub test's scenario.assert expects in its alerts, and how many alerts. */
export function expectedFromAssert(text: string): { ips: Set<string>; alerts?: number } {
  const ips = new Set<string>();
  for (const m of text.matchAll(/"([^"]+)" in results\[\d+\]\.Overflow\.GetSources\(\)/g))
    ips.add(m[1]);
  for (const m of text.matchAll(/Overflow\.Sources\["([^"]+)"\]/g)) ips.add(m[1]);
  const count = /len\(results\) == (\d+)/.exec(text);
  return { ips, ...(count ? { alerts: Number(count[1]) } : {}) };
}

function yamlValue(text: string, key: string): string {
  return new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

function yamlList(text: string, key: string): string[] {
  const block = new RegExp(`^${key}:\\n((?:- .*\\n?)+)`, 'm').exec(text)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/^- /, '').trim())
    .filter(Boolean);
}

async function corpusReport(args: Args): Promise<string> {
  if (!existsSync(args.corpus)) return `The corpus was not found at ${args.corpus}; nothing run.`;
  const dir = join(args.workDir, 'crowdsec');
  mkdirSync(dir, { recursive: true });
  const rows: CorpusRow[] = [];
  for (const test of readdirSync(args.corpus, { withFileTypes: true })) {
    if (!test.isDirectory()) continue;
    const folder = join(args.corpus, test.name);
    const config = readFileSync(join(folder, 'config.yaml'), 'utf8');
    const assert = readFileSync(join(folder, 'scenario.assert'), 'utf8');
    const { ips, alerts } = expectedFromAssert(assert);
    const logFile = join(folder, yamlValue(config, 'log_file'));
    const r: CorpusRow = {
      test: test.name,
      scenario: yamlList(config, 'scenarios').join(', '),
      logType: yamlValue(config, 'log_type'),
      expected: ips,
      expectedAlerts: alerts,
      decided: new Set(),
      voted: new Map(),
    };
    const decisions = join(dir, `${test.name}.decisions.jsonl`);
    const votes = join(dir, `${test.name}.votes.jsonl`);
    try {
      r.summary = await moatReplay(logFile, ['--out', decisions, '--votes', votes]);
      for (const ip of (await readDecisions(decisions)).keys()) r.decided.add(ip);
      for await (const vote of jsonLines<{ ip: string; detector: string; verdict: string }>(
        votes,
      )) {
        if (vote.verdict !== 'bot') continue;
        const set = r.voted.get(vote.ip) ?? new Set<string>();
        set.add(vote.detector);
        r.voted.set(vote.ip, set);
      }
    } catch (err) {
      r.error = (err as Error).message.split('\n')[0].slice(0, 200);
    }
    rows.push(r);
  }
  rows.sort((a, b) => a.test.localeCompare(b.test));
  const list = (s: Iterable<string>) => [...s].sort().join(', ') || '–';
  const lines = [
    `Source: ${relative(REPO_ROOT, args.corpus) || args.corpus} (the hub's own test fixtures; see its README). Each log goes through \`moat replay\` as it is (format detected from the first line), with the default profile. "Expected" = the source addresses the test's scenario.assert requires in CrowdSec's alerts (none: the assertion is that no alert fires). "Moat decided" = addresses with a deny or graylist decision; "Moat voted" = addresses any detector voted bot on, with the detectors.`,
    '',
    '| test | CrowdSec scenario | log | lines replayed / read | expected | Moat decided | Moat voted (detectors) | agreement |',
    '|---|---|---|---:|---|---|---|---|',
  ];
  let agree = 0;
  for (const r of rows) {
    const replayed = r.summary ? `${r.summary.replayed} / ${r.summary.lines}` : '–';
    const voted =
      [...r.voted.entries()]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([ip, d]) => `${ip} (${[...d].sort().join(', ')})`)
        .join('; ') || '–';
    const same =
      !r.error &&
      r.expected.size === r.decided.size &&
      [...r.expected].every((ip) => r.decided.has(ip));
    if (same) agree++;
    const agreement = r.error
      ? `replay failed: ${r.error}`
      : same
        ? 'same'
        : [...r.expected].some((ip) => r.decided.has(ip))
          ? 'partly'
          : r.expected.size > 0
            ? `missed${r.voted.size > 0 ? ' (voted, below threshold)' : ''}`
            : 'Moat flagged more';
    const skipped =
      r.summary && r.summary.skipped > 0
        ? ` (skipped: ${list(Object.keys(r.summary.skippedByReason))})`
        : '';
    lines.push(
      `| ${r.test} | ${r.scenario} | ${r.logType} | ${replayed}${skipped} | ${list(r.expected)}${r.expectedAlerts === 0 ? ' (no alert)' : ''} | ${list(r.decided)} | ${voted} | ${agreement} |`,
    );
  }
  lines.push(
    '',
    `Moat's decisions match CrowdSec's expected addresses exactly on ${agree} of ${rows.length} tests.`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const simulator = await simulatorReport(args);
  process.stdout.write(`${simulator.console}\n`);
  process.stderr.write('eval: replaying the CrowdSec hub corpus…\n');
  const corpus = await corpusReport(args);
  const doc = [
    '# Detection report',
    '',
    `Written by \`npm run eval\` (tools/eval/detection-report.ts) on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, in ${fmt((Date.now() - started) / 1000)} s. Every number below is what that run measured; rerun it after changing a detector, the weights or the simulator.`,
    '',
    '## Simulator',
    '',
    simulator.markdown,
    '',
    '## CrowdSec hub corpus',
    '',
    corpus,
    '',
  ].join('\n');
  writeFileSync(args.out, doc);
  process.stdout.write(`${corpus.split('\n').slice(-1)[0]}\neval: wrote ${args.out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
