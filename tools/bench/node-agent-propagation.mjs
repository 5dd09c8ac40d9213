// Node agent benchmark 3/3: propagation latency — from a decision produced on the real Kafka to
// the node agent enforcing it on /v1/check.
//
//   npm run build && node tools/bench/node-agent-propagation.mjs [--samples 300] [--runs 3] [--gap-ms 20]
//
// For each sample a deny for a fresh address is published through the stream kit (acks=all,
// idempotent producer, as scoring publishes) while the address is checked on the agent's
// /v1/check in a tight loop over a keep-alive connection; the latency is the time from the
// start of the publish to the first 403. The time until the broker acknowledged is printed
// too: it is part of the path, not of the agent.
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  ROOT,
  decision,
  decisionProducer,
  percentile,
  startAgent,
  waitReady,
} from './node-agent-harness.mjs';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '300' },
    'gap-ms': { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    port: { type: 'string', default: String(18_900 + Math.floor(Math.random() * 90)) },
  },
});
const SAMPLES = Number(values.samples);
const prefix = `bench-prop-${Date.now()}`;
const agent = startAgent({
  prefix,
  port: Number(values.port),
  logFile: join(ROOT, 'tmp', prefix, 'node-agent.log'),
});
const producer = await decisionProducer(prefix);
try {
  await waitReady(agent);
  const check = async (ip) =>
    (await fetch(agent.url('/v1/check'), { headers: { 'x-forwarded-for': ip } })).status;
  // Warm up the publish path and the HTTP connection.
  await producer.publish([['192.0.2.250', decision('192.0.2.250', 'deny')]]);
  for (let i = 0; i < 200; i++) await check('192.0.2.1');

  const r = (x) => +x.toFixed(1);
  const stats = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      p50: r(percentile(sorted, 50)),
      p90: r(percentile(sorted, 90)),
      p99: r(percentile(sorted, 99)),
      max: r(sorted[sorted.length - 1]),
    };
  };
  let sample = 0;
  /** One run: SAMPLES decisions, each for a fresh address, published and polled until refused. */
  async function run() {
    const enforcedMs = [];
    const ackMs = [];
    const afterAckMs = [];
    let polls = 0;
    for (let i = 0; i < SAMPLES; i++, sample++) {
      const ip = `10.${(sample >> 16) & 255}.${(sample >> 8) & 255}.${sample & 255}`;
      if ((await check(ip)) !== 204) throw new Error(`${ip} is blocked before its decision exists`);
      const start = performance.now();
      let ackAt;
      const publishing = producer.publish([[ip, decision(ip, 'deny')]]).then(() => {
        ackAt = performance.now() - start;
      });
      for (;;) {
        polls++;
        if ((await check(ip)) === 403) break;
        if (performance.now() - start > 10_000) throw new Error(`${ip} not enforced after 10 s`);
      }
      const enforcedAt = performance.now() - start;
      await publishing;
      enforcedMs.push(enforcedAt);
      ackMs.push(ackAt);
      // How long after the broker's acknowledgement the agent enforced it (0: before the ack).
      afterAckMs.push(Math.max(0, enforcedAt - ackAt));
      await new Promise((resolve) => setTimeout(resolve, Number(values['gap-ms'])));
    }
    return {
      producedToEnforcedMs: stats(enforcedMs),
      producerAckMs: stats(ackMs),
      ackToEnforcedMs: stats(afterAckMs),
      checksPerSample: r(polls / SAMPLES),
      loadAverage1m: +os.loadavg()[0].toFixed(2),
    };
  }
  const runs = [];
  for (let i = 0; i < Number(values.runs); i++) {
    runs.push(await run());
    console.error(`run ${i + 1}: ${JSON.stringify(runs[i])}`);
  }
  const median = (pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const medianOf = (key) => ({
    p50: median((x) => x[key].p50),
    p90: median((x) => x[key].p90),
    p99: median((x) => x[key].p99),
  });
  const metrics = await (await fetch(agent.url('/metrics'))).text();
  const histogram = Object.fromEntries(
    [
      ...metrics.matchAll(
        /moat_node_agent_decision_propagation_seconds_bucket\{le="([^"]+)",service="node-agent"\} (\d+)/g,
      ),
    ].map((m) => [m[1], Number(m[2])]),
  );
  const summary = {
    node: process.version,
    samplesPerRun: SAMPLES,
    runs,
    medians: {
      producedToEnforcedMs: medianOf('producedToEnforcedMs'),
      producerAckMs: medianOf('producerAckMs'),
      ackToEnforcedMs: medianOf('ackToEnforcedMs'),
    },
    agentPropagationHistogram: histogram,
  };
  const m = summary.medians;
  console.log(JSON.stringify(summary, null, 2));
  console.log(
    `\nproduced on Kafka → enforced by the node agent, median of ${runs.length} runs of ${SAMPLES}: ` +
      `p50 ${m.producedToEnforcedMs.p50} ms, p90 ${m.producedToEnforcedMs.p90} ms, p99 ${m.producedToEnforcedMs.p99} ms ` +
      `(broker ack p50 ${m.producerAckMs.p50} ms, p99 ${m.producerAckMs.p99} ms; ` +
      `ack → enforced p50 ${m.ackToEnforcedMs.p50} ms, p99 ${m.ackToEnforcedMs.p99} ms)`,
  );
} finally {
  await producer.close();
  await agent.stop();
}
