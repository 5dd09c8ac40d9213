/**
 * The profile file: profiles and manual entries as an operator writes them, validated with
 * one clear error per mistake naming the field (a JSON pointer into the file), and turned into
 * moat.config.v1 entries. Friendlier than the wire format: a named sensitivity or a threshold
 * (default medium), durations as `90m`/`2h`/`7d` (default 1 hour), bot types defaulting to
 * all, applications to every application (`*`).
 *
 * ```json
 * {
 *   "profiles": [
 *     { "name": "login", "botTypes": ["account-takeover"], "sensitivity": "high",
 *       "reaction": "deny", "duration": "2h", "applications": ["shop.example"] }
 *   ],
 *   "manual": [
 *     { "subject": "198.51.100.0/24", "action": "allow", "note": "office" },
 *     { "subject": "203.0.113.9", "action": "deny", "for": "12h" }
 *   ]
 * }
 * ```
 */
import {
  APPLICATION_PATTERN,
  BOT_TYPES,
  DECISION_ACTIONS,
  PROFILE_REACTIONS,
  SENSITIVITIES,
  codecs,
  type BotType,
  type ConfigEntry,
  type ManualDecisionEntry,
  type Profile,
  type ProfileEntry,
  type ProfileReaction,
  type Sensitivity,
  parseSubject,
} from '@moat/contracts';
import type { ConfigProblem } from '@moat/stream-kit';
import { validateConfigEntry } from './policy';

export const DEFAULT_DURATION_MS = 3_600_000;
const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,128}$/;
const APP_PATTERN = new RegExp(APPLICATION_PATTERN);
const PROFILE_FIELDS = [
  'name',
  'description',
  'botTypes',
  'sensitivity',
  'threshold',
  'reaction',
  'duration',
  'durationMs',
  'applications',
];
const MANUAL_FIELDS = ['subject', 'action', 'expiresAt', 'for', 'note'];

export interface ProfileFile {
  entries: ConfigEntry[];
  problems: ConfigProblem[];
}

/** Parses `90m`, `2h`, `7d`, `30s`, `500ms` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[
    match[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Math.round(Number(match[1]) * unit);
}

/** Validates a parsed profile file; `now` stamps updatedAt and anchors `for` expiries. */
export function parseProfileFile(json: unknown, now: number): ProfileFile {
  const problems: ConfigProblem[] = [];
  const entries: ConfigEntry[] = [];
  if (!isObject(json)) {
    return {
      entries,
      problems: [{ field: '(root)', reason: 'expected an object with "profiles" and/or "manual"' }],
    };
  }
  for (const key of Object.keys(json)) {
    if (key !== 'profiles' && key !== 'manual') {
      problems.push({ field: `/${key}`, reason: 'unknown field; expected "profiles" or "manual"' });
    }
  }
  const names = new Set<string>();
  list(json.profiles, '/profiles', problems).forEach((input, i) => {
    const at = `/profiles/${i}`;
    const profile = parseProfile(input, at, problems);
    if (!profile) return;
    if (names.has(profile.name)) {
      problems.push({ field: `${at}/name`, reason: `profile "${profile.name}" is defined twice` });
      return;
    }
    names.add(profile.name);
    const entry: ProfileEntry = { v: 1, kind: 'profile', updatedAt: now, profile };
    if (finalCheck(entry, at, '/profile', problems)) entries.push(entry);
  });
  const subjects = new Set<string>();
  list(json.manual, '/manual', problems).forEach((input, i) => {
    const at = `/manual/${i}`;
    const entry = parseManual(input, at, now, problems);
    if (!entry) return;
    if (subjects.has(entry.subject)) {
      problems.push({ field: `${at}/subject`, reason: `"${entry.subject}" is listed twice` });
      return;
    }
    subjects.add(entry.subject);
    if (finalCheck(entry, at, '', problems)) entries.push(entry);
  });
  return { entries, problems };
}

/** Formats problems one per line: `<field>: <reason>`. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.reason}`).join('\n');
}

function parseProfile(input: unknown, at: string, problems: ConfigProblem[]): Profile | undefined {
  if (!isObject(input)) {
    problems.push({ field: at, reason: 'expected a profile object' });
    return undefined;
  }
  const before = problems.length;
  const fail = (field: string, reason: string) =>
    problems.push({ field: `${at}/${field}`, reason });
  for (const key of Object.keys(input)) {
    if (!PROFILE_FIELDS.includes(key)) {
      fail(key, `unknown field; a profile has ${PROFILE_FIELDS.join(', ')}`);
    }
  }
  const { name, description, sensitivity, threshold, reaction } = input;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    fail('name', 'required: 1-128 letters, digits, ".", "_" or "-"');
  }
  if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) {
    fail('description', 'expected text of at most 1024 characters');
  }

  let botTypes: BotType[] = [...BOT_TYPES];
  if (input.botTypes !== undefined) {
    if (!Array.isArray(input.botTypes) || input.botTypes.length === 0) {
      fail('botTypes', `expected a non-empty list of bot types (${BOT_TYPES.join(', ')})`);
    } else {
      botTypes = [];
      input.botTypes.forEach((type: unknown, i: number) => {
        if (typeof type !== 'string' || !(BOT_TYPES as readonly string[]).includes(type)) {
          fail(
            `botTypes/${i}`,
            `unknown bot type ${JSON.stringify(type)}; expected one of ${BOT_TYPES.join(', ')}`,
          );
        } else if (botTypes.includes(type as BotType)) {
          fail(`botTypes/${i}`, `"${type}" is listed twice`);
        } else botTypes.push(type as BotType);
      });
    }
  }

  let named: Sensitivity | undefined;
  if (sensitivity !== undefined) {
    if (typeof sensitivity !== 'string' || !(sensitivity in SENSITIVITIES)) {
      fail(
        'sensitivity',
        `unknown sensitivity ${JSON.stringify(sensitivity)}; expected one of ${Object.entries(
          SENSITIVITIES,
        )
          .map(([n, t]) => `${n} (${t})`)
          .join(', ')}`,
      );
    } else named = sensitivity as Sensitivity;
  }
  let value: number | undefined;
  if (threshold !== undefined) {
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
      fail(
        'threshold',
        `threshold ${JSON.stringify(threshold)} is out of range: use a number in (0, 1]`,
      );
    } else value = threshold;
  }
  if (named !== undefined && value !== undefined && SENSITIVITIES[named] !== value) {
    fail(
      'threshold',
      `threshold ${value} contradicts sensitivity "${named}" (${SENSITIVITIES[named]}): give one or the other`,
    );
  }
  const resolvedSensitivity: Sensitivity | undefined =
    named ?? (value === undefined ? 'medium' : undefined);
  const resolvedThreshold = value ?? SENSITIVITIES[resolvedSensitivity ?? 'medium'];

  if (
    typeof reaction !== 'string' ||
    !(PROFILE_REACTIONS as readonly string[]).includes(reaction)
  ) {
    fail('reaction', `required: one of ${PROFILE_REACTIONS.join(', ')}`);
  }

  let durationMs = DEFAULT_DURATION_MS;
  if (input.duration !== undefined && input.durationMs !== undefined) {
    fail('durationMs', 'give "duration" or "durationMs", not both');
  } else if (input.duration !== undefined) {
    const parsed = typeof input.duration === 'string' ? parseDuration(input.duration) : undefined;
    if (parsed === undefined || parsed < 1000) {
      fail('duration', 'expected a duration of at least 1s, such as 30m, 1h or 7d');
    } else durationMs = parsed;
  } else if (input.durationMs !== undefined) {
    if (!Number.isInteger(input.durationMs) || (input.durationMs as number) < 1000) {
      fail('durationMs', 'expected an integer number of milliseconds ≥ 1000');
    } else durationMs = input.durationMs as number;
  }

  let applications = ['*'];
  if (input.applications !== undefined) {
    if (!Array.isArray(input.applications) || input.applications.length === 0) {
      fail('applications', 'expected a non-empty list of application names or patterns');
    } else {
      applications = [];
      input.applications.forEach((pattern: unknown, i: number) => {
        if (typeof pattern !== 'string' || pattern.length > 253 || !APP_PATTERN.test(pattern)) {
          fail(
            `applications/${i}`,
            `malformed application pattern ${JSON.stringify(pattern)}: use a host or application name of letters, digits, ".", "-", "_", ":", "[", "]", with "*" for any run of characters`,
          );
        } else applications.push(pattern);
      });
    }
  }

  if (problems.length > before) return undefined;
  return {
    name: name as string,
    ...(description !== undefined ? { description: description as string } : {}),
    botTypes,
    ...(resolvedSensitivity !== undefined ? { sensitivity: resolvedSensitivity } : {}),
    threshold: resolvedThreshold,
    reaction: reaction as ProfileReaction,
    durationMs,
    applications,
  };
}

function parseManual(
  input: unknown,
  at: string,
  now: number,
  problems: ConfigProblem[],
): ManualDecisionEntry | undefined {
  if (!isObject(input)) {
    problems.push({ field: at, reason: 'expected a manual entry object' });
    return undefined;
  }
  const before = problems.length;
  const fail = (field: string, reason: string) =>
    problems.push({ field: `${at}/${field}`, reason });
  for (const key of Object.keys(input)) {
    if (!MANUAL_FIELDS.includes(key)) {
      fail(key, `unknown field; a manual entry has ${MANUAL_FIELDS.join(', ')}`);
    }
  }
  let subject = '';
  if (typeof input.subject !== 'string') fail('subject', 'required: an IPv4/IPv6 address or CIDR');
  else {
    const parsed = parseSubject(input.subject.trim());
    if ('problem' in parsed) fail('subject', parsed.problem);
    else subject = parsed.subject;
  }
  const action = input.action;
  if (typeof action !== 'string' || !(DECISION_ACTIONS as readonly string[]).includes(action)) {
    fail('action', `required: one of ${DECISION_ACTIONS.join(', ')}`);
  }
  let expiresAt: number | undefined;
  if (input.expiresAt !== undefined && input.for !== undefined) {
    fail('for', 'give "expiresAt" or "for", not both');
  } else if (input.for !== undefined) {
    const ms = typeof input.for === 'string' ? parseDuration(input.for) : undefined;
    if (ms === undefined || ms < 1000) fail('for', 'expected a duration such as 30m, 12h or 7d');
    else expiresAt = now + ms;
  } else if (input.expiresAt !== undefined) {
    const ms =
      typeof input.expiresAt === 'number'
        ? input.expiresAt
        : typeof input.expiresAt === 'string'
          ? Date.parse(input.expiresAt)
          : NaN;
    if (!Number.isInteger(ms) || ms < 0) {
      fail('expiresAt', 'expected an ISO date-time (2026-12-31T00:00:00Z) or epoch milliseconds');
    } else if (ms <= now) fail('expiresAt', `${new Date(ms).toISOString()} is already past`);
    else expiresAt = ms;
  }
  if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 1024)) {
    fail('note', 'expected text of at most 1024 characters');
  }
  if (problems.length > before) return undefined;
  return {
    v: 1,
    kind: 'manual-decision',
    updatedAt: now,
    subject,
    action: action as ManualDecisionEntry['action'],
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(input.note !== undefined ? { note: input.note as string } : {}),
  };
}

/** The contract's schema and scoring's checks, as the services will apply them. */
function finalCheck(
  entry: ConfigEntry,
  at: string,
  strip: string,
  problems: ConfigProblem[],
): boolean {
  const checked = codecs.config.check(entry);
  if (!checked.ok) {
    const match = /: (\S+) (.*)$/.exec(checked.reason);
    const field = match ? match[1].replace(strip, '') : '';
    problems.push({ field: `${at}${field === '(root)' ? '' : field}`, reason: checked.reason });
    return false;
  }
  const problem = validateConfigEntry(entry);
  if (problem) {
    problems.push({ field: `${at}${problem.field.replace(strip, '')}`, reason: problem.reason });
    return false;
  }
  return true;
}

function list(value: unknown, at: string, problems: ConfigProblem[]): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push({ field: at, reason: 'expected a list' });
    return [];
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
