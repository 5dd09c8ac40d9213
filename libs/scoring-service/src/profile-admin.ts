/**
 * The admin path for profiles and manual entries on moat.config.v1, used by the `profiles`
 * command (apps/scoring) and by the scoring service to seed profiles from a file: validate
 * a profile file all-or-nothing (nothing is published when any entry is wrong), compare it
 * with what the topic holds, publish what differs, and optionally delete what the file no
 * longer lists.
 */
import { readFileSync } from 'node:fs';
import { configKey, type ConfigEntry } from '@moat/contracts';
import { ConfigFollower, type ConfigProblem, type StreamRuntime } from '@moat/stream-kit';
import { formatProblems, parseProfileFile } from './profile-file';
import { validateConfigEntry } from './policy';

export class ProfileFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing published\n${formatProblems(problems)}`,
    );
    this.name = 'ProfileFileError';
  }
}

/** Reads and validates a profile file; throws ProfileFileError listing every problem. */
export function readProfileFile(path: string, now: number = Date.now()): ConfigEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ProfileFileError(path, [{ field: '(file)', reason: (err as Error).message }]);
  }
  const { entries, problems } = parseProfileFile(json, now);
  if (problems.length > 0) throw new ProfileFileError(path, problems);
  return entries;
}

export interface ApplyOptions {
  /** Delete profiles and manual entries on the topic that the file does not list. */
  prune?: boolean;
  /** Publish only entries whose key the topic does not hold yet (seeding). */
  onlyMissing?: boolean;
  /** Validate and compare, publish nothing. */
  dryRun?: boolean;
  now?: number;
  /** Names the reader in logs and metrics. */
  service?: string;
}

export interface ApplyResult {
  published: string[];
  unchanged: string[];
  deleted: string[];
  /** Keys left alone because the topic holds them already (onlyMissing). */
  kept: string[];
}

/** Reads moat.config.v1 to its end; the caller stops the returned follower. */
export async function readConfig(
  runtime: StreamRuntime,
  service = 'profiles',
): Promise<ConfigFollower> {
  const follower = new ConfigFollower({
    runtime,
    service,
    validate: (entry) => validateConfigEntry(entry),
  });
  await follower.start();
  await follower.ready();
  return follower;
}

/** What applying `entries` to the topic's `current` entries publishes and deletes. */
export function planApply(
  entries: readonly ConfigEntry[],
  current: readonly ConfigEntry[],
  options: Pick<ApplyOptions, 'prune' | 'onlyMissing'> = {},
): { publish: ConfigEntry[]; unchanged: string[]; delete: string[]; kept: string[] } {
  const byKey = new Map(current.map((e) => [configKey(e), e]));
  const plan = {
    publish: [] as ConfigEntry[],
    unchanged: [] as string[],
    delete: [] as string[],
    kept: [] as string[],
  };
  const wanted = new Set<string>();
  for (const entry of entries) {
    const key = configKey(entry);
    wanted.add(key);
    const existing = byKey.get(key);
    if (existing && options.onlyMissing) plan.kept.push(key);
    else if (existing && sameContent(existing, entry)) plan.unchanged.push(key);
    else plan.publish.push(entry);
  }
  if (options.prune) {
    for (const key of byKey.keys()) if (!wanted.has(key)) plan.delete.push(key);
  }
  return plan;
}

/** Validates `file`, then publishes the entries that differ from the topic's (see ApplyOptions). */
export async function publishProfiles(
  runtime: StreamRuntime,
  file: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const entries = readProfileFile(file, options.now ?? Date.now());
  const follower = await readConfig(runtime, options.service ?? 'profiles');
  let plan: ReturnType<typeof planApply>;
  try {
    plan = planApply(entries, follower.all(), options);
  } finally {
    await follower.stop();
  }
  if (!options.dryRun) {
    const messages = [
      ...plan.publish.map((e) => ({ key: configKey(e), value: e })),
      ...plan.delete.map((key) => ({ key, value: null })),
    ];
    if (messages.length > 0)
      await runtime.publish('config', messages, options.service ?? 'profiles');
  }
  return {
    published: plan.publish.map(configKey),
    unchanged: plan.unchanged,
    deleted: plan.delete,
    kept: plan.kept,
  };
}

/** Same entry apart from when it was written (key order does not matter). */
function sameContent(a: ConfigEntry, b: ConfigEntry): boolean {
  return stable({ ...a, updatedAt: 0 }) === stable({ ...b, updatedAt: 0 });
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
