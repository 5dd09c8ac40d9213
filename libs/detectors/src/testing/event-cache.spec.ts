import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { collectSessionEvents, population, simulate } from '@moat/simulator';
import { cached, decode, encode, simulatorSourceHash, simulatorSources } from './event-cache';

const ROOT = resolve(__dirname, '../../../..');

describe('simulated population cache', () => {
  let dir: string;
  const setting = process.env.MOAT_SIMULATOR_CACHE;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-simulator-cache-'));
    process.env.MOAT_SIMULATOR_CACHE = dir;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (setting === undefined) delete process.env.MOAT_SIMULATOR_CACHE;
    else process.env.MOAT_SIMULATOR_CACHE = setting;
  });

  it('gives back exactly the sessionized events it stored', async () => {
    // People, and a campaign whose events carry authentication outcomes and user name hashes.
    const options = population(5, { humans: 150, botsPerScenario: 0, spoof: false });
    options.bots = [{ scenario: 'credential-stuffing', count: 1, spoofUserAgent: true }];
    options.durationMs = 3_600_000;
    const events = await collectSessionEvents(simulate(options), { secret: 'cache-spec' });
    expect(events.length).toBeGreaterThan(1_000);
    expect(events.some((e) => e.event.auth !== undefined)).toBe(true);
    expect(decode(encode(events))).toEqual(events);
  });

  it('keeps every kind of JSON value, key order, and keys that look special', () => {
    const value = {
      n: [0, -1.5, 1e300, Number.MAX_SAFE_INTEGER, 0.1 + 0.2],
      s: ['', 'é ✓ 🐍', 'same', 'same'],
      b: [true, false, null],
      nested: { z: 1, a: { deep: [[], {}, [{ x: 'y' }]] } },
      ['__proto__']: { injected: true },
      'a"b\\c': 'quotes',
    };
    const back = decode(encode(value)) as typeof value;
    expect(back).toEqual(value);
    expect(Object.keys(back)).toEqual(Object.keys(value));
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('builds on a miss, reads on a hit, and drops entries of other sources', async () => {
    writeFileSync(join(dir, '0000000000000000-stale.bin'), 'from older code');
    const make = jest.fn(async () => [{ a: 1 }]);
    expect(await cached({ seed: 1 }, make)).toEqual([{ a: 1 }]);
    expect(await cached({ seed: 1 }, make)).toEqual([{ a: 1 }]);
    expect(make).toHaveBeenCalledTimes(1);
    await cached({ seed: 2 }, make);
    expect(make).toHaveBeenCalledTimes(2);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    expect(files.every((f) => f.startsWith(`${simulatorSourceHash()}-`))).toBe(true);
  });

  it('is off when asked', async () => {
    process.env.MOAT_SIMULATOR_CACHE = 'off';
    const make = jest.fn(async () => 1);
    await cached({ seed: 1 }, make);
    await cached({ seed: 1 }, make);
    expect(make).toHaveBeenCalledTimes(2);
  });

  it('keys entries by the source of the simulator and everything it imports, not by specs', () => {
    const files = simulatorSources().map((f) => relative(ROOT, f));
    for (const lib of ['simulator', 'sessionizer-service', 'mirror-service', 'contracts'])
      expect(files.some((f) => f.startsWith(`libs/${lib}/src/`))).toBe(true);
    expect(files).toContain('libs/simulator/src/bots.ts');
    expect(files).toContain('libs/detectors/src/testing/simulated-traffic.ts');
    expect(files).toContain('package-lock.json');
    expect(files.filter((f) => f.endsWith('.spec.ts'))).toEqual([]);
    // Detectors are what the specs test, not what generates their input.
    expect(
      files.filter((f) => f.startsWith('libs/detectors/src/') && !f.includes('/testing/')),
    ).toEqual([]);
  });
});
