// Node agent benchmark 1/3: the in-process decision index with a million decisions loaded —
// memory per entry, lookups per second, and what the snapshot of it costs.
//
//   npm run build && node --expose-gc tools/bench/node-agent-index.mjs [--decisions 1000000] [--runs 3]
//
// Decisions: 90 % single IPv4 addresses, 5 % IPv6 addresses, 3 % IPv4 /24 and 2 % IPv6 /64
// networks; 80 % deny, 19 % graylist, 1 % allow; six bot-type combinations and two profiles,
// as scoring emits them. Memory is measured after a full GC, as the growth of the V8 heap plus
// the typed arrays (process.memoryUsage: heapUsed + arrayBuffers) between an empty process and
// the loaded index, divided by the entries. Lookups mix hits and misses over both families.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const {
  BlockResponses,
  CriticalEndpoints,
  DecisionIndex,
  Enforcer,
  ForwardAuth,
  GraylistLimiter,
  readSnapshot,
  writeSnapshot,
} = require('@moat/node-agent-service');
const { PipelineMetrics } = require('@moat/observability');
const { TrustedProxies } = require('@moat/contracts');

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '1000000' },
    lookups: { type: 'string', default: '5000000' },
    seed: { type: 'string', default: '7' },
    runs: { type: 'string', default: '3' },
  },
});
const N = Number(values.decisions);
const LOOKUPS = Number(values.lookups);
if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc (memory is measured after a full GC)');
  process.exit(2);
}

let seed = Number(values.seed) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const v4 = () => `${1 + int(223)}.${int(256)}.${int(256)}.${int(256)}`;
const v6 = () =>
  `2001:db8:${int(65536).toString(16)}:${int(65536).toString(16)}::${int(65536).toString(16)}`;

const BOT_TYPES = [
  ['scraping'],
  ['account-takeover'],
  ['security-crawler'],
  ['suspicious-api-activity'],
  ['scraping', 'suspicious-api-activity'],
  ['unrestricted-resource-consumption'],
];
const now = Date.now();
function decision(subject) {
  const r = rand();
  const action = r < 0.8 ? 'deny' : r < 0.99 ? 'graylist' : 'allow';
  return {
    v: 1,
    subject,
    action,
    source: action === 'allow' ? 'manual' : 'auto',
    botTypes: action === 'allow' ? [] : BOT_TYPES[int(BOT_TYPES.length)],
    confidence: 0.7 + rand() * 0.3,
    detectors: [],
    profile: r < 0.5 ? 'default' : 'strict',
    createdAt: now,
    expiresAt: now + 3_600_000 + int(3_600_000),
  };
}

function subjectAt(i) {
  const r = rand();
  if (r < 0.9) return v4();
  if (r < 0.95) return v6();
  if (r < 0.98) return `${1 + int(223)}.${int(256)}.${int(256)}.0/24`;
  return `2001:db8:${int(65536).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
}

const mem = () => {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// Decisions are generated while loading and dropped once applied. The index's memory is its
// retained size: the heap with the index minus the heap once it is released (both after a full
// GC). The index is only ever touched inside helper functions, whose frames are gone when they
// return, so that no stale register of this module's frame keeps it alive.
const holder = { index: undefined };
const sample = [];
const before = mem();
const applyMs = (() => {
  const index = new DecisionIndex();
  let ms = 0;
  for (let i = 0; i < N; i++) {
    const subject = subjectAt(i);
    const d = decision(subject);
    if (i % 10 === 0 && sample.length < 100_000) sample.push(subject);
    const t0 = performance.now();
    index.apply(subject, d);
    ms += performance.now() - t0;
  }
  holder.index = index;
  return ms;
})();
const entries = holder.index.size;
const counts = holder.index.countByAction();

// Probes: half are stored subjects (or an address inside a stored network), half random.
const probes = new Array(100_000);
for (let i = 0; i < probes.length; i++) {
  if (i % 2 === 0) {
    const s = sample[int(sample.length)];
    probes[i] = s.includes('/') ? s.replace(/0\/24$/, '77').replace(/::\/64$/, '::5') : s;
  } else {
    probes[i] = rand() < 0.9 ? v4() : v6();
  }
}
const v4Only = probes.filter((p) => !p.includes(':'));

/** Runs `count` lookups over `list`: wall ms, CPU ms and how many were not allowed. */
function timeLookups(list, count) {
  const index = holder.index;
  for (let i = 0; i < 200_000; i++) index.lookup(list[i % list.length], now); // warm up
  let hits = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (index.lookup(list[i % list.length], now).action !== 'allow') hits++;
  }
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, hits };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = [];
for (let r = 0; r < Number(values.runs); r++) {
  const mixed = timeLookups(probes, LOOKUPS);
  const v4Run = timeLookups(v4Only, LOOKUPS);
  runs.push({
    lookupsPerSecond: Math.round(LOOKUPS / (mixed.wallMs / 1000)),
    lookupsPerCpuSecond: Math.round(LOOKUPS / (mixed.cpuMs / 1000)),
    ipv4LookupsPerSecond: Math.round(LOOKUPS / (v4Run.wallMs / 1000)),
    ipv4LookupsPerCpuSecond: Math.round(LOOKUPS / (v4Run.cpuMs / 1000)),
    hitShare: +(mixed.hits / LOOKUPS).toFixed(3),
    loadAverage1m: +os.loadavg()[0].toFixed(2),
  });
  console.error(`run ${r + 1}: ${JSON.stringify(runs[r])}`);
}

/**
 * The agent's whole work for one forward-auth check, without HTTP: client address through
 * trusted proxies, lookup, graylist, answer (headers, body). CPU µs per check.
 */
function timeForwardAuth(count) {
  const auth = new ForwardAuth({
    enforcer: new Enforcer({
      index: holder.index,
      critical: new CriticalEndpoints(['default']),
      limiter: new GraylistLimiter({ ratePerSecond: 1, burst: 20 }),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    }),
    proxies: new TrustedProxies(['127.0.0.1/32', '::1/128']),
    responses: new BlockResponses(),
  });
  const requests = probes.slice(0, 1000).map((ip, i) => ({
    peer: '127.0.0.1',
    method: 'GET',
    url: '/v1/check',
    headers: {
      'x-forwarded-for': `${ip}, 127.0.0.1`,
      'x-original-uri': i % 20 === 0 ? '/api/login' : `/api/products/${i}`,
      'x-original-method': 'GET',
    },
  }));
  for (let i = 0; i < 100_000; i++) auth.answer(requests[i % requests.length]);
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) auth.answer(requests[i % requests.length]);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / count;
}
const forwardAuthCpuMicros = [];
for (let r = 0; r < Number(values.runs); r++) forwardAuthCpuMicros.push(timeForwardAuth(1_000_000));

const dir = mkdtempSync(join(tmpdir(), 'moat-bench-snapshot-'));
const path = join(dir, 'decisions.snapshot');
const { written, writeMs } = await (async () => {
  const t0 = performance.now();
  const info = await writeSnapshot(path, holder.index, { topic: 'bench.decisions.v1', now });
  return { written: info, writeMs: performance.now() - t0 };
})();

const withIndex = mem();
const grownBy = withIndex - before;
holder.index = undefined;
const withoutIndex = mem();
const bytesPerEntry = (withIndex - withoutIndex) / entries;

const loaded = new DecisionIndex();
let t = performance.now();
const read = await readSnapshot(path, loaded, { now });
const readMs = performance.now() - t;
rmSync(dir, { recursive: true, force: true });
t = performance.now();
const swept = DecisionIndex.drain(loaded.sweepExpired(now + 5_000_000));
const sweepMs = performance.now() - t;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const results = {
  node: process.version,
  decisions: N,
  entries,
  countByAction: counts,
  sharedMetadataRecords: loaded.metadataCount,
  memoryBytesPerEntry: Math.round(bytesPerEntry),
  memoryTotalMiB: +((withIndex - withoutIndex) / 2 ** 20).toFixed(1),
  heapGrowthFromEmptyMiB: +(grownBy / 2 ** 20).toFixed(1),
  applyPerSecond: Math.round(N / (applyMs / 1000)),
  runs,
  lookupsPerSecond: median(runs.map((r) => r.lookupsPerSecond)),
  lookupsPerCpuSecond: median(runs.map((r) => r.lookupsPerCpuSecond)),
  ipv4LookupsPerSecond: median(runs.map((r) => r.ipv4LookupsPerSecond)),
  ipv4LookupsPerCpuSecond: median(runs.map((r) => r.ipv4LookupsPerCpuSecond)),
  lookupHitShare: runs[0].hitShare,
  forwardAuthAnswerCpuMicrosPerCheck: +median(forwardAuthCpuMicros).toFixed(2),
  forwardAuthAnswerRuns: forwardAuthCpuMicros.map((x) => +x.toFixed(2)),
  snapshotBytes: written.bytes,
  snapshotWriteMs: Math.round(writeMs),
  snapshotReadMs: Math.round(readMs),
  snapshotEntriesRead: read.entries,
  sweepOfAllExpiredMs: Math.round(sweepMs),
  swept,
};
console.log(JSON.stringify(results, null, 2));
console.log(
  `\n${fmt(entries)} decisions: ${results.memoryBytesPerEntry} bytes/entry (${results.memoryTotalMiB} MiB), ` +
    `median of ${runs.length}: ${fmt(results.lookupsPerSecond)} lookups/s mixed ` +
    `(${fmt(results.lookupsPerCpuSecond)} per CPU second), ${fmt(results.ipv4LookupsPerSecond)} IPv4 lookups/s ` +
    `(${fmt(results.ipv4LookupsPerCpuSecond)} per CPU second), applied at ${fmt(results.applyPerSecond)}/s; ` +
    `snapshot ${(written.bytes / 2 ** 20).toFixed(1)} MiB written in ${results.snapshotWriteMs} ms, read in ${results.snapshotReadMs} ms`,
);
