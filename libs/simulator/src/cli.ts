#!/usr/bin/env node
/**
 * moat-simulate: writes simulated, labelled traffic to files (or stdout) as mirror-agent input,
 * moat.requests.v1 records or an NGINX JSON access log, with a labels sidecar.
 *
 *   npm run simulate -- --preset standard --format nginx --out access.log --labels labels.jsonl
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { labelEntry, toNginxEntry } from './formats';
import { toRequestRecords } from './pipeline';
import { DEFAULT_START, population, PRESETS, type PresetName } from './population';
import { simulate } from './simulate';
import { BOT_SCENARIOS, type BotScenario, type SimulationOptions } from './simulation.types';

const UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

function duration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 30m, 24h or 3d');
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}

function integer(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function instant(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new InvalidArgumentError('expected an ISO-8601 time or epoch milliseconds');
  return ms;
}

function scenarios(text: string): BotScenario[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list)
    if (!BOT_SCENARIOS.includes(s as BotScenario))
      throw new InvalidArgumentError(
        `unknown scenario "${s}"; one of: ${BOT_SCENARIOS.join(', ')}`,
      );
  return list as BotScenario[];
}

/** Buffered line writer that respects back-pressure. */
class Lines {
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async write(line: string): Promise<void> {
    this.buffer.push(line);
    this.size += line.length + 1;
    if (this.size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.stream === process.stdout) return;
    const file = this.stream as WriteStream;
    await new Promise<void>((resolve, reject) =>
      file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}

const open = (path: string) => new Lines(path === '-' ? process.stdout : createWriteStream(path));

interface CliOptions {
  preset?: PresetName;
  seed: number;
  humans?: number;
  botsPerScenario?: number;
  spoof: 'both' | 'none' | 'only';
  scenarios?: BotScenario[];
  start?: number;
  duration?: number;
  app?: string;
  format: 'mirror' | 'requests' | 'nginx';
  out: string;
  labels?: string;
  secret?: string;
  limit?: number;
}

export function simulationOptions(options: CliOptions): SimulationOptions {
  const base = options.preset
    ? PRESETS[options.preset](options.seed)
    : population(options.seed, {
        humans: options.humans ?? 1_000,
        botsPerScenario: options.botsPerScenario ?? 1,
        spoof: options.spoof === 'both' ? true : options.spoof === 'only' ? 'only' : false,
      });
  const result: SimulationOptions = {
    ...base,
    ...(options.humans !== undefined ? { humans: options.humans } : {}),
    ...(options.start !== undefined ? { start: options.start } : {}),
    ...(options.duration !== undefined ? { durationMs: options.duration } : {}),
    ...(options.app ? { app: options.app } : {}),
  };
  if (options.preset && options.botsPerScenario !== undefined)
    result.bots = result.bots.map((b) => ({ ...b, count: options.botsPerScenario! }));
  if (options.preset && options.spoof !== 'both')
    result.bots = result.bots.filter(
      (b) => (options.spoof === 'only') === (b.spoofUserAgent ?? false),
    );
  if (options.scenarios)
    result.bots = result.bots.filter((b) => options.scenarios!.includes(b.scenario));
  return result;
}

async function run(options: CliOptions): Promise<void> {
  const simulation = simulationOptions(options);
  const secret = options.secret ?? process.env.MOAT_HASH_SECRET;
  if (options.format === 'requests' && (!secret || secret.length < 16))
    throw new Error(
      '--format requests hashes credentials: pass --secret (≥ 16 characters) or set MOAT_HASH_SECRET.',
    );
  const labelsPath =
    options.labels ??
    (options.out !== '-' && options.format === 'nginx' ? `${options.out}.labels.jsonl` : undefined);
  const out = open(options.out);
  const labels = labelsPath ? open(labelsPath) : undefined;
  const started = process.hrtime.bigint();
  let count = 0;
  const limit = options.limit ?? Infinity;
  const requests = (function* () {
    for (const request of simulate(simulation)) {
      if (count >= limit) return;
      count++;
      yield request;
    }
  })();
  if (options.format === 'requests') {
    const normalised = toRequestRecords(requests, secret!, { defaultApp: simulation.app });
    for (const { record, label, actor } of normalised) {
      await out.write(JSON.stringify(record));
      if (labels) await labels.write(JSON.stringify({ line: count, id: record.id, actor, label }));
    }
  } else {
    for (const request of requests) {
      await out.write(
        JSON.stringify(options.format === 'nginx' ? toNginxEntry(request) : request.input),
      );
      if (labels) await labels.write(JSON.stringify(labelEntry(request, count)));
    }
  }
  await out.close();
  await labels?.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write(
    `moat-simulate: ${count} requests (${simulation.humans} people, ${simulation.bots.reduce((n, b) => n + b.count, 0)} bot campaigns, ` +
      `${new Date(simulation.start).toISOString()} + ${+(simulation.durationMs / 3_600_000).toFixed(2)} h) as ${options.format} ` +
      `in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} requests/s)` +
      `${options.out !== '-' ? ` → ${options.out}` : ''}${labelsPath ? `, labels → ${labelsPath}` : ''}\n`,
  );
}

export function program(): Command {
  return new Command('moat-simulate')
    .description('Write simulated, labelled API traffic (people and bots) for Moat.')
    .addOption(
      new Option('--preset <name>', 'a ready-made population').choices(Object.keys(PRESETS)),
    )
    .option('--seed <n>', 'random seed (same seed, same bytes)', integer, 1)
    .option('--humans <n>', 'number of people (default 1000 without a preset)', integer)
    .option('--bots-per-scenario <n>', 'campaigns per bot scenario and variant', integer)
    .addOption(
      new Option('--spoof <mode>', 'bot variants: plain and spoofed UA, plain only, spoofed only')
        .choices(['both', 'none', 'only'])
        .default('both'),
    )
    .option(
      '--scenarios <list>',
      `comma-separated bot scenarios (default all): ${BOT_SCENARIOS.join(', ')}`,
      scenarios,
    )
    .option(
      '--start <time>',
      `start of the period, ISO-8601 or epoch ms (default ${new Date(DEFAULT_START).toISOString()})`,
      instant,
    )
    .option('--duration <d>', 'length of the period, e.g. 1h, 24h, 3d (default 24h)', duration)
    .option('--app <host>', 'Host of the simulated site (default shop.example)')
    .addOption(
      new Option(
        '--format <format>',
        'mirror: mirror-agent input; requests: moat.requests.v1; nginx: NGINX JSON log',
      )
        .choices(['mirror', 'requests', 'nginx'])
        .default('mirror'),
    )
    .option('--out <file>', 'output file, - for stdout', '-')
    .option(
      '--labels <file>',
      'labels sidecar (JSON lines: line, id, actor, label); default <out>.labels.jsonl for nginx',
    )
    .option('--secret <secret>', 'HMAC secret for --format requests (default $MOAT_HASH_SECRET)')
    .option('--limit <n>', 'stop after n requests', integer)
    .action(async (options: CliOptions) => run(options))
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
}

if (require.main === module) {
  program()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const code = (err as { code?: string }).code;
      if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exit(0);
      if (!code?.startsWith('commander.'))
        process.stderr.write(`moat-simulate: ${(err as Error).message}\n`);
      process.exit(2);
    });
}
