/**
 * What the evaluation scripts share: writing a simulated population as the mirror agent's input
 * while indexing its ground truth per client, running `moat replay` over a log as a user would
 * (a child process of the built CLI), replaying a population with its output kept for --reuse,
 * and reading its decision and vote lines back.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { population, simulate, type Label, type SimulationOptions } from '@moat/simulator';

const ROOT = join(__dirname, '..', '..', '..');
export const MOAT_CLI = join(ROOT, 'apps', 'cli', 'bin', 'moat.js');
export const REPO_ROOT = ROOT;

/** One actor's traffic from one address: the unit a decision (keyed by IP) can block. */
export interface Unit {
  actor: string;
  ip: string;
  label: Label;
  /** Event times of its requests, in order. */
  times: number[];
}

export interface PopulationIndex {
  requests: number;
  /** `${actor} ${ip}` → unit. */
  units: Map<string, Unit>;
  /** ip → the units behind it (more than one when actors share an address). */
  byIp: Map<string, Unit[]>;
  /** Human sessions: runs of one person's requests with no gap longer than the inactivity. */
  humanSessions: number;
}

/** Writes the population as mirror-agent input (one JSON line per request); indexes its labels. */
export async function writePopulation(
  options: SimulationOptions,
  file: string,
  inactivityMs = 30 * 60_000,
): Promise<PopulationIndex> {
  const out = createWriteStream(file);
  const units = new Map<string, Unit>();
  const byIp = new Map<string, Unit[]>();
  const lastByHuman = new Map<string, number>();
  let humanSessions = 0;
  let requests = 0;
  let chunk = '';
  for (const request of simulate(options)) {
    requests++;
    const { input, actor, label } = request;
    const key = `${actor} ${input.ip}`;
    let unit = units.get(key);
    if (!unit) {
      unit = { actor, ip: input.ip, label, times: [] };
      units.set(key, unit);
      const shared = byIp.get(input.ip);
      if (shared) shared.push(unit);
      else byIp.set(input.ip, [unit]);
    }
    unit.times.push(input.ts);
    if (label.kind === 'human') {
      const last = lastByHuman.get(actor);
      if (last === undefined || input.ts - last > inactivityMs) humanSessions++;
      lastByHuman.set(actor, input.ts);
    }
    chunk += `${JSON.stringify(input)}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return { requests, units, byIp, humanSessions };
}

/** The JSON summary `moat replay --summary json` prints on stderr (the fields read here). */
export interface ReplaySummary {
  format: string;
  lines: number;
  replayed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  clients: number;
  events: number;
  votes: { bot: number; clean: number };
  votesByDetector: Record<string, { bot: number; clean: number }>;
  decisionsWritten: number;
  decidedIps: number;
  seconds: number;
  cpuSeconds: number;
  linesPerSecond: number;
}

/** Runs `moat replay <log> --summary json …args`; resolves with its summary, rejects on failure. */
export async function moatReplay(log: string, args: string[]): Promise<ReplaySummary> {
  const child = spawn(process.execPath, [MOAT_CLI, 'replay', log, '--summary', 'json', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      MOAT_HASH_SECRET: process.env.MOAT_HASH_SECRET ?? 'moat-eval-secret-0123456789',
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'close')) as [number | null];
  const last = stderr.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`moat replay ${log} failed (exit ${code}): ${stderr.trim()}`);
  try {
    return JSON.parse(last) as ReplaySummary;
  } catch {
    throw new Error(`moat replay ${log}: no JSON summary on stderr: ${stderr.trim()}`);
  }
}

export interface PopulationReplay {
  options: SimulationOptions;
  index: PopulationIndex;
  summary: ReplaySummary;
  /** The replay's decisions and every vote, left in the work directory. */
  decisionsFile: string;
  votesFile: string;
  /** Seconds spent simulating and writing the population. */
  simulateSeconds: number;
}

/**
 * Simulates the labelled population (`humans` people, `botsPerScenario` campaigns of every
 * scenario, plain and spoofed) into `workDir`, and replays it through `moat replay` with the
 * default profile, keeping the decisions, every vote and the summary there. With `reuse`, the
 * replay output left in `workDir` is read instead of replaying — only if it was made from the
 * same population (the options are compared).
 */
export async function replayPopulation(run: {
  workDir: string;
  seed: number;
  humans: number;
  botsPerScenario: number;
  reuse: boolean;
  /** Prefix of the progress lines on stderr. */
  label: string;
}): Promise<PopulationReplay> {
  const { workDir, seed, label } = run;
  mkdirSync(workDir, { recursive: true });
  const file = (name: string, ext: string) => join(workDir, `${name}-${seed}.${ext}`);
  const [log, decisionsFile, votesFile, summaryFile, optionsFile] = [
    file('population', 'jsonl'),
    file('decisions', 'jsonl'),
    file('votes', 'jsonl'),
    file('summary', 'json'),
    file('options', 'json'),
  ];
  const options = population(seed, {
    humans: run.humans,
    botsPerScenario: run.botsPerScenario,
    spoof: true,
  });
  const sameOptions =
    existsSync(optionsFile) && readFileSync(optionsFile, 'utf8') === JSON.stringify(options);
  writeFileSync(optionsFile, JSON.stringify(options));
  const started = Date.now();
  process.stderr.write(`${label}: simulating ${run.humans} people and every bot scenario…\n`);
  const index = await writePopulation(options, log);
  const simulateSeconds = (Date.now() - started) / 1000;
  const reusable = [summaryFile, decisionsFile, votesFile].every((f) => existsSync(f));
  let summary: ReplaySummary;
  if (run.reuse && sameOptions && reusable) {
    process.stderr.write(`${label}: --reuse: reading the replay output left in ${workDir}\n`);
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as ReplaySummary;
  } else {
    process.stderr.write(
      `${label}: ${index.requests} requests in ${simulateSeconds.toFixed(1)} s; replaying through moat replay (takes minutes)…\n`,
    );
    summary = await moatReplay(log, [
      '--format',
      'mirror',
      '--out',
      decisionsFile,
      '--votes',
      votesFile,
    ]);
    writeFileSync(summaryFile, JSON.stringify(summary));
  }
  return { options, index, summary, decisionsFile, votesFile, simulateSeconds };
}

/** Reads a JSON-lines file. */
export async function* jsonLines<T>(file: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) yield JSON.parse(line) as T;
}

/** The decision lines `moat replay` writes (the fields read here). */
export interface DecisionLine {
  ip: string;
  action: string;
  botTypes: string[];
  confidence: number;
  detectors: { detector: string }[];
  decidedAt: string;
  expiresAt: string;
}

/** Quantile of a sorted array (nearest rank); NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function percent(part: number, whole: number, digits = 1): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(digits)} %`;
}

/** A script's options: integers (non-negative), strings and switches, each with its default. */
export type OptionSpec = Record<string, number | string | boolean>;

/**
 * Parses `--name value` / `--switch` options against their defaults (node:util parseArgs,
 * strict: an unknown option or a missing value is an error naming it); integer options must be
 * non-negative integers. Option names are the kebab-case of the keys.
 */
export function scriptOptions<T extends OptionSpec>(argv: string[], defaults: T): T {
  const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [key, value] of Object.entries(defaults))
    options[kebab(key)] = { type: typeof value === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const out: OptionSpec = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const given = values[kebab(key)];
    if (given === undefined) continue;
    if (typeof fallback === 'number') {
      const n = Number(given);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`--${kebab(key)} needs a non-negative integer, got "${String(given)}"`);
      out[key] = n;
    } else out[key] = given;
  }
  return out as T;
}
