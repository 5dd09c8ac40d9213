/**
 * Learned route templates: per application, which path positions hold values rather than
 * names. User names, slugs and file names are not numeric, UUID or hex, so the fixed rules
 * leave `/api/users/alice/wishlist` as it is; a position under one parent (`/api/users`) whose
 * values keep being new becomes `{param}`.
 *
 * The rule, per parent, over samples of SAMPLE requests: the share of a sample's requests
 * whose value was seen only once in it — the Good–Turing estimate of the chance that the next
 * value is new. Ids, user names and file names score high; a set of resource names, however
 * many, scores low once each has been requested a few times. When two consecutive samples
 * reach MIN_NEW_SHARE the position is a parameter (one is not enough: at first sight every
 * name is new); a sample below it starts the count over.
 * Only requests the application served (status < 400) teach: a scanner's or a fuzzer's storm
 * of 404s on invented paths does not turn real routes into parameters. Positions directly under
 * the root are never learned (a flood of invented top-level names must not collapse the whole
 * API into `/{param}/…`).
 *
 * Memory is bounded: MAX_CANDIDATES parents under observation across all applications (least
 * recently seen evicted), each with at most SAMPLE 32-bit value hashes; decisions for at most MAX_APPS
 * applications (Host headers are the client's to choose), MAX_DECISIONS each. Decisions are
 * final (a parameter stays a parameter) and small: they are what is persisted in the state
 * store and shared between replicas, as a union.
 */
export const PARAM = '{param}';
export const SAMPLE = 200;
export const MIN_NEW_SHARE = 0.6;
export const MAX_CANDIDATES = 2_000;
export const MAX_APPS = 256;
export const MAX_DECISIONS = 1_000;

interface Candidate {
  /** FNV-1a hash of a value → its count in the current sample. */
  counts: Map<number, number>;
  seen: number;
  /** Consecutive samples that looked like values. */
  passed: number;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

interface Decisions {
  variable: Set<string>;
  /** Decisions not yet written to the store. */
  unsaved: boolean;
}

export class RouteLearner {
  private readonly apps = new Map<string, Decisions>();
  private readonly candidates = new Map<string, Candidate>();

  private decisionsOf(app: string): Decisions {
    let decisions = this.apps.get(app);
    if (decisions) return decisions;
    // The least recently added goes; saved decisions come back from the store.
    if (this.apps.size >= MAX_APPS) this.apps.delete(this.apps.keys().next().value!);
    decisions = { variable: new Set(), unsaved: false };
    this.apps.set(app, decisions);
    return decisions;
  }

  /** Whether the position under `parent` (a route template prefix) is a learned parameter. */
  isVariable(app: string, parent: string): boolean {
    return this.apps.get(app)?.variable.has(parent) ?? false;
  }

  /** Counts `value` seen under `parent` in a served request; may decide the position. */
  observe(app: string, parent: string, value: string): void {
    if (parent === '' || this.isVariable(app, parent)) return;
    const id = `${app}\0${parent}`;
    let candidate = this.candidates.get(id);
    if (candidate) this.candidates.delete(id);
    else {
      if (this.candidates.size >= MAX_CANDIDATES)
        this.candidates.delete(this.candidates.keys().next().value!);
      candidate = { counts: new Map(), seen: 0, passed: 0 };
    }
    this.candidates.set(id, candidate); // most recently seen last
    candidate.seen++;
    const h = fnv1a(value);
    candidate.counts.set(h, (candidate.counts.get(h) ?? 0) + 1);
    if (candidate.seen < SAMPLE) return;
    let once = 0;
    for (const n of candidate.counts.values()) if (n === 1) once++;
    candidate.passed = once / candidate.seen >= MIN_NEW_SHARE ? candidate.passed + 1 : 0;
    candidate.counts = new Map();
    candidate.seen = 0;
    if (candidate.passed < 2) return;
    this.candidates.delete(id);
    const decisions = this.decisionsOf(app);
    if (decisions.variable.size < MAX_DECISIONS) {
      decisions.variable.add(parent);
      decisions.unsaved = true;
    }
  }

  /** Adds decisions read from the store (another replica's, or an earlier run's). */
  merge(app: string, stored: string | null): void {
    const parsed = parseDecisions(stored);
    if (parsed.length === 0 && !this.apps.has(app)) return;
    const decisions = this.decisionsOf(app);
    for (const parent of parsed) {
      if (decisions.variable.size >= MAX_DECISIONS) break;
      decisions.variable.add(parent);
      this.candidates.delete(`${app}\0${parent}`);
    }
    // What the store lacks (a concurrent writer won) must be written again.
    if (parsed.length < decisions.variable.size) decisions.unsaved = true;
  }

  /** Applications whose decisions should be written, with their serialised decisions. */
  takeUnsaved(): { app: string; value: string }[] {
    const out: { app: string; value: string }[] = [];
    for (const [app, decisions] of this.apps) {
      if (!decisions.unsaved) continue;
      decisions.unsaved = false;
      out.push({ app, value: JSON.stringify({ v: 1, variable: [...decisions.variable].sort() }) });
    }
    return out;
  }

  /** Learned parameter positions of an application (operations, tests). */
  decisions(app: string): string[] {
    return [...(this.apps.get(app)?.variable ?? [])].sort();
  }

  /** Parents under observation (bounded by MAX_CANDIDATES). */
  get observing(): number {
    return this.candidates.size;
  }
}

function parseDecisions(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const parsed = JSON.parse(stored) as { variable?: unknown };
    return Array.isArray(parsed.variable)
      ? parsed.variable.filter((p): p is string => typeof p === 'string').slice(0, MAX_DECISIONS)
      : [];
  } catch {
    return []; // unreadable decisions are relearned rather than blocking the sessionizer
  }
}
