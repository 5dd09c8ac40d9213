import { topicNames, type RequestRecord } from '@moat/contracts';
import type { OutboundMessage, Producer } from '@moat/stream-kit';
import { RequestPublisher } from './publisher';

const topics = topicNames('pub-test');

function record(i: number, overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    v: 1,
    id: `r${i}`,
    ts: 1_764_000_000_000 + i,
    app: 'a',
    ip: `192.0.2.${i % 250}`,
    method: 'GET',
    path: '/',
    query: {},
    status: 200,
    requestBytes: 0,
    responseBytes: 0,
    latencyMs: 0,
    userAgent: '',
    headerNames: [],
    credentials: [],
    ...overrides,
  };
}

/** A producer whose sends the test resolves or fails by hand. */
class ManualProducer implements Producer {
  readonly sends: {
    messages: OutboundMessage[];
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  send(messages: OutboundMessage[]): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ messages, resolve, reject }));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function prepared(publisher: RequestPublisher, records: RequestRecord[]): OutboundMessage[] {
  return records.map((r) => {
    const p = publisher.prepare(r);
    if (!p.ok) throw new Error(p.reason);
    return p.message;
  });
}

describe('RequestPublisher', () => {
  it('batches what accumulates while a send is in flight, by count and by bytes', async () => {
    const producer = new ManualProducer();
    const publisher = new RequestPublisher(producer, topics, {
      maxQueued: 1000,
      maxBatchRecords: 3,
      maxBatchBytes: 100_000,
      concurrency: 1,
    });
    const first = publisher.offer(prepared(publisher, [record(1)]))!;
    const second = publisher.offer(
      prepared(
        publisher,
        [2, 3, 4, 5].map((i) => record(i)),
      ),
    )!;
    expect(producer.sends.map((s) => s.messages.length)).toEqual([1]);
    producer.sends[0].resolve();
    await first;
    await tick();
    expect(producer.sends.map((s) => s.messages.length)).toEqual([1, 3]);
    producer.sends[1].resolve();
    await tick();
    expect(producer.sends.map((s) => s.messages.length)).toEqual([1, 3, 1]);
    producer.sends[2].resolve();
    await second;
    expect(producer.sends[1].messages[0].topic).toBe('pub-test.requests.v1');
    expect(producer.sends[1].messages[0].key).toBe('192.0.2.2');

    const bytes = new RequestPublisher(new ManualProducer(), topics, {
      maxQueued: 1000,
      maxBatchRecords: 1000,
      maxBatchBytes: 1,
      concurrency: 1,
    });
    const p = bytes as unknown as { producer: ManualProducer };
    void bytes.offer(prepared(bytes, [record(1), record(2)]));
    // One record over the byte limit still goes alone, never zero.
    expect(p.producer.sends.map((s) => s.messages.length)).toEqual([1]);
  });

  it('refuses an offer that does not fit, whole, and tells when there is room again', async () => {
    const producer = new ManualProducer();
    const publisher = new RequestPublisher(producer, topics, {
      maxQueued: 3,
      maxBatchRecords: 10,
      maxBatchBytes: 100_000,
      concurrency: 1,
    });
    expect(publisher.offer(prepared(publisher, [record(1), record(2)]))).toBeDefined();
    expect(publisher.offer(prepared(publisher, [record(3), record(4)]))).toBeUndefined();
    expect(publisher.size).toBe(2);
    let roomy = false;
    const waiting = publisher.waitForRoom(2).then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    producer.sends[0].resolve();
    await waiting;
    expect(publisher.size).toBe(0);
  });

  it('rejects the offers of a failed send, skips what is left of them, and reports failing', async () => {
    const producer = new ManualProducer();
    const publisher = new RequestPublisher(producer, topics, {
      maxQueued: 100,
      maxBatchRecords: 2,
      maxBatchBytes: 100_000,
      concurrency: 1,
    });
    const failed = publisher.offer(
      prepared(
        publisher,
        [1, 2, 3].map((i) => record(i)),
      ),
    )!;
    const other = publisher.offer(prepared(publisher, [record(4)]))!;
    producer.sends[0].reject(new Error('broker down'));
    await expect(failed).rejects.toThrow('broker down');
    expect(publisher.failing).toBe(true);
    await tick();
    // Record 3 (same offer) is not sent; record 4 is.
    expect(producer.sends.map((s) => s.messages.map((m) => m.key))).toEqual([
      ['192.0.2.1', '192.0.2.2'],
      ['192.0.2.4'],
    ]);
    producer.sends[1].resolve();
    await other;
    expect(publisher.failing).toBe(false);
  });

  it('refuses a record that breaks the contract when it is prepared', () => {
    const publisher = new RequestPublisher(new ManualProducer(), topics);
    const bad = publisher.prepare(record(1, { ip: 'nope' }));
    expect(bad.ok ? '' : bad.reason).toMatch(
      /refused to publish an invalid requests message: .*\/ip/,
    );
  });

  it('sends what is queued on close and refuses afterwards', async () => {
    const producer = new ManualProducer();
    const publisher = new RequestPublisher(producer, topics);
    const sent = publisher.offer(prepared(publisher, [record(1)]))!;
    const closing = publisher.close();
    producer.sends[0].resolve();
    await sent;
    await closing;
    await expect(publisher.offer(prepared(publisher, [record(2)]))!).rejects.toThrow(
      /shutting down/,
    );
  });
});
