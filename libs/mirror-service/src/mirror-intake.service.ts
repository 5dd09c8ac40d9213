/**
 * Starts and stops the mirror agent's log sources (followed files, syslog, NGINX mirror
 * subrequests) with the application, reports the publisher's health and queue, and on shutdown
 * stops taking traffic, releases what waits to be joined and sends what is queued.
 */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRuntime, type StreamRuntime } from '@moat/stream-kit';
import { MirrorIntake } from './mirror-intake';
import { MIRROR_OPTIONS, type MirrorOptions } from './mirror.options';
import { FileTailSource } from './sources/file-tail.source';
import { createLineParser, type LogFormat } from './sources/line-parser';
import { NginxMirrorSource } from './sources/nginx-mirror.source';
import { RequestJoiner } from './sources/request-joiner';
import { SyslogSource } from './sources/syslog.source';
import type { RequestSource } from './normaliser';

const SOURCE_OF: Record<LogFormat, RequestSource> = {
  'nginx-json': 'nginx-json',
  combined: 'nginx-text',
  common: 'nginx-text',
  'vhost-combined': 'nginx-text',
  envoy: 'envoy',
  mirror: 'http',
  moat: 'http',
};

/** A listener that cannot start says which variable to change, in one line. */
async function listening(
  started: Promise<void>,
  variable: string,
  address: { host: string; port: number },
): Promise<void> {
  try {
    await started;
  } catch (err) {
    throw new Error(
      `cannot listen on ${address.host}:${address.port} (${(err as Error).message}); change ${variable}`,
    );
  }
}

@Injectable()
export class MirrorIntakeService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly tails: FileTailSource[] = [];
  private syslog: SyslogSource | undefined;
  private mirror: NginxMirrorSource | undefined;
  private joiner: RequestJoiner | undefined;
  private gaugeTimer: NodeJS.Timeout | undefined;
  private joinTimer: NodeJS.Timeout | undefined;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(MIRROR_OPTIONS) private readonly options: MirrorOptions,
    private readonly intake: MirrorIntake,
  ) {}

  /** The NGINX mirror listener's port (tests bind port 0). */
  get mirrorPort(): number | undefined {
    return this.mirror?.port;
  }

  get syslogPorts(): { udp?: number; tcp?: number } {
    return this.syslog?.addresses() ?? {};
  }

  async onApplicationBootstrap(): Promise<void> {
    const { sources } = this.options;
    const logger = this.runtime.logger.child({ component: 'mirror-intake' });
    const publisher = this.intake.publisher;
    this.runtime.health.register('mirror-publisher', () => {
      const failure = publisher.failure;
      if (failure) return { state: 'down', detail: `broker: ${failure.error.message}` };
      return { state: 'ok', detail: `${publisher.size}/${publisher.capacity} queued` };
    });
    const queued = this.runtime.metrics.gauge(
      'moat_mirror_queue_records',
      'Requests queued for the Kafka producer (bounded by MOAT_MIRROR_QUEUE)',
      [],
    );
    const pending = this.runtime.metrics.gauge(
      'moat_mirror_join_pending',
      'Mirror subrequests and log lines waiting for their other half',
      [],
    );
    this.gaugeTimer = setInterval(() => {
      queued.set(publisher.size);
      pending.set(this.joiner?.pending ?? 0);
    }, 1000);
    this.gaugeTimer.unref();

    const logSources = Boolean(sources.tail) || Boolean(sources.syslog);
    if (sources.nginxMirror && logSources && sources.join?.enabled !== false) {
      const joined = this.runtime.metrics.counter(
        'moat_mirror_joined_total',
        'NGINX mirror subrequests by outcome: joined with their log line, or released alone',
        ['outcome'],
      );
      const joiner = new RequestJoiner(
        (input, source, overflow) => this.intake.release(input, source, overflow),
        sources.join ?? undefined,
      );
      const counts = joiner.counts;
      const last = { ...counts };
      // Counters from the joiner's own tallies, once a second.
      this.joinTimer = setInterval(() => {
        for (const outcome of ['joined', 'mirrorOnly', 'logOnly', 'overflow'] as const) {
          const delta = counts[outcome] - last[outcome];
          if (delta > 0) joined.inc({ outcome }, delta);
          last[outcome] = counts[outcome];
        }
      }, 1000);
      this.joinTimer.unref();
      joiner.start();
      this.joiner = joiner;
      this.intake.useJoiner(joiner);
    }

    if (sources.nginxMirror) {
      this.mirror = new NginxMirrorSource(sources.nginxMirror, this.intake, this.joiner, logger);
      await listening(this.mirror.start(), 'MOAT_NGINX_MIRROR', sources.nginxMirror);
    }
    if (sources.syslog) {
      const { udp, tcp, format } = sources.syslog;
      this.syslog = new SyslogSource(
        {
          udp,
          tcp,
          parser: createLineParser({
            format,
            fields: sources.fields,
            logFormat: sources.logFormat,
            // One parser for every sender: a CRI piece could be joined to another's line.
            joinCriPieces: false,
          }),
          source: SOURCE_OF[format],
          maxLineBytes: sources.maxLineBytes,
        },
        this.intake,
        logger,
      );
      await listening(this.syslog.start(), 'MOAT_SYSLOG_UDP / MOAT_SYSLOG_TCP', udp ?? tcp!);
      logger.info({ udp, tcp, format, ports: this.syslog.addresses() }, 'receiving syslog');
    }
    if (sources.tail) {
      const { files, format, startAt, checkpointDir, pollMs, rotateGraceMs } = sources.tail;
      for (const path of files) {
        const tail = new FileTailSource(
          {
            path,
            parser: createLineParser({
              format,
              fields: sources.fields,
              logFormat: sources.logFormat,
              maxLineBytes: sources.maxLineBytes,
            }),
            checkpointDir,
            startAt,
            maxLineBytes: sources.maxLineBytes,
            pollMs,
            rotateGraceMs,
          },
          this.intake,
          logger,
        );
        tail.start();
        this.tails.push(tail);
        logger.info({ path, format, startAt, checkpointDir }, 'following access log');
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.gaugeTimer) clearInterval(this.gaugeTimer);
    if (this.joinTimer) clearInterval(this.joinTimer);
    await this.mirror?.stop();
    await this.syslog?.stop();
    await Promise.all(this.tails.map((t) => t.stop()));
    await this.joiner?.stop();
    await this.intake.publisher.close();
  }
}
