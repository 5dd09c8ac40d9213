// Ingest throughput of one mirror-agent process into the real Kafka: (1) an NGINX JSON access
// log followed from a file, (2) HTTP batches to POST /v1/requests. For each run a fresh agent
// starts on a fresh topic prefix; the clock runs from handing it the traffic to the last record
// acknowledged on <prefix>.requests.v1 (end offsets summed over partitions). Prints every run,
// the medians, and the agent's CPU time per 1,000 events.
//
//   npm run build && node tools/bench/mirror-ingest.mjs [--lines 200000] [--runs 3]
//     [--compression gzip,none] [--modes file,http] [--batch 1000] [--concurrency 4]
//
// Needs the Kafka broker (bash scripts/kafka.sh start) and Redis (the agent's state-store probe).
// Traffic comes from the simulator (libs/simulator), generated once into tmp/bench/.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(ROOT, 'package.json'));
const { args } = {
  args: parseArgs({
    options: {
      lines: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '3' },
      compression: { type: 'string', default: 'gzip,none' },
      modes: { type: 'string', default: 'file,http' },
      batch: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '4' },
    },
  }).values,
};
const LINES = Number(args.lines);
const RUNS = Number(args.runs);
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORK = join(ROOT, 'tmp', 'bench');

for (const built of ['apps/mirror-agent/dist/main.js', 'libs/simulator/dist/cli.js']) {
  if (!existsSync(join(ROOT, built))) {
    console.error(`mirror-ingest: ${built} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}
const { KafkaBus, createDistributedRuntime, probeInfrastructure } = require('@moat/stream-kit');
const { createLogger } = require('@moat/observability');
const { createLineParser } = require('@moat/mirror-service');

await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err) => {
  console.error(
    `mirror-ingest: Kafka or Redis unreachable (${err.message}); start them (bash scripts/kafka.sh start)`,
  );
  process.exit(1);
});

mkdirSync(WORK, { recursive: true });
const log = join(WORK, `simulated-${LINES}.nginx.log`);
if (!existsSync(log)) {
  console.error(`generating ${LINES} lines of simulated NGINX JSON log → ${log}`);
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'libs/simulator/dist/cli.js'),
      '--preset',
      'standard',
      '--format',
      'nginx',
      '--limit',
      String(LINES),
      '--out',
      log,
      '--labels',
      `${log}.labels.jsonl`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

const quiet = createLogger('bench', 'fatal');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function endOffsetSum(bus, topic) {
  let sum = 0;
  for (const high of (await bus.endOffsets(topic)).values()) sum += Number(high);
  return sum;
}

async function startAgent(prefix, dir, compression, port) {
  const out = createWriteStream(join(dir, 'agent.log'));
  const child = spawn(process.execPath, [join(ROOT, 'apps/mirror-agent/dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: BROKERS.join(','),
      REDIS_URL,
      MOAT_TOPIC_PREFIX: prefix,
      MOAT_TOPIC_PARTITIONS: '6',
      MOAT_REDIS_PREFIX: `${prefix}:`,
      MOAT_HASH_SECRET: 'bench-secret-0123456789abcdef',
      MOAT_MIRROR_COMPRESSION: compression,
      MOAT_TAIL_FILES: join(dir, 'access.log'),
      MOAT_TAIL_START: 'beginning',
      MOAT_TAIL_STATE_DIR: join(dir, 'state'),
      MOAT_MIRROR_MAX_BATCH: '5000',
      LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return child;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the agent did not start; see ${join(dir, 'agent.log')}`);
    await sleep(100);
  }
}

/** The simulated log as HTTP batch bodies (mirror input), encoded before the clock starts. */
function httpBodies(batch) {
  const parse = createLineParser({ format: 'nginx-json' });
  const bodies = [];
  let items = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    const parsed = parse(line);
    if (!parsed.ok) continue;
    const { partialHeaders: _p, ...input } = parsed.entry.input;
    items.push(input);
    if (items.length === batch) {
      bodies.push(Buffer.from(JSON.stringify(items)));
      items = [];
    }
  }
  if (items.length) bodies.push(Buffer.from(JSON.stringify(items)));
  return bodies;
}

function post(port, agent, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/requests',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(mode, compression, i, bodies) {
  const prefix = `bench-ingest-${Date.now()}-${mode}-${compression}-${i}`;
  const dir = join(WORK, prefix);
  mkdirSync(dir, { recursive: true });
  const runtime = createDistributedRuntime({
    service: 'bench',
    brokers: BROKERS,
    topicPrefix: prefix,
    partitions: 6,
    replicationFactor: 1,
    redisUrl: REDIS_URL,
    redisPrefix: `${prefix}:`,
    store: 'memory',
    logger: quiet,
  });
  await runtime.start(); // topics exist before the clock starts
  const bus = new KafkaBus({
    brokers: BROKERS,
    clientId: `${prefix}-probe`,
    partitions: 6,
    replicationFactor: 1,
    logger: quiet,
  });
  await bus.connect();
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const agent = await startAgent(prefix, dir, compression, port);
  const topic = runtime.topics.requests;
  const expected = mode === 'file' ? LINES : bodies.reduce((n, b) => n + JSON.parse(b).length, 0);
  const cpu0 = cpuSeconds(agent.pid);
  const t0 = process.hrtime.bigint();
  if (mode === 'file') {
    linkSync(log, join(dir, 'access.log'));
  } else {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: Number(args.concurrency) });
    let next = 0;
    let refused = 0;
    const worker = async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        for (;;) {
          const status = await post(port, keepAlive, body);
          if (status === 202) break;
          if (status !== 429 && status !== 503) throw new Error(`the agent answered ${status}`);
          refused++;
          await sleep(20);
        }
      }
    };
    await Promise.all(Array.from({ length: Number(args.concurrency) }, worker));
    keepAlive.destroy();
    if (refused) console.error(`  (${refused} batches answered 429/503 and were retried)`);
  }
  let published = 0;
  while ((published = await endOffsetSum(bus, topic)) < expected) {
    if (Number(process.hrtime.bigint() - t0) / 1e9 > 600)
      throw new Error(`only ${published}/${expected} after 600 s`);
    await sleep(20);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(agent.pid) - cpu0;
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await bus.close();
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    compression,
    run: i + 1,
    events: published,
    seconds,
    perSecond: published / seconds,
    cpuMsPerThousand: (cpu / published) * 1e6,
  };
}

/** What gzip does to these records: the size ratio and the CPU it costs, on 2,000-record batches. */
function gzipCost() {
  const { gzipSync } = require('node:zlib');
  const { Normaliser } = require('@moat/mirror-service');
  const parse = createLineParser({ format: 'nginx-json' });
  const normaliser = new Normaliser({
    secret: 'bench-secret-0123456789abcdef',
    defaultApp: 'default',
    sessionCookies: [],
    apiKeyHeaders: [],
  });
  const records = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, 20_000)
    .map((line) =>
      Buffer.from(JSON.stringify(normaliser.normalise(parse(line).entry.input, 'nginx-json'))),
    );
  let raw = 0;
  let packed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += 2000) {
    const batch = Buffer.concat(records.slice(i, i + 2000));
    raw += batch.length;
    packed += gzipSync(batch).length;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3;
  return {
    bytesPerRecord: Math.round(raw / records.length),
    ratio: Number((raw / packed).toFixed(1)),
    cpuMicrosPerRecord: Number((us / records.length).toFixed(2)),
  };
}

console.error(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const modes = args.modes.split(',');
const bodies = modes.includes('http') ? httpBodies(Number(args.batch)) : [];
const results = [];
for (const mode of modes) {
  for (const compression of args.compression.split(',')) {
    for (let i = 0; i < RUNS; i++) {
      const r = await run(mode, compression, i, bodies);
      results.push(r);
      console.log(
        `${mode.padEnd(5)} ${compression.padEnd(5)} run ${r.run}: ${r.events} events in ${r.seconds.toFixed(2)} s = ${Math.round(r.perSecond).toLocaleString('en-US')} events/s (agent CPU ${r.cpuMsPerThousand.toFixed(1)} ms per 1,000)`,
      );
    }
  }
}
console.log('\nmedians:');
const summary = [];
for (const mode of modes) {
  for (const compression of args.compression.split(',')) {
    const rs = results.filter((r) => r.mode === mode && r.compression === compression);
    const row = {
      mode,
      compression,
      runs: rs.length,
      eventsPerSecond: Math.round(median(rs.map((r) => r.perSecond))),
      agentCpuMsPerThousand: Number(median(rs.map((r) => r.cpuMsPerThousand)).toFixed(1)),
    };
    summary.push(row);
    console.log(
      `  ${mode.padEnd(5)} ${compression.padEnd(5)} ${row.eventsPerSecond.toLocaleString('en-US')} events/s, agent CPU ${row.agentCpuMsPerThousand} ms per 1,000 events`,
    );
  }
}
const gzip = gzipCost();
console.log(
  `\ngzip on these records: ${gzip.bytesPerRecord} bytes each, ${gzip.ratio}× smaller, ${gzip.cpuMicrosPerRecord} µs of CPU per record`,
);
console.log(
  JSON.stringify({
    bench: 'mirror-ingest',
    gzip,
    lines: LINES,
    batch: Number(args.batch),
    concurrency: Number(args.concurrency),
    load: loadavg()[0],
    summary,
  }),
);
