import { topicNames, type ConfigEntry, type Decision } from '@moat/contracts';
import { Emitter, type InRecord } from '@moat/stream-kit';
import { configEntriesHandler } from './config-entries.handler';

const T = 1_764_000_000_000;
const topics = topicNames('unit');

async function handle(records: [string | null, ConfigEntry | null][]) {
  const out = new Emitter(topics);
  const dead: [string | null, string][] = [];
  await configEntriesHandler()(
    records.map(([key, value], i): InRecord<ConfigEntry> => ({
      topic: 'unit.config.v1',
      partition: 0,
      offset: String(i),
      key,
      value,
      timestamp: 0,
    })),
    { out, deadLetter: (record, reason) => dead.push([record.key, reason]) },
  );
  const published = out.drain().map((m) => ({
    key: m.key,
    decision: m.value === null ? null : (JSON.parse(m.value.toString()) as Decision),
  }));
  return { published, dead };
}

const manual = (subject: string, overrides: Partial<ConfigEntry> = {}): ConfigEntry =>
  ({
    v: 1,
    kind: 'manual-decision',
    updatedAt: T,
    subject,
    action: 'allow',
    ...overrides,
  }) as ConfigEntry;

describe('configEntriesHandler', () => {
  it('publishes a manual entry as a decision keyed by its subject, and lifts it when the entry is deleted', async () => {
    const { published, dead } = await handle([
      ['manual-decision:198.51.100.0/24', manual('198.51.100.0/24', { note: 'office' })],
      [
        'manual-decision:203.0.113.9',
        manual('203.0.113.9', { action: 'deny', expiresAt: T + 1000 }),
      ],
      ['manual-decision:198.51.100.0/24', null],
    ]);
    expect(dead).toEqual([]);
    expect(
      published.map((p) => [p.key, p.decision?.action ?? null, p.decision?.expiresAt]),
    ).toEqual([
      ['198.51.100.0/24', 'allow', 8.64e15],
      ['203.0.113.9', 'deny', T + 1000],
      ['198.51.100.0/24', null, undefined],
    ]);
    expect(published[0].decision).toMatchObject({
      source: 'manual',
      profile: 'manual',
      note: 'office',
    });
  });

  it('dead-letters an entry scoring refuses, with the field, and changes no decision', async () => {
    const { published, dead } = await handle([
      ['manual-decision:10.0.0.5/8', manual('10.0.0.5/8')],
      ['manual-decision:10.0.0.1', manual('10.0.0.1', { expiresAt: T - 1 })],
      ['manual-decision:10.0.0.2', manual('10.0.0.1')],
      [
        'profile:p',
        {
          v: 1,
          kind: 'profile',
          updatedAt: T,
          profile: {
            name: 'p',
            botTypes: ['scraping'],
            sensitivity: 'low',
            threshold: 0.3,
            reaction: 'deny',
            durationMs: 60_000,
            applications: ['*'],
          },
        },
      ],
      ['weights:x', manual('10.0.0.1')],
    ]);
    expect(published).toEqual([]);
    expect(dead.map(([key, reason]) => [key, reason.split(':')[0]])).toEqual([
      ['manual-decision:10.0.0.5/8', '/subject'],
      ['manual-decision:10.0.0.1', '/expiresAt'],
      ['manual-decision:10.0.0.2', '(key)'],
      ['profile:p', '/profile/threshold'],
      ['weights:x', '(key)'],
    ]);
  });

  it('publishes nothing for a valid profile (every scoring instance follows profiles itself)', async () => {
    const { published, dead } = await handle([['profile:p', null]]);
    expect(published).toEqual([]);
    expect(dead).toEqual([]);
  });
});
