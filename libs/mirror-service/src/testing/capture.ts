/** Test helpers: a MirrorIntake whose producer records what would go to Kafka. */
import { topicNames, type RequestRecord } from '@moat/contracts';
import { createLogger, PipelineMetrics } from '@moat/observability';
import type { OutboundMessage, Producer } from '@moat/stream-kit';
import { IntakeMetrics, MirrorIntake } from '../mirror-intake';
import { DEFAULT_SESSION_COOKIES, Normaliser } from '../normaliser';
import { RequestPublisher, type PublisherOptions } from '../publisher';

export class CapturingProducer implements Producer {
  readonly records: RequestRecord[] = [];
  /** Makes the next sends fail (a broker outage). */
  failing = false;
  sends = 0;

  async send(messages: OutboundMessage[]): Promise<void> {
    this.sends++;
    if (this.failing) throw new Error('broker unavailable');
    for (const m of messages)
      this.records.push(JSON.parse(m.value!.toString('utf8')) as RequestRecord);
  }
}

export const TEST_SECRET = 'capture-secret-0123456789';
export const quietLogger = createLogger('test', 'fatal');

export function capturingIntake(publisher: Partial<PublisherOptions> = {}) {
  const producer = new CapturingProducer();
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  const intake = new MirrorIntake(
    new Normaliser({
      secret: TEST_SECRET,
      defaultApp: 'default',
      sessionCookies: DEFAULT_SESSION_COOKIES,
      apiKeyHeaders: ['x-api-key'],
    }),
    new RequestPublisher(producer, topicNames('capture'), {
      maxQueued: 10_000,
      maxBatchRecords: 500,
      maxBatchBytes: 900_000,
      concurrency: 1,
      ...publisher,
    }),
    new IntakeMetrics(metrics),
  );
  return { intake, producer, metrics };
}

/** The value of a counter for the given labels, from the registry. */
export async function counterValue(
  metrics: PipelineMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

export async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
