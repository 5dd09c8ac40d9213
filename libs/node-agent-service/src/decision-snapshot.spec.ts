import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '@moat/contracts';
import { CONFIRMED, DecisionIndex, PROVISIONAL } from './decision-index';
import { readSnapshot, writeSnapshot } from './decision-snapshot';

const NOW = 1_764_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'moat-snapshot-spec-'));

function decision(action: Decision['action'], expiresAt = NOW + 60_000, app?: string): Decision {
  return {
    v: 1,
    subject: 'x',
    action,
    source: action === 'allow' ? 'manual' : 'auto',
    botTypes: action === 'deny' ? ['scraping', 'security-crawler'] : [],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: NOW,
    expiresAt,
    ...(app ? { app } : {}),
  };
}

describe('decision snapshot', () => {
  it('round-trips every kind of entry and skips the expired ones', async () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.7', decision('deny'));
    index.apply('10.0.0.0/8', decision('allow'));
    index.apply('2001:db8::1', decision('graylist', NOW + 60_000, 'shop.example'));
    index.apply('2001:db8:1::/48', decision('deny'));
    index.apply('192.0.2.1', decision('deny', NOW - 1));
    const path = join(dir, 'a', 'decisions.snapshot');
    const written = await writeSnapshot(path, index, { topic: 't.decisions.v1', now: NOW });
    expect(written).toMatchObject({ entries: 4, topic: 't.decisions.v1', writtenAt: NOW });
    expect(readdirSync(join(dir, 'a'))).toEqual(['decisions.snapshot']);

    const copy = new DecisionIndex();
    const read = await readSnapshot(path, copy, { now: NOW });
    expect(read).toMatchObject({ entries: 4, writtenAt: NOW, bytes: written.bytes });
    for (const ip of [
      '203.0.113.7',
      '10.1.1.1',
      '2001:db8::1',
      '2001:db8:1:5::9',
      '192.0.2.1',
      '8.8.8.8',
    ]) {
      expect(copy.lookup(ip, NOW)).toEqual(index.lookup(ip, NOW));
    }
    expect(copy.lookup('2001:db8::1', NOW).match?.meta.app).toBe('shop.example');
  });

  it('loads entries as provisional so that the topic can confirm or drop them', async () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.7', decision('deny'));
    index.apply('203.0.113.8', decision('deny'));
    const path = join(dir, 'b.snapshot');
    await writeSnapshot(path, index, { topic: 't', now: NOW });
    const copy = new DecisionIndex();
    await readSnapshot(path, copy, { now: NOW });
    copy.apply('203.0.113.8', decision('deny'), CONFIRMED);
    DecisionIndex.drain(copy.dropGeneration(PROVISIONAL));
    expect(copy.lookup('203.0.113.7', NOW).action).toBe('allow');
    expect(copy.lookup('203.0.113.8', NOW).action).toBe('deny');
  });

  it('skips what expired since it was written', async () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.7', decision('deny', NOW + 10));
    const path = join(dir, 'c.snapshot');
    await writeSnapshot(path, index, { topic: 't', now: NOW });
    const copy = new DecisionIndex();
    expect((await readSnapshot(path, copy, { now: NOW + 10 }))?.entries).toBe(0);
    expect(copy.size).toBe(0);
  });

  it('says there is none when the file is missing', async () => {
    expect(await readSnapshot(join(dir, 'missing.snapshot'), new DecisionIndex())).toBeUndefined();
  });

  it('refuses a corrupt or truncated snapshot with a clear error', async () => {
    const index = new DecisionIndex();
    index.apply('203.0.113.7', decision('deny'));
    const path = join(dir, 'd.snapshot');
    await writeSnapshot(path, index, { topic: 't', now: NOW });
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    await expect(readSnapshot(path, new DecisionIndex(), { now: NOW })).rejects.toThrow(
      'checksum mismatch: truncated or corrupt',
    );
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40] ^= 1;
    writeFileSync(path, flipped);
    await expect(readSnapshot(path, new DecisionIndex(), { now: NOW })).rejects.toThrow(
      'checksum mismatch',
    );
    writeFileSync(path, 'hello');
    await expect(readSnapshot(path, new DecisionIndex(), { now: NOW })).rejects.toThrow(
      'not a Moat snapshot',
    );
  });

  it('reports a write it cannot do and leaves no temporary file', async () => {
    const blocker = join(dir, 'file-not-dir');
    writeFileSync(blocker, 'x');
    await expect(
      writeSnapshot(join(blocker, 'decisions.snapshot'), new DecisionIndex(), { topic: 't' }),
    ).rejects.toThrow('cannot write the decision snapshot');
  });
});
