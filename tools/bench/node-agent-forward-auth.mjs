// Node agent benchmark 2/3: forward-auth checks per second and latency percentiles, the node
// agent pinned to one core, autocannon on another, on the real Kafka with decisions loaded.
//
//   npm run build && node tools/bench/node-agent-forward-auth.mjs [--decisions 100000] [--runs 3]
//     [--connections 32] [--duration 10] [--agent-cpu 0] [--load-cpu 1]
//
// The agent is the built apps/node-agent (its check answered by node:http before Nest, see
// run-node-agent.ts) reading a fresh decisions topic; the load is GET /v1/check as NGINX
// auth_request sends it (X-Forwarded-For, X-Original-URI, X-Original-Method) over keep-alive
// connections, the client addresses cycling through a mix: 80 % without a decision, 10 %
// denied, 10 % graylisted (critical and non-critical URIs). Besides checks/s and autocannon's
// latency percentiles (whole milliseconds), it reads the agent's process_cpu_seconds_total
// around each run: CPU per check is what bounds one core, and contention inflates it far less
// than it does wall-clock rates on a shared machine.
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import {
  ROOT,
  decision,
  decisionProducer,
  startAgent,
  waitFor,
  waitReady,
} from './node-agent-harness.mjs';

const require = createRequire(import.meta.url);

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    'agent-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    port: { type: 'string', default: String(18_600 + Math.floor(Math.random() * 300)) },
    'load-child': { type: 'boolean', default: false },
    url: { type: 'string' },
  },
});

// The load generator runs in its own process, pinned to its own core.
if (values['load-child']) {
  const autocannon = require('autocannon');
  const requests = [];
  for (let i = 0; i < 200; i++) {
    const kind = i % 10;
    const ip =
      kind === 0
        ? `203.0.${i % 200}.${(i * 7) % 250}` // denied (203.0.0.0/16 holds denies)
        : kind === 1
          ? `198.51.${i % 200}.${(i * 3) % 250}` // graylisted
          : `192.0.${i % 256}.${(i * 11) % 250}`; // no decision
    const uri = kind === 1 && i % 20 === 1 ? '/api/login' : `/api/products/${i}`;
    requests.push({
      method: 'GET',
      path: '/v1/check',
      headers: { 'x-forwarded-for': ip, 'x-original-uri': uri, 'x-original-method': 'GET' },
    });
  }
  const result = await autocannon({
    url: values.url,
    connections: Number(values.connections),
    duration: Number(values.duration),
    requests,
  });
  process.send({
    requests: result.requests.total,
    durationS: result.duration,
    rps: result.requests.average,
    latency: result.latency,
    statusCodes: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  });
  process.exit(0);
}

const N = Number(values.decisions);
const prefix = `bench-fa-${Date.now()}`;
const port = Number(values.port);
const logFile = join(ROOT, 'tmp', prefix, 'node-agent.log');

const producer = await decisionProducer(prefix);
const started = performance.now();
const batch = [];
const now = Date.now();
for (let i = 0; i < N; i++) {
  // Denies in 203.0.0.0/16 and around the address space, graylists in 198.51.0.0/16.
  const graylist = i % 5 === 0;
  const subject = graylist
    ? `198.51.${(i >> 8) & 255}.${i & 255}`
    : i % 3 === 0
      ? `203.0.${(i >> 8) & 255}.${i & 255}`
      : `${10 + (i % 200)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  batch.push([subject, decision(subject, graylist ? 'graylist' : 'deny', now)]);
  if (batch.length === 2000) await producer.publish(batch.splice(0));
}
if (batch.length) await producer.publish(batch.splice(0));
const produceMs = performance.now() - started;
await producer.close();

const agent = startAgent({ prefix, port, cpu: Number(values['agent-cpu']), logFile });
try {
  const loadStart = performance.now();
  await waitReady(agent);
  const loadMs = performance.now() - loadStart;
  const metrics = await (await fetch(agent.url('/metrics'))).text();
  const held = [...metrics.matchAll(/moat_node_agent_decisions\{[^}]*\} (\d+)/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  // Warm up (JIT, connections) before measuring.
  await waitFor('warm-up', 5000, async () => {
    for (let i = 0; i < 2000; i++) {
      await fetch(agent.url('/v1/check'), { headers: { 'x-forwarded-for': '192.0.2.1' } });
    }
    return true;
  });

  const cpuSeconds = async () =>
    Number(
      /^process_cpu_seconds_total (\S+)$/m.exec(
        await (await fetch(agent.url('/metrics'))).text(),
      )[1],
    );
  const runs = [];
  for (let r = 0; r < Number(values.runs); r++) {
    const cpuBefore = await cpuSeconds();
    const loadBefore = os.loadavg()[0];
    const child = fork(
      fileURLToPath(import.meta.url),
      [
        '--load-child',
        '--url',
        agent.url(''),
        '--connections',
        values.connections,
        '--duration',
        values.duration,
      ],
      { execPath: 'taskset', execArgv: ['-c', values['load-cpu'], process.execPath] },
    );
    const result = await new Promise((resolve, reject) => {
      child.on('message', resolve);
      child.on('exit', (code) => code !== 0 && reject(new Error(`load generator exited ${code}`)));
    });
    const agentCpu = (await cpuSeconds()) - cpuBefore;
    const run = {
      checks: result.requests,
      checksPerSecond: Math.round(result.requests / result.durationS),
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: result.latency.average,
      },
      agentCpuMicrosecondsPerCheck: +((agentCpu * 1e6) / result.requests).toFixed(1),
      checksPerCpuSecond: Math.round(result.requests / agentCpu),
      statusCodes: Object.fromEntries(
        Object.entries(result.statusCodes).map(([k, v]) => [k, v.count]),
      ),
      errors: result.errors,
      timeouts: result.timeouts,
      loadAverage1m: [+loadBefore.toFixed(2), +os.loadavg()[0].toFixed(2)],
    };
    runs.push(run);
    console.error(`run ${r + 1}: ${JSON.stringify(run)}`);
  }
  const median = (pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const agentMetrics = await (await fetch(agent.url('/metrics'))).text();
  const outcomes = Object.fromEntries(
    [
      ...agentMetrics.matchAll(
        /moat_node_agent_checks_total\{service="node-agent",integration="forward-auth",action="(\w+)",outcome="(\w+)"\} (\d+)/g,
      ),
    ].map((m) => [`${m[1]}/${m[2]}`, Number(m[3])]),
  );
  const summary = {
    node: process.version,
    decisionsProduced: N,
    decisionsHeld: held,
    produceSeconds: +(produceMs / 1000).toFixed(1),
    agentStartToCaughtUpSeconds: +(loadMs / 1000).toFixed(1),
    connections: Number(values.connections),
    durationSecondsPerRun: Number(values.duration),
    runs,
    medians: {
      checksPerSecond: median((r) => r.checksPerSecond),
      latencyMs: {
        p50: median((r) => r.latencyMs.p50),
        p90: median((r) => r.latencyMs.p90),
        p99: median((r) => r.latencyMs.p99),
      },
      agentCpuMicrosecondsPerCheck: median((r) => r.agentCpuMicrosecondsPerCheck),
      checksPerCpuSecond: median((r) => r.checksPerCpuSecond),
    },
    agentOutcomes: outcomes,
  };
  const m = summary.medians;
  console.log(JSON.stringify(summary, null, 2));
  console.log(
    `\nforward-auth, agent on one core, median of ${runs.length}: ${m.checksPerSecond.toLocaleString('en-US')} checks/s, ` +
      `p50 ${m.latencyMs.p50} ms, p90 ${m.latencyMs.p90} ms, p99 ${m.latencyMs.p99} ms ` +
      `(${summary.connections} connections, ${held.toLocaleString('en-US')} decisions held); ` +
      `${m.agentCpuMicrosecondsPerCheck} µs of agent CPU per check = ` +
      `${m.checksPerCpuSecond.toLocaleString('en-US')} checks per CPU second`,
  );
} finally {
  await agent.stop();
}
