/**
 * Measures the simulator: requests generated per second for a preset, and the throughput of
 * the same traffic through the real normaliser and sessionizer. Prints what it measured.
 *
 *   npm run bench:simulator -- [preset] [max requests]
 */
import { toRequestRecords, toSessionEvents } from './pipeline';
import { PRESETS, type PresetName } from './population';
import { simulate } from './simulate';

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function count(items: Iterable<unknown>): number {
  const iterator = items[Symbol.iterator]();
  let n = 0;
  while (!iterator.next().done) n++;
  return n;
}

function* limited<T>(items: Iterable<T>, max: number): Generator<T> {
  let n = 0;
  for (const item of items) {
    if (n++ >= max) return;
    yield item;
  }
}

async function main(): Promise<void> {
  const preset = (process.argv[2] ?? 'standard') as PresetName;
  if (!(preset in PRESETS))
    throw new Error(`unknown preset ${preset}; one of ${Object.keys(PRESETS).join(', ')}`);
  const max = Number(process.argv[3] ?? Infinity);
  const options = PRESETS[preset](1);
  const line = (what: string, n: number, s: number) =>
    console.log(
      `${what.padEnd(34)} ${String(n).padStart(9)} requests in ${s.toFixed(2).padStart(6)} s = ${Math.round(
        n / s,
      )
        .toLocaleString('en-US')
        .padStart(9)} /s`,
    );

  let t = process.hrtime.bigint();
  const n = count(limited(simulate(options), max));
  line(`generate (${preset})`, n, seconds(t));

  const sample = Math.min(n, 200_000);
  t = process.hrtime.bigint();
  const records = count(
    toRequestRecords(limited(simulate(options), sample), 'bench-secret-0123456789'),
  );
  line('generate + normalise', records, seconds(t));

  t = process.hrtime.bigint();
  let events = 0;
  for await (const event of toSessionEvents(limited(simulate(options), sample), {
    secret: 'bench-secret-0123456789',
  }))
    events += event.event.session.requestCount > 0 ? 1 : 0;
  line('generate + normalise + sessionize', events, seconds(t));
  const memory = process.memoryUsage();
  console.log(
    `heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB, rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB`,
  );
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
