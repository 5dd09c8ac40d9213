/**
 * `moat replay`: reads an access log (NGINX JSON or text, Envoy JSON, mirror input or
 * moat.requests.v1 JSON lines), normalises each line as the mirror agent would, runs it through
 * the standalone pipeline in event time at full speed, and writes every decision as a JSON line:
 * what a profile would have blocked, when, and on what evidence.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { codecs, type Profile, type RequestRecord } from '@moat/contracts';
import type { Weights } from '@moat/scoring-service';
import type { HostedDetector } from '@moat/detector-service';
import {
  createLineParser,
  detectFormat,
  LineSplitter,
  Normaliser,
  type FieldMap,
  type LogFormat,
  type NormaliserOptions,
} from '@moat/mirror-service';
import { ReplayPipeline, type ReplayDecision } from './replay-pipeline';

export interface ReplayOptions {
  /** A file path (`.gz` is decompressed), or `-` for standard input. */
  input: string;
  format: LogFormat | 'auto';
  logFormat?: string;
  fields?: FieldMap;
  normaliser: NormaliserOptions;
  hosted: HostedDetector[];
  profiles: Profile[];
  inactivityMs: number;
  verdictHorizonMs: number;
  maxLineBytes: number;
  /** Also write decisions that only extend one in force. */
  extensions: boolean;
  /** Detector weights per bot type (default: the calibrated table). */
  weights?: Weights;
  out: Writable;
  /** Where every vote goes, one moat.votes.v1 JSON line each (backtesting, calibration). */
  votes?: Writable;
  /** Standard input, when `input` is `-`. */
  stdin?: Readable;
}

/** One output line. */
export interface DecisionLine {
  ip: string;
  action: string;
  botTypes: string[];
  confidence: number;
  detectors: { detector: string; weight: number; evidence: unknown[] }[];
  firstSeen: string;
  decidedAt: string;
  requestsBefore: number;
  expiresAt: string;
  profile: string;
  app?: string;
  extension?: true;
}

export interface ReplaySummary {
  input: string;
  format: LogFormat;
  lines: number;
  replayed: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  oversizedLines: number;
  firstEvent?: string;
  lastEvent?: string;
  clients: number;
  events: number;
  detectors: string[];
  votes: { bot: number; clean: number };
  votesByDetector: Record<string, { bot: number; clean: number }>;
  deadLettered: Record<string, number>;
  decisions: number;
  decisionsWritten: number;
  decidedIps: number;
  byAction: Record<string, number>;
  byBotType: Record<string, number>;
  seconds: number;
  /** CPU time of the process (user + system), seconds: the rate under contention. */
  cpuSeconds: number;
  /** Time in each stage, and in reading, parsing and normalising the lines (`read`). */
  stageSeconds: Record<string, number>;
  linesPerSecond: number;
}

interface ClientStats {
  firstSeen: number;
  requests: number;
}

const READ_CHUNK = 1 << 20;
/**
 * Requests per batch through the stages: about what one Kafka fetch hands a consumer, so
 * batch-level behaviour (baselines read at the start of a batch) is as live.
 */
const BATCH = 1000;

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  const source = openInput(options);
  const normaliser = new Normaliser(options.normaliser);
  const pipeline = new ReplayPipeline({
    hosted: options.hosted,
    profiles: options.profiles,
    inactivityMs: options.inactivityMs,
    verdictHorizonMs: options.verdictHorizonMs,
    ...(options.weights ? { weights: options.weights } : {}),
    ...(options.votes
      ? {
          onVotes: (votes) => {
            for (const vote of votes) voteOutput += `${JSON.stringify(vote)}\n`;
          },
        }
      : {}),
  });
  let voteOutput = '';
  const clients = new Map<string, ClientStats>();
  const decidedIps = new Set<string>();
  const byAction: Record<string, number> = {};
  const byBotType: Record<string, number> = {};
  const skippedByReason: Record<string, number> = {};
  let format: LogFormat | undefined = options.format === 'auto' ? undefined : options.format;
  let parse: ReturnType<typeof createLineParser> | undefined;
  let lines = 0;
  let replayed = 0;
  let skipped = 0;
  let written = 0;
  let firstEvent = Infinity;
  let lastEvent = -Infinity;
  let output = '';

  const skip = (reason: string) => {
    skipped++;
    // Reasons are short and few; the value is cut at a colon so that the JSON parser's
    // positions do not make every line its own reason.
    const key = reason.split(':')[0].slice(0, 80);
    skippedByReason[key] = (skippedByReason[key] ?? 0) + 1;
  };

  /** Requests of the batch in flight, in order. */
  let batch: RequestRecord[] = [];

  const emit = (decisions: ReplayDecision[]) => {
    for (const { decision, vote, extension } of decisions) {
      if (extension && !options.extensions) continue;
      const stats = clients.get(decision.subject);
      const line: DecisionLine = {
        ip: decision.subject,
        action: decision.action,
        botTypes: decision.botTypes,
        confidence: round(decision.confidence),
        detectors: decision.detectors,
        firstSeen: new Date(stats?.firstSeen ?? vote.ts).toISOString(),
        decidedAt: new Date(vote.ts).toISOString(),
        requestsBefore: requestsBefore(decision.subject, vote.eventId),
        expiresAt: new Date(decision.expiresAt).toISOString(),
        profile: decision.profile,
      };
      if (decision.app !== undefined) line.app = decision.app;
      if (extension) line.extension = true;
      output += `${JSON.stringify(line)}\n`;
      written++;
      decidedIps.add(decision.subject);
      byAction[decision.action] = (byAction[decision.action] ?? 0) + 1;
      for (const type of decision.botTypes) byBotType[type] = (byBotType[type] ?? 0) + 1;
    }
  };

  /**
   * Requests from `ip` up to and including the one that triggered the decision: the client's
   * count after the batch, less its requests in the batch after the trigger.
   */
  const requestsBefore = (ip: string, triggerId: string): number => {
    const total = clients.get(ip)?.requests ?? 0;
    const at = batch.findIndex((r) => r.id === triggerId);
    if (at === -1) return total;
    let later = 0;
    for (let i = at + 1; i < batch.length; i++) if (batch[i].ip === ip) later++;
    return total - later;
  };

  const flushBatch = async () => {
    if (batch.length === 0) return;
    for (const record of batch) {
      let stats = clients.get(record.ip);
      if (!stats) clients.set(record.ip, (stats = { firstSeen: record.ts, requests: 0 }));
      stats.requests++;
      if (record.ts < stats.firstSeen) stats.firstSeen = record.ts;
    }
    const decisions = await pipeline.push(batch);
    if (decisions.length > 0) emit(decisions);
    batch = [];
  };

  const handleLine = (text: string) => {
    lines++;
    if (text.length === 0 || /^\s*$/.test(text)) {
      lines--; // blank lines are not log lines
      return;
    }
    if (!parse) {
      format ??= detectFormat(text);
      parse = createLineParser({
        format,
        fields: options.fields,
        logFormat: options.logFormat,
        requireTime: true,
      });
    }
    const parsed = parse(text);
    if (!parsed.ok) return skip(parsed.reason);
    let record: RequestRecord;
    if (parsed.kind === 'record') {
      record = parsed.record;
    } else {
      // A line without a request id gets one from its position: ids must be unique (votes are
      // de-duplicated by them) and stable from one replay to the next.
      parsed.entry.input.id ??= `line-${lines}`;
      const normalised = normaliser.tryNormalise(parsed.entry.input, parsed.source);
      if (!normalised.ok) return skip(normalised.reason);
      record = normalised.record;
      // What the agent would refuse to publish (and the sessionizer to read) is skipped here.
      const valid = codecs.requests.check(record);
      if (!valid.ok) return skip(valid.reason);
    }
    replayed++;
    if (record.ts < firstEvent) firstEvent = record.ts;
    if (record.ts > lastEvent) lastEvent = record.ts;
    batch.push(record);
  };

  const splitter = new LineSplitter(options.maxLineBytes);
  const pending: string[] = [];
  const collect = (text: string) => {
    pending.push(text);
  };
  const drain = async () => {
    for (const text of pending) {
      handleLine(text);
      if (batch.length >= BATCH) await flushBatch();
    }
    pending.length = 0;
    await flushOutput();
  };
  const flushOutput = async () => {
    if (output.length > 0) {
      await write(options.out, output);
      output = '';
    }
    if (options.votes && voteOutput.length > 0) {
      await write(options.votes, voteOutput);
      voteOutput = '';
    }
  };
  for await (const chunk of source) {
    splitter.push(chunk, collect);
    await drain();
  }
  splitter.flush(collect);
  await drain();
  await flushBatch();
  await flushOutput();

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const counters = pipeline.counters;
  const inStages = Object.values(counters.stageSeconds).reduce((a, b) => a + b, 0);
  return {
    input: options.input,
    format: format ?? (options.format === 'auto' ? 'nginx-json' : options.format),
    lines,
    replayed,
    skipped,
    skippedByReason,
    oversizedLines: splitter.oversized,
    ...(replayed > 0
      ? {
          firstEvent: new Date(firstEvent).toISOString(),
          lastEvent: new Date(lastEvent).toISOString(),
        }
      : {}),
    clients: clients.size,
    events: counters.events,
    detectors: options.hosted.map((h) => h.detector.id),
    votes: counters.votes,
    votesByDetector: counters.votesByDetector,
    deadLettered: counters.deadLettered,
    decisions: counters.decisions,
    decisionsWritten: written,
    decidedIps: decidedIps.size,
    byAction,
    byBotType,
    seconds: round(seconds),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    stageSeconds: {
      read: round(Math.max(0, seconds - inStages)),
      ...Object.fromEntries(
        Object.entries(counters.stageSeconds).map(([stage, t]) => [stage, round(t)]),
      ),
    },
    linesPerSecond: Math.round((lines + splitter.oversized) / Math.max(seconds, 1e-9)),
  };
}

function openInput(options: ReplayOptions): AsyncIterable<Buffer> {
  if (options.input === '-') return options.stdin ?? process.stdin;
  const file = createReadStream(options.input, { highWaterMark: READ_CHUNK });
  return options.input.endsWith('.gz') ? file.pipe(createGunzip({ chunkSize: READ_CHUNK })) : file;
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    out.once('error', onError);
    const flushed = out.write(text, () => {
      out.off('error', onError);
      if (flushed) resolve();
    });
    if (!flushed) {
      out.once('drain', () => {
        out.off('error', onError);
        resolve();
      });
    }
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The summary as a few lines for a person (stderr). */
export function formatSummary(s: ReplaySummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const reasons = Object.entries(s.skippedByReason)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([reason, count]) => `${reason}: ${n(count)}`)
    .join('; ');
  const actions = Object.entries(s.byAction)
    .map(([a, c]) => `${a} ${n(c)}`)
    .join(', ');
  const types = Object.entries(s.byBotType)
    .sort((a, b) => b[1] - a[1])
    .map(([t, c]) => `${t} ${n(c)}`)
    .join(', ');
  const detectors = Object.entries(s.votesByDetector)
    .map(([d, v]) => `${d} ${n(v.bot)}/${n(v.bot + v.clean)}`)
    .join(', ');
  const dead = Object.entries(s.deadLettered)
    .map(([stage, c]) => `${stage} ${n(c)}`)
    .join(', ');
  return [
    `moat replay: ${s.input} (${s.format})`,
    `  lines       ${n(s.lines)} read, ${n(s.replayed)} replayed, ${n(s.skipped)} skipped${reasons ? ` (${reasons})` : ''}${s.oversizedLines ? `, ${n(s.oversizedLines)} over the line limit` : ''}`,
    `  event time  ${s.firstEvent ?? '-'} → ${s.lastEvent ?? '-'}`,
    `  clients     ${n(s.clients)} IPs, ${n(s.events)} session events`,
    `  detectors   ${s.detectors.join(', ')}`,
    `  votes       ${n(s.votes.bot)} bot, ${n(s.votes.clean)} clean${detectors ? ` (bot/all: ${detectors})` : ''}`,
    ...(dead ? [`  failed      ${dead} (records a processor rejected)`] : []),
    `  decisions   ${n(s.decisionsWritten)} written for ${n(s.decidedIps)} IPs${actions ? ` (${actions})` : ''}${types ? `; ${types}` : ''}`,
    `  speed       ${n(s.lines)} lines in ${s.seconds.toFixed(2)} s = ${n(s.linesPerSecond)} lines/s (${s.cpuSeconds.toFixed(2)} s of CPU)`,
    `  time        ${Object.entries(s.stageSeconds)
      .sort((a, b) => b[1] - a[1])
      .map(
        ([stage, t]) =>
          `${stage === 'read' ? 'reading, parsing, normalising' : stage} ${t.toFixed(2)} s`,
      )
      .join(', ')}`,
  ].join('\n');
}
