/**
 * Calibrates the detector weights per bot type on the simulator (`npm run calibrate`).
 *
 * A calibration population (its own seed, never the one the detection report uses) goes through
 * `moat replay --votes`. Each address is labelled by who used it: people only, or one bot
 * scenario variant only (shared addresses are left out). Replaying the votes as scoring does
 * (each detector's latest verdict within the verdict horizon) gives every address the sequence
 * of verdict sets scoring saw for it. Then:
 *
 * 1. Measure, per bot type T and detector d of T: TPR = share of T's bot addresses d voted bot
 *    on among those it judged (mean over T's scenario variants, each counted once), FPR = the
 *    same over people's addresses; the starting weight is Youden's J = TPR − FPR (floor 0.05).
 * 2. Search: coordinate ascent over a grid of weights, every (type, detector) in turn, keeping
 *    a change only when it is strictly better, lexicographically: first no person's address may
 *    reach the *high* sensitivity threshold (0.5) in any type — a margin below the default
 *    medium threshold (0.7) the report uses; then the mean over all bot scenario variants of
 *    the share of their addresses that reach the medium threshold in some type (the recall the
 *    default profile would give).
 *
 * Confidence stays a share in [0, 1] (weighted bot votes / weighted votes possible); the search
 * only decides how much each detector's verdict counts within a type. The detection report then
 * measures the result on a population the calibration never saw.
 *
 * Writes libs/scoring-service/src/default-weights.ts (the defaults in code) and the table in
 * docs/SCORING.md between its calibration markers.
 *
 *   npm run calibrate -- [--seed 1001] [--humans 3000] [--bots-per-scenario 3] [--work-dir …]
 *                        [--reuse]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BOT_TYPE_DETECTORS,
  BOT_TYPES,
  SENSITIVITIES,
  type BotType,
  type DetectorId,
} from '@moat/contracts';
import * as prettier from 'prettier';
import { jsonLines, replayPopulation, REPO_ROOT, scriptOptions } from './harness';

const FLOOR = 0.05;
const GRID = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1];
const PASSES = 4;
const HORIZON_MS = 3_600_000;
/** Objective threshold (the default profile's) and the one no person may reach (margin). */
const DECIDE = SENSITIVITIES.medium;
const PEOPLE_BELOW = SENSITIVITIES.high;
const MARK_START = '<!-- calibration:start (written by npm run calibrate; do not edit by hand) -->';
const MARK_END = '<!-- calibration:end -->';

function parseOptions(argv: string[]) {
  return scriptOptions(argv, {
    seed: 1001,
    humans: 3_000,
    botsPerScenario: 3,
    workDir: join(tmpdir(), 'moat-calibration'),
    /** Reuse the votes a previous run left in the work dir. */
    reuse: false,
  });
}

interface Judged {
  judged: number;
  fired: number;
}

export interface CalibrationCell {
  weight: number;
  /** Youden's J, the search's starting point. */
  start: number;
  tpr?: number;
  fpr?: number;
  /** Bot scenario variants of the type the detector judged. */
  groups: number;
  /** Addresses of the type's bots it judged. */
  judged: number;
}

export function youden(tpr: number | undefined, fpr: number | undefined): number {
  if (tpr === undefined) return FLOOR;
  return Math.max(FLOOR, Math.round((tpr - (fpr ?? 0)) * 20) / 20);
}

const DETECTORS: readonly DetectorId[] = [
  ...new Set(BOT_TYPES.flatMap((t) => BOT_TYPE_DETECTORS[t])),
];
const INDEX = new Map(DETECTORS.map((d, i) => [d, i]));

/**
 * One verdict set scoring saw for an address: per detector index, -1 not judged (or stale),
 * 0 clean, else the bot vote's score.
 */
type VerdictSet = Float32Array;

interface Address {
  /** -1: a person; else the index of its bot group. */
  group: number;
  sets: VerdictSet[];
}

/** Per type: weights by detector index (0 for detectors outside the type). */
type WeightTable = Float64Array[];

function crosses(set: VerdictSet, weights: Float64Array, threshold: number): boolean {
  let gained = 0;
  let possible = 0;
  for (let d = 0; d < set.length; d++) {
    const v = set[d];
    const w = weights[d];
    if (v < 0 || w === 0) continue;
    possible += w;
    gained += w * v;
  }
  return possible > 0 && gained / possible >= threshold - 1e-9;
}

/** Which addresses reach a threshold in one type. */
function reached(
  addresses: readonly Address[],
  weights: Float64Array,
  threshold: number,
): Uint8Array {
  const out = new Uint8Array(addresses.length);
  addresses.forEach((a, i) => {
    out[i] = a.sets.some((s) => crosses(s, weights, threshold)) ? 1 : 0;
  });
  return out;
}

interface Score {
  peopleOver: number;
  recall: number;
}

function better(a: Score, b: Score): boolean {
  if (a.peopleOver !== b.peopleOver) return a.peopleOver < b.peopleOver;
  return a.recall > b.recall + 1e-9;
}

async function main(): Promise<void> {
  const args = parseOptions(process.argv.slice(2));
  const { index, votesFile } = await replayPopulation({ ...args, label: 'calibrate' });

  // Who used each address: people only (-1) or one bot group; mixed addresses are left out.
  const groups: string[] = [];
  const groupType: BotType[] = [];
  const groupOf = new Map<string, number>();
  const addressGroup = new Map<string, number>();
  for (const [ip, units] of index.byIp) {
    const labels = new Set(
      units.map((u) =>
        u.label.kind === 'human'
          ? 'human'
          : `${u.label.scenario}${u.label.spoofedUserAgent ? ' (spoofed UA)' : ''}`,
      ),
    );
    if (labels.size !== 1) continue;
    const label = units[0].label;
    if (label.kind === 'human') {
      addressGroup.set(ip, -1);
      continue;
    }
    const name = [...labels][0];
    let g = groupOf.get(name);
    if (g === undefined) {
      g = groups.length;
      groups.push(name);
      groupType.push(label.botType);
      groupOf.set(name, g);
    }
    addressGroup.set(ip, g);
  }

  // Replay the votes as scoring holds them: latest verdict per detector within the horizon.
  let votesTotal = 0;
  const latest = new Map<string, { v: number; ts: number }[]>();
  const sets = new Map<string, Map<string, VerdictSet>>();
  const judged = new Map<string, Set<number>>();
  const fired = new Map<string, Set<number>>();
  for await (const vote of jsonLines<{
    ip: string;
    detector: DetectorId;
    verdict: 'bot' | 'clean';
    score: number;
    ts: number;
  }>(votesFile)) {
    votesTotal++;
    if (!addressGroup.has(vote.ip)) continue;
    const d = INDEX.get(vote.detector);
    if (d === undefined) continue;
    let state = latest.get(vote.ip);
    if (!state) latest.set(vote.ip, (state = DETECTORS.map(() => ({ v: -1, ts: -Infinity }))));
    state[d] = { v: vote.verdict === 'bot' ? vote.score : 0, ts: vote.ts };
    (judged.get(vote.ip) ?? judged.set(vote.ip, new Set()).get(vote.ip)!).add(d);
    if (vote.verdict === 'bot')
      (fired.get(vote.ip) ?? fired.set(vote.ip, new Set()).get(vote.ip)!).add(d);
    const set = new Float32Array(DETECTORS.length);
    state.forEach((s, i) => (set[i] = s.v >= 0 && vote.ts - s.ts <= HORIZON_MS ? s.v : -1));
    const key = set.join(',');
    const own = sets.get(vote.ip) ?? sets.set(vote.ip, new Map()).get(vote.ip)!;
    if (!own.has(key)) own.set(key, set);
  }
  const addresses: Address[] = [];
  for (const [ip, own] of sets)
    addresses.push({ group: addressGroup.get(ip)!, sets: [...own.values()] });
  // Addresses no detector judged count as missed bots (they are in the denominators).
  const groupSize = new Array<number>(groups.length).fill(0);
  for (const g of addressGroup.values()) if (g >= 0) groupSize[g]++;

  // 1. TPR, FPR and the starting weights.
  const cells: Partial<Record<BotType, Partial<Record<DetectorId, CalibrationCell>>>> = {};
  for (const type of BOT_TYPES) {
    const row: Partial<Record<DetectorId, CalibrationCell>> = {};
    for (const detector of BOT_TYPE_DETECTORS[type]) {
      const d = INDEX.get(detector)!;
      const perGroup = new Map<number, Judged>();
      const human: Judged = { judged: 0, fired: 0 };
      for (const [ip, js] of judged) {
        if (!js.has(d)) continue;
        const g = addressGroup.get(ip)!;
        const cell =
          g < 0 ? human : (perGroup.get(g) ?? perGroup.set(g, { judged: 0, fired: 0 }).get(g)!);
        if (g >= 0 && groupType[g] !== type) continue;
        cell.judged++;
        if (fired.get(ip)?.has(d)) cell.fired++;
      }
      const list = [...perGroup.values()].filter((c) => c.judged > 0);
      const tpr =
        list.length > 0
          ? list.reduce((s, c) => s + c.fired / c.judged, 0) / list.length
          : undefined;
      const fpr = human.judged > 0 ? human.fired / human.judged : undefined;
      const start = youden(tpr, fpr);
      row[detector] = {
        weight: start,
        start,
        ...(tpr !== undefined ? { tpr } : {}),
        ...(fpr !== undefined ? { fpr } : {}),
        groups: list.length,
        judged: list.reduce((s, c) => s + c.judged, 0),
      };
    }
    cells[type] = row;
  }

  // 2. Coordinate ascent.
  const table: WeightTable = BOT_TYPES.map((type) => {
    const w = new Float64Array(DETECTORS.length);
    for (const [detector, cell] of Object.entries(cells[type] ?? {}))
      w[INDEX.get(detector as DetectorId)!] = cell.weight;
    return w;
  });
  const people = addresses.filter((a) => a.group < 0);
  const bots = addresses.filter((a) => a.group >= 0);
  const over = table.map((w) => reached(people, w, PEOPLE_BELOW));
  const hits = table.map((w) => reached(bots, w, DECIDE));
  const blockedPerGroup = (): number[] => {
    const blocked = new Array<number>(groups.length).fill(0);
    bots.forEach((a, i) => {
      if (hits.some((h) => h[i])) blocked[a.group]++;
    });
    return blocked;
  };
  const score = (): Score => {
    let peopleOver = 0;
    for (let i = 0; i < people.length; i++) if (over.some((o) => o[i])) peopleOver++;
    const recall =
      blockedPerGroup().reduce((s, b, g) => s + b / Math.max(1, groupSize[g]), 0) / groups.length;
    return { peopleOver, recall };
  };
  let best = score();
  const initial = best;
  process.stderr.write(
    `calibrate: ${addresses.length} addresses judged (${people.length} people's), ${groups.length} bot variants; start: recall ${(100 * best.recall).toFixed(1)} %, people over ${PEOPLE_BELOW}: ${best.peopleOver}\n`,
  );
  for (let pass = 0; pass < PASSES; pass++) {
    let changed = false;
    BOT_TYPES.forEach((type, t) => {
      for (const detector of BOT_TYPE_DETECTORS[type]) {
        const d = INDEX.get(detector)!;
        const was = table[t][d];
        let keep = was;
        for (const value of GRID) {
          if (value === keep) continue;
          table[t][d] = value;
          const savedOver = over[t];
          const savedHits = hits[t];
          over[t] = reached(people, table[t], PEOPLE_BELOW);
          hits[t] = reached(bots, table[t], DECIDE);
          const candidate = score();
          if (better(candidate, best)) {
            best = candidate;
            keep = value;
          } else {
            over[t] = savedOver;
            hits[t] = savedHits;
          }
          table[t][d] = keep;
        }
        if (keep !== was) changed = true;
        table[t][d] = keep;
        over[t] = reached(people, table[t], PEOPLE_BELOW);
        hits[t] = reached(bots, table[t], DECIDE);
      }
    });
    process.stderr.write(
      `calibrate: pass ${pass + 1}: recall ${(100 * best.recall).toFixed(1)} %, people over ${PEOPLE_BELOW}: ${best.peopleOver}\n`,
    );
    if (!changed) break;
  }
  BOT_TYPES.forEach((type, t) => {
    for (const detector of BOT_TYPE_DETECTORS[type])
      cells[type]![detector]!.weight = table[t][INDEX.get(detector)!];
  });

  const provenance = `seed ${args.seed}, ${args.humans} people, ${args.botsPerScenario} campaigns per scenario and variant, ${index.requests} requests, ${votesTotal} votes`;
  const perGroup = blockedPerGroup()
    .map((b, g) => ({ name: groups[g], share: b / Math.max(1, groupSize[g]) }))
    .sort((a, b) => a.share - b.share)
    .map(({ name, share }) => `${name} ${(100 * share).toFixed(0)} %`)
    .join(', ');
  const outcome = `Mean recall over the ${groups.length} bot scenario variants at ${DECIDE} on the calibration population: ${(100 * initial.recall).toFixed(1)} % with the starting weights, ${(100 * best.recall).toFixed(1)} % after the search; people's addresses reaching ${PEOPLE_BELOW}: ${initial.peopleOver} → ${best.peopleOver} of ${people.length}. Per variant, after the search: ${perGroup}.`;
  await writeDefaults(cells, provenance);
  writeDocs(cells, provenance, outcome);
  for (const type of BOT_TYPES)
    process.stdout.write(
      `${type}: ${Object.entries(cells[type] ?? {})
        .map(([d, c]) => `${d} ${c.weight}`)
        .join(', ')}\n`,
    );
  process.stdout.write(
    `${outcome}\ncalibrate: wrote libs/scoring-service/src/default-weights.ts and docs/SCORING.md\n`,
  );
}

async function writeDefaults(
  table: Partial<Record<BotType, Partial<Record<DetectorId, CalibrationCell>>>>,
  provenance: string,
): Promise<void> {
  const body = BOT_TYPES.map((type) => {
    const cells = Object.entries(table[type] ?? {})
      .map(([d, c]) => `    '${d}': ${c.weight},`)
      .join('\n');
    return `  '${type}': {\n${cells}\n  },`;
  }).join('\n');
  const text = `/**
 * The calibrated detector weights per bot type: the defaults in code. Written by
 * \`npm run calibrate\` (tools/eval/calibrate-weights.ts) from the simulator:
 * ${provenance}.
 * docs/SCORING.md shows the same table with what each weight was measured from. Do not edit by
 * hand: rerun the calibration. MOAT_WEIGHTS_FILE (or replay's --weights) overrides it.
 */
import type { Weights } from './confidence';

export const DEFAULT_WEIGHTS: Weights = {
${body}
};
`;
  // Written as the repository's formatter would (the format check runs in CI).
  const path = join(REPO_ROOT, 'libs', 'scoring-service', 'src', 'default-weights.ts');
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...options, filepath: path }));
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);

function writeDocs(
  table: Partial<Record<BotType, Partial<Record<DetectorId, CalibrationCell>>>>,
  provenance: string,
  outcome: string,
): void {
  const lines = [
    MARK_START,
    '',
    `Calibrated on the simulator: ${provenance}. TPR: share of the type's bot addresses the detector voted bot on, among those it judged (mean over the type's scenario variants); FPR: the same over people's addresses; start: max(${FLOOR}, TPR − FPR); weight: after the search. ${outcome}`,
    '',
    '| bot type | detector | weight | start | TPR | FPR (people) | variants judged | bot addresses judged |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const type of BOT_TYPES)
    for (const [detector, cell] of Object.entries(table[type] ?? {}))
      lines.push(
        `| ${type} | ${detector} | **${cell.weight.toFixed(2)}** | ${cell.start.toFixed(2)} | ${pct(cell.tpr)} | ${pct(cell.fpr)} | ${cell.groups} | ${cell.judged.toLocaleString('en-US')} |`,
      );
  lines.push('', MARK_END);
  const path = join(REPO_ROOT, 'docs', 'SCORING.md');
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf(MARK_START);
  const end = doc.indexOf(MARK_END);
  if (start === -1 || end === -1)
    throw new Error(`${path} has no calibration markers (${MARK_START} … ${MARK_END})`);
  writeFileSync(path, doc.slice(0, start) + lines.join('\n') + doc.slice(end + MARK_END.length));
}

main().catch((err: unknown) => {
  process.stderr.write(`calibrate: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
