#!/usr/bin/env node
// Moat: proves that kafkajs (the client the services use) works against the running broker.
//
//   bash scripts/kafka.sh start && node scripts/kafka-compat.mjs
//
// Steps (each printed with its timing; exit 0 only when every one passed, else exit 1 naming it):
//   broker version   ApiVersions v3 straight over TCP (API ranges + finalized metadata.version)
//                    and the version scripts/kafka.sh started; kafkajs admin.describeCluster()
//   create topic     2 partitions, replication factor 1
//   produce          idempotent producer, acks=all, 20 messages over both partitions
//   consume          consumer group, eachBatch, autoCommit off, manual commitOffsets
//   fetch offsets    admin.fetchOffsets == high watermarks of both partitions
//   rebalance        a 2nd consumer joins the group: GROUP_JOIN events show both members
//                    holding one partition each
//   consume after    10 more messages are consumed by the two members and committed
//
// Environment: KAFKA_BROKERS (default 127.0.0.1:${KAFKA_PORT:-9092}), KAFKAJS_LOG (nothing|error|warn|
// info|debug, default error: kafkajs also logs the errors it retries), KAFKA_COMPAT_TIMEOUT_MS (per
// step, default 30000), MOAT_CACHE_DIR (as in scripts/kafka.sh, to read the version it started).
// kafkajs is resolved from the repo's node_modules (root dependency).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.KAFKA_PORT || '9092';
const brokers = (process.env.KAFKA_BROKERS || `127.0.0.1:${port}`).split(',');
const stepTimeoutMs = Number(process.env.KAFKA_COMPAT_TIMEOUT_MS || 30000);
const levels = { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 };
const kafkajsLevel = levels[(process.env.KAFKAJS_LOG || 'error').toLowerCase()] ?? logLevel.ERROR;
const kafkajsVersion = createRequire(import.meta.url)('kafkajs/package.json').version;

const t0 = Date.now();
const results = [];

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function step(name, fn) {
  const started = Date.now();
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${stepTimeoutMs} ms`)),
        stepTimeoutMs,
      );
    });
    const detail = await Promise.race([fn(), timeout]);
    const ms = Date.now() - started;
    results.push({ name, ok: true, ms });
    log(`[ok]   ${name} (${ms} ms)${detail ? `: ${detail}` : ''}`);
    return detail;
  } catch (err) {
    const ms = Date.now() - started;
    results.push({ name, ok: false, ms });
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    log(`[FAIL] ${name} (${ms} ms): ${msg}`);
    if (err && err.type) log(`       kafkajs error type: ${err.type}`);
    if (err && err.cause) log(`       cause: ${err.cause.message || err.cause}`);
    throw new StepFailed(name);
  } finally {
    clearTimeout(timer);
  }
}

class StepFailed extends Error {}

// Polls predicate (sync or async) until it returns a truthy value, which is returned.
async function waitFor(predicate, what, intervalMs = 50) {
  const started = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - started > stepTimeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------- ApiVersions v3 over a raw socket

function uvarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return value >>> 0;
    shift += 7;
  }
}

function compactString(buf, pos) {
  const len = uvarint(buf, pos) - 1;
  if (len < 0) return null;
  const s = buf.toString('utf8', pos.i, pos.i + len);
  pos.i += len;
  return s;
}

function skipTags(buf, pos) {
  const n = uvarint(buf, pos);
  for (let k = 0; k < n; k++) {
    uvarint(buf, pos);
    pos.i += uvarint(buf, pos);
  }
}

function parseApiVersionsV3(body) {
  const pos = { i: 0 };
  const errorCode = body.readInt16BE(pos.i);
  pos.i += 2;
  if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
  const apis = new Map();
  const n = uvarint(body, pos) - 1;
  for (let k = 0; k < n; k++) {
    const key = body.readInt16BE(pos.i);
    const min = body.readInt16BE(pos.i + 2);
    const max = body.readInt16BE(pos.i + 4);
    pos.i += 6;
    skipTags(body, pos);
    apis.set(key, { min, max });
  }
  pos.i += 4; // throttle_time_ms
  const finalized = {};
  const tags = uvarint(body, pos);
  for (let k = 0; k < tags; k++) {
    const tag = uvarint(body, pos);
    const size = uvarint(body, pos);
    const end = pos.i + size;
    if (tag === 2) {
      // FinalizedFeatures: [name, max_version_level, min_version_level]
      const m = uvarint(body, pos) - 1;
      for (let j = 0; j < m; j++) {
        const name = compactString(body, pos);
        const maxLevel = body.readInt16BE(pos.i);
        pos.i += 4;
        skipTags(body, pos);
        finalized[name] = maxLevel;
      }
    }
    pos.i = end;
  }
  return { apis, finalized };
}

function apiVersions(hostPort) {
  const [host, p] = hostPort.split(':');
  const clientId = Buffer.from('moat-kafka-compat');
  const sw = Buffer.from('moat-kafka-compat');
  const swv = Buffer.from('1.0');
  const payload = Buffer.concat([
    Buffer.from([0x00, 0x12, 0x00, 0x03]), // api_key 18 (ApiVersions), api_version 3
    Buffer.from([0x00, 0x00, 0x00, 0x2a]), // correlation_id 42
    Buffer.from([0x00, clientId.length]),
    clientId, // client_id (nullable string, non-compact in header v2)
    Buffer.from([0x00]), // header tagged fields
    Buffer.from([sw.length + 1]),
    sw,
    Buffer.from([swv.length + 1]),
    swv,
    Buffer.from([0x00]), // body tagged fields
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(p), host);
    let data = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('ApiVersions: no answer in 5 s')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(Buffer.concat([size, payload])));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        socket.end();
        try {
          if (data.readInt32BE(4) !== 42) throw new Error('ApiVersions: wrong correlation id');
          // ApiVersions responses always use response header v0 (no tagged fields)
          resolve(parseApiVersionsV3(data.subarray(8, 4 + data.readInt32BE(0))));
        } catch (err) {
          reject(err);
        }
      }
    });
  });
}

// The version scripts/kafka.sh started on this port, if its broker is the one running here.
function startedVersion() {
  const cacheDir = process.env.MOAT_CACHE_DIR || path.join(repoRoot, '.cache');
  const runDir = path.join(cacheDir, 'kafka', `run-${port}`);
  try {
    if (!existsSync(path.join(runDir, 'kafka.pid'))) return null;
    return readFileSync(path.join(runDir, 'version'), 'utf8').trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- the run

const kafka = new Kafka({
  clientId: 'moat-kafka-compat',
  brokers,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { retries: 5, initialRetryTime: 100 },
  logLevel: kafkajsLevel,
  logCreator:
    () =>
    ({ namespace, level, log: entry }) => {
      const { message, error, groupId } = entry;
      const tag = Object.keys(levels).find((k) => levels[k] === level) || level;
      const extra = [error, groupId && `group=${groupId}`].filter(Boolean).join(' ');
      log(`       kafkajs ${tag} [${namespace}] ${message}${extra ? ` (${extra})` : ''}`);
    },
});

const runId = `${Date.now().toString(36)}-${process.pid}`;
const topic = `moat-compat-${runId}`;
const groupId = `moat-compat-${runId}`;
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumers = [];
const consumed = []; // { member, partition, offset, value }
const joins = []; // GROUP_JOIN payloads, tagged with member name

function makeConsumer(member) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10000,
    rebalanceTimeout: 15000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joins.push({ member, at: Date.now(), ...payload });
    const parts = (payload.memberAssignment && payload.memberAssignment[topic]) || [];
    log(
      `       GROUP_JOIN ${member}: leader=${payload.isLeader} partitions=[${parts.join(',')}] ` +
        `(${payload.duration} ms)`,
    );
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    log(`       CRASH ${member}: ${payload.error && payload.error.message}`);
  });
  consumers.push(consumer);
  return consumer;
}

async function runConsumer(consumer, member) {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        consumed.push({
          member,
          partition: batch.partition,
          offset: Number(message.offset),
          value: message.value.toString(),
        });
        resolveOffset(message.offset);
      }
      if (batch.messages.length > 0 && !isStale()) {
        const last = batch.messages[batch.messages.length - 1];
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
        ]);
      }
      await heartbeat();
    },
  });
}

async function produce(from, count) {
  const messages = [];
  for (let k = from; k < from + count; k++) {
    messages.push({ key: `k${k}`, value: `v${k}`, partition: k % 2 });
  }
  const res = await producer.send({ topic, acks: -1, messages });
  return res
    .map((r) => `p${r.partition}@${r.baseOffset}`)
    .sort()
    .join(' ');
}

async function highWatermarks() {
  const offs = await admin.fetchTopicOffsets(topic);
  return new Map(offs.map((o) => [o.partition, Number(o.high)]));
}

async function committedMatchesHighWatermarks() {
  const hw = await highWatermarks();
  const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = new Map(res.partitions.map((p) => [p.partition, Number(p.offset)]));
  const ok = [...hw].every(([p, h]) => committed.get(p) === h);
  const text = [...hw]
    .sort(([a], [b]) => a - b)
    .map(([p, h]) => `p${p} committed=${committed.get(p)} hw=${h}`)
    .join(', ');
  return { ok, text };
}

function distinctValues() {
  return new Set(consumed.map((c) => c.value));
}

async function main() {
  log(`kafka-compat: kafkajs ${kafkajsVersion}, brokers ${brokers.join(',')}, topic ${topic}`);

  await step('broker version (ApiVersions v3 + kafka.sh)', async () => {
    const { apis, finalized } = await apiVersions(brokers[0]);
    const r = (key) => (apis.has(key) ? `v${apis.get(key).min}-v${apis.get(key).max}` : 'none');
    const started = startedVersion();
    return (
      `Kafka ${started || '(not started by kafka.sh: version unknown)'}, ` +
      `metadata.version level ${finalized['metadata.version'] ?? '?'}, ${apis.size} APIs; ` +
      `Produce ${r(0)} Fetch ${r(1)} ListOffsets ${r(2)} Metadata ${r(3)} OffsetCommit ${r(8)} ` +
      `OffsetFetch ${r(9)} FindCoordinator ${r(10)} JoinGroup ${r(11)} SyncGroup ${r(14)} ` +
      `InitProducerId ${r(22)}`
    );
  });

  await step('admin connect + describeCluster', async () => {
    await admin.connect();
    state.adminConnected = true;
    const c = await admin.describeCluster();
    if (c.brokers.length < 1) throw new Error('describeCluster returned no broker');
    return (
      `cluster ${c.clusterId}, controller ${c.controller}, brokers ` +
      c.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',')
    );
  });

  await step('create topic (2 partitions)', async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    state.topicCreated = created;
    if (!created) throw new Error('createTopics returned false (topic already exists?)');
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = md.topics[0].partitions.length;
    if (n !== 2) throw new Error(`topic has ${n} partitions, expected 2`);
    return `${topic} with ${n} partitions`;
  });

  await step('produce 20 (idempotent, acks=all)', async () => {
    await producer.connect();
    state.producerConnected = true;
    const offsets = await produce(0, 20);
    const hw = await highWatermarks();
    if (hw.get(0) !== 10 || hw.get(1) !== 10) {
      throw new Error(`high watermarks p0=${hw.get(0)} p1=${hw.get(1)}, expected 10 and 10`);
    }
    return `base offsets ${offsets}; high watermarks p0=10 p1=10`;
  });

  const a = makeConsumer('A');
  await step('consume 20 (group, eachBatch, manual commitOffsets)', async () => {
    await runConsumer(a, 'A');
    await waitFor(() => distinctValues().size >= 20, '20 messages consumed');
    const firstJoin = joins.find((j) => j.member === 'A');
    if (!firstJoin) throw new Error('no GROUP_JOIN event for consumer A');
    return `consumed ${consumed.length} messages; A holds [${firstJoin.memberAssignment[topic]}]`;
  });

  await step('fetchOffsets == high watermarks', async () => {
    let last;
    await waitFor(async () => {
      last = await committedMatchesHighWatermarks();
      return last.ok;
    }, 'committed offsets == high watermarks').catch(() => {
      throw new Error(`committed offsets do not match: ${last && last.text}`);
    });
    return last.text;
  });

  const b = makeConsumer('B');
  await step('rebalance: 2nd consumer joins, both get partitions', async () => {
    const since = Date.now();
    await runConsumer(b, 'B');
    const assignment = (member) => {
      const js = joins.filter((j) => j.member === member && j.at >= since);
      const last = js[js.length - 1];
      return last ? (last.memberAssignment[topic] || []).slice().sort() : null;
    };
    const both = await waitFor(() => {
      const pa = assignment('A');
      const pb = assignment('B');
      if (!pa || !pb) return null;
      if (pa.length !== 1 || pb.length !== 1 || pa[0] === pb[0]) return null;
      return { pa, pb };
    }, 'GROUP_JOIN events giving A and B one partition each');
    const memberIds = new Set(joins.filter((j) => j.at >= since).map((j) => j.memberId));
    if (memberIds.size < 2) throw new Error('the two consumers have the same memberId');
    return `A=[${both.pa}] B=[${both.pb}] (2 members, generation rejoined)`;
  });

  await step('consume after rebalance (10 more, both members)', async () => {
    const before = consumed.length;
    await produce(20, 10);
    await waitFor(() => distinctValues().size >= 30, '30 distinct messages consumed');
    const after = consumed.slice(before).filter((c) => Number(c.value.slice(1)) >= 20);
    const byMember = new Set(after.map((c) => c.member));
    if (!byMember.has('A') || !byMember.has('B')) {
      throw new Error(`new messages consumed only by ${[...byMember].join(',') || 'nobody'}`);
    }
    let last;
    await waitFor(async () => {
      last = await committedMatchesHighWatermarks();
      return last.ok;
    }, 'committed offsets == high watermarks').catch(() => {
      throw new Error(`committed offsets do not match: ${last && last.text}`);
    });
    const counts = ['A', 'B'].map((m) => `${m}=${after.filter((c) => c.member === m).length}`);
    return `new messages by ${counts.join(' ')}; ${last.text}`;
  });
}

// Undo only what was set up: a failed first step must not start retry loops against a dead broker.
const state = { adminConnected: false, producerConnected: false, topicCreated: false };

async function cleanup() {
  for (const c of consumers) await c.disconnect().catch(() => {});
  if (state.producerConnected) await producer.disconnect().catch(() => {});
  if (state.topicCreated) {
    await admin.deleteTopics({ topics: [topic], timeout: 5000 }).catch(() => {});
  }
  if (state.adminConnected) await admin.disconnect().catch(() => {});
}

const watchdog = setTimeout(() => {
  log(`[FAIL] kafka-compat: whole run exceeded ${stepTimeoutMs * 10} ms`);
  process.exit(1);
}, stepTimeoutMs * 10);

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  if (!(err instanceof StepFailed)) log(`[FAIL] kafka-compat: ${err && err.stack}`);
}
await cleanup();
clearTimeout(watchdog);
const failed = results.find((r) => !r.ok);
log(
  exitCode === 0
    ? `kafka-compat: PASS, ${results.length} steps in ${Date.now() - t0} ms (kafkajs ${kafkajsVersion})`
    : `kafka-compat: FAIL at step "${failed ? failed.name : 'setup'}" after ${Date.now() - t0} ms (kafkajs ${kafkajsVersion})`,
);
process.exit(exitCode);
