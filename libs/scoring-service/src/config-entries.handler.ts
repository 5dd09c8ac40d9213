/**
 * Scoring's group consumer of moat.config.v1 (group `scoring-config`: each entry is handled by
 * one scoring instance, once, unlike the broadcast follower every instance runs). It turns
 * manual entries into decisions on moat.decisions.v1 keyed by their subject, and a deleted
 * manual entry into a tombstone. It is also where an invalid config entry is dead-lettered,
 * exactly once: schema violations by the batch pipeline, scoring's own checks here, with the
 * field in the reason. The entry in force stays in force either way (no decision changes).
 */
import { configKey, configKindOf, parseSubject, type ConfigEntry } from '@moat/contracts';
import type { BatchHandler } from '@moat/stream-kit';
import { manualDecision } from './manual';
import { validateConfigEntry } from './policy';

const MANUAL_PREFIX = 'manual-decision:';

export function configEntriesHandler(): BatchHandler<ConfigEntry> {
  return async (records, ctx) => {
    for (const record of records) {
      const key = record.key;
      if (key === null || configKindOf(key) === undefined) {
        ctx.deadLetter(record, `(key): config key ${JSON.stringify(key)} names no known kind`);
        continue;
      }
      if (record.value === null) {
        if (!key.startsWith(MANUAL_PREFIX)) continue;
        const parsed = parseSubject(key.slice(MANUAL_PREFIX.length));
        // Only a canonical subject was ever published (checkManualEntry refuses the others).
        if (!('problem' in parsed) && parsed.subject === key.slice(MANUAL_PREFIX.length)) {
          ctx.out.emit('decisions', parsed.subject, null);
        }
        continue;
      }
      const entry = record.value;
      const expected = configKey(entry);
      if (expected !== key) {
        ctx.deadLetter(record, `(key): key "${key}" does not name this entry: use "${expected}"`);
        continue;
      }
      const problem = validateConfigEntry(entry);
      if (problem) {
        ctx.deadLetter(record, `${problem.field}: ${problem.reason}`);
        continue;
      }
      if (entry.kind === 'manual-decision') {
        ctx.out.emit('decisions', entry.subject, manualDecision(entry));
      }
    }
  };
}
