/**
 * The `moat` command. `moat replay` runs a recorded access log through the standalone pipeline
 * in event time and writes the decisions it would have taken (backtesting, benchmarks).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { duration, parseConfig } from '@moat/config';
import { availableDetectors } from '@moat/detectors';
import { TrustedProxies } from '@moat/contracts';
import { hostedDetectors } from '@moat/detector-service';
import {
  checkFieldMap,
  compileLogFormat,
  DEFAULT_API_KEY_HEADERS,
  DEFAULT_SESSION_COOKIES,
  LOG_FORMAT_PRESETS,
  LOG_FORMATS,
  splitList,
  type FieldMap,
  type LogFormat,
} from '@moat/mirror-service';
import { DEFAULT_PROFILE, loadWeights } from '@moat/scoring-service';
import { loadProfiles } from './replay/profile-file';
import { formatSummary, replay } from './replay/replay';

interface ReplayFlags {
  format: LogFormat | 'auto';
  logFormat?: string;
  fields?: string;
  profile?: string;
  out?: string;
  votes?: string;
  weights?: string;
  detectors?: string;
  detectorConfig?: string;
  trustedProxies?: string;
  appHeader?: string;
  defaultApp: string;
  sessionInactivity: string;
  verdictHorizon: string;
  maxLineBytes: number;
  extensions?: boolean;
  summary: 'text' | 'json';
}

/** A JSON value given inline or as the path of a file holding it. */
function jsonArgument(value: string, flag: string): unknown {
  const text =
    value.trim().startsWith('{') || !existsSync(value) ? value : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${flag}: not valid JSON, nor a file holding it (${(err as Error).message})`);
  }
}

function durationMs(value: string, flag: string): number {
  try {
    return parseConfig({ VALUE: duration() }, { VALUE: value }).VALUE;
  } catch {
    throw new Error(`${flag} "${value}": expected a duration such as 30s, 30m or 1h`);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function runReplay(log: string, flags: ReplayFlags): Promise<void> {
  if (log !== '-' && !existsSync(log)) throw new Error(`${log}: no such file`);
  if (flags.logFormat !== undefined) {
    compileLogFormat(flags.logFormat); // throws one line on a format it cannot split
    if (flags.format === 'auto') flags.format = 'combined';
  }
  const fields: FieldMap | undefined =
    flags.fields === undefined
      ? undefined
      : checkFieldMap(jsonArgument(flags.fields, '--fields'), '--fields');
  const profiles = flags.profile ? loadProfiles(flags.profile) : [DEFAULT_PROFILE];
  const ids = flags.detectors ? splitList(flags.detectors) : availableDetectors();
  const overrides = flags.detectorConfig
    ? (jsonArgument(flags.detectorConfig, '--detector-config') as Record<string, unknown>)
    : {};
  const hosted = hostedDetectors(ids, overrides);
  const trusted = splitList(flags.trustedProxies ?? process.env.MOAT_MIRROR_TRUSTED_PROXIES ?? '');
  new TrustedProxies(trusted); // throws naming a value that is not an address or CIDR
  const env = process.env;

  const weightsFile = flags.weights ?? process.env.MOAT_WEIGHTS_FILE;
  const weights = weightsFile ? loadWeights(weightsFile) : undefined;
  const out = flags.out ? createWriteStream(flags.out) : process.stdout;
  const votes = flags.votes ? createWriteStream(flags.votes) : undefined;
  const summary = await replay({
    input: log,
    format: flags.format,
    logFormat: flags.logFormat,
    fields,
    normaliser: {
      // Hashes are comparable with live traffic only under the deployment's secret.
      secret: env.MOAT_HASH_SECRET || randomBytes(32).toString('hex'),
      defaultApp: flags.defaultApp,
      sessionCookies: [...DEFAULT_SESSION_COOKIES, ...splitList(env.MOAT_SESSION_COOKIES ?? '')],
      apiKeyHeaders: [...DEFAULT_API_KEY_HEADERS, ...splitList(env.MOAT_API_KEY_HEADERS ?? '')],
      sensitiveQueryParams: splitList(env.MOAT_SENSITIVE_QUERY_PARAMS ?? ''),
      trustedProxies: trusted,
      appHeader: flags.appHeader ?? env.MOAT_APP_HEADER,
    },
    hosted,
    profiles,
    inactivityMs: durationMs(flags.sessionInactivity, '--session-inactivity'),
    verdictHorizonMs: durationMs(flags.verdictHorizon, '--verdict-horizon'),
    maxLineBytes: flags.maxLineBytes,
    extensions: flags.extensions ?? false,
    ...(weights ? { weights } : {}),
    out,
    ...(votes ? { votes } : {}),
  });
  for (const stream of [out, votes]) {
    if (!stream || stream === process.stdout) continue;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(resolve);
    });
  }
  process.stderr.write(
    flags.summary === 'json' ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`,
  );
}

export function buildProgram(): Command {
  const program = new Command()
    .name('moat')
    .description('Moat: open-source API abuse prevention')
    .showHelpAfterError();

  program
    .command('replay')
    .description(
      'Replay an access log through the standalone pipeline in event time and write the decisions it would have taken, one JSON line each; a summary goes to stderr.',
    )
    .argument('<log>', 'the log file (.gz is decompressed), or - for standard input')
    .addOption(
      new Option('--format <format>', 'log format; auto guesses from the first line')
        .choices(['auto', ...LOG_FORMATS])
        .default('auto'),
    )
    .option(
      '--log-format <format>',
      `for text logs: the NGINX log_format string, or a preset (${Object.keys(LOG_FORMAT_PRESETS).join(', ')})`,
    )
    .option(
      '--fields <json|file>',
      'map NGINX variable names to your log\'s keys, e.g. \'{"remote_addr":"client","request_uri":"uri"}\'',
    )
    .option(
      '--profile <file>',
      'JSON file with a profile or an array of profiles (default: the default profile)',
    )
    .option('--out <file>', 'where decisions go, one JSON line each (default: standard output)')
    .option(
      '--votes <file>',
      'also write every detector vote there, one moat.votes.v1 JSON line each',
    )
    .option(
      '--weights <file>',
      'detector weights per bot type, JSON as calibration writes it (default: the calibrated table; $MOAT_WEIGHTS_FILE)',
    )
    .option(
      '--detectors <ids>',
      `detectors to run, comma-separated (default: all: ${availableDetectors().join(', ')})`,
    )
    .option(
      '--detector-config <json|file>',
      'detector configuration overrides, e.g. \'{"request-rate":{"threshold":100}}\'',
    )
    .option(
      '--trusted-proxies <cidrs>',
      'proxies whose X-Forwarded-For is believed (default: $MOAT_MIRROR_TRUSTED_PROXIES)',
    )
    .option(
      '--app-header <name>',
      'request header naming the application (default: $MOAT_APP_HEADER, else Host)',
    )
    .option('--default-app <name>', 'application of requests without a Host', 'default')
    .option('--session-inactivity <duration>', 'session inactivity timeout', '30m')
    .option('--verdict-horizon <duration>', 'how long a detector verdict counts', '1h')
    .option('--max-line-bytes <n>', 'longer lines are skipped and counted', positiveInt, 1 << 20)
    .option('--extensions', 'also write decisions that only extend one already in force')
    .addOption(
      new Option('--summary <style>', 'summary on stderr')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(async (log: string, flags: ReplayFlags) => {
      await runReplay(log, flags);
    });
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`moat: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
