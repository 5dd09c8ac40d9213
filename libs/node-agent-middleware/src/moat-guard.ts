/**
 * In-process enforcement for a Node application: the node agent's decision index, follower,
 * snapshot and enforcement policy, running inside the app, with adapters for Express (and any
 * Connect-style stack), Fastify and NestJS. No sidecar and no network hop per request: a check
 * is a map lookup. Kafka is reached through the stream kit, like every other Moat component.
 *
 *   const moat = new MoatGuard({ kafka: { brokers: ['kafka:9092'] }, snapshotPath: '/var/lib/moat/app.snapshot' });
 *   await moat.start();               // loads the snapshot, follows decisions in the background
 *   app.use(moat.express());          // Express / Connect
 *   fastify.addHook('onRequest', moat.fastify());
 *   MoatModule.forRoot(moat)          // NestJS (Express or Fastify platform)
 *   await moat.stop();                // on shutdown: stops following, writes the snapshot
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TrustedProxies } from '@moat/contracts';
import { createLogger, type Logger } from '@moat/observability';
import {
  BlockResponses,
  CriticalEndpoints,
  DecisionFollower,
  DecisionIndex,
  Enforcer,
  GraylistLimiter,
  type BlockResponseOptions,
  type Enforcement,
  type FollowerStatus,
  type GraylistLimiterOptions,
} from '@moat/node-agent-service';
import { createDistributedRuntime, type StreamRuntime } from '@moat/stream-kit';

export interface MoatGuardOptions {
  /** Follow decisions on this Kafka cluster (the usual case). */
  kafka?: {
    brokers: string[];
    /** MOAT_TOPIC_PREFIX of the deployment; default `moat`. */
    topicPrefix?: string;
    clientId?: string;
    /** Partitions of topics created when missing; default 6. */
    partitions?: number;
  };
  /** Or an existing runtime (the standalone runtime, tests). */
  runtime?: StreamRuntime;
  /** Service name: consumer group stem and metrics label; default `node-agent-middleware`. */
  service?: string;
  /** Snapshot file, so a restarted app enforces before Kafka answers; default none. */
  snapshotPath?: string;
  snapshotIntervalMs?: number;
  /** Proxies in front of the app whose X-Forwarded-For / X-Real-IP are believed; default loopback. */
  trustedProxies?: string[];
  /** Critical-endpoint rules (see CriticalEndpoints); default `['default']`. */
  criticalEndpoints?: string[];
  graylist?: GraylistLimiterOptions;
  block?: BlockResponseOptions;
  logger?: Logger;
}

export type NodeNext = (err?: unknown) => void;

/** What a request carries after the guard let it through (Express: `req.moat`). */
export interface MoatRequestInfo {
  action: Enforcement['action'];
  reason: Enforcement['reason'];
  clientIp: string | undefined;
}

export class MoatGuard {
  readonly index = new DecisionIndex();
  readonly runtime: StreamRuntime;
  readonly follower: DecisionFollower;
  private readonly enforcer: Enforcer;
  private readonly proxies: TrustedProxies;
  private readonly responses: BlockResponses;
  private started = false;

  constructor(options: MoatGuardOptions) {
    const service = options.service ?? 'node-agent-middleware';
    if (options.runtime) {
      this.runtime = options.runtime;
    } else if (options.kafka) {
      this.runtime = createDistributedRuntime({
        service,
        brokers: options.kafka.brokers,
        clientId: options.kafka.clientId,
        topicPrefix: options.kafka.topicPrefix ?? 'moat',
        partitions: options.kafka.partitions ?? 6,
        replicationFactor: 1,
        redisUrl: '',
        redisPrefix: '',
        store: 'memory',
        // The decision follower retries connecting itself; kafkajs's retry timers would keep
        // the app's process alive for ~20 s after stop() while Kafka is away.
        adminRetries: 0,
        logger: options.logger ?? createLogger(service),
      });
    } else {
      throw new Error('MoatGuard needs `kafka: { brokers }` (or a `runtime`) to follow decisions');
    }
    this.proxies = new TrustedProxies(options.trustedProxies ?? ['127.0.0.1/32', '::1/128']);
    this.responses = new BlockResponses(options.block);
    this.enforcer = new Enforcer({
      index: this.index,
      critical: new CriticalEndpoints(options.criticalEndpoints ?? ['default']),
      limiter: new GraylistLimiter(options.graylist ?? { ratePerSecond: 1, burst: 20 }),
      metrics: this.runtime.metrics,
      service,
    });
    this.follower = new DecisionFollower({
      runtime: this.runtime,
      index: this.index,
      service,
      snapshotPath: options.snapshotPath,
      snapshotIntervalMs: options.snapshotIntervalMs,
      logger: options.logger,
    });
  }

  /** Loads the snapshot and starts following decisions (in the background: never waits for Kafka). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.follower.start();
  }

  /** Stops following, writes the snapshot and disconnects (a runtime it created). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.follower.stop();
    await this.runtime.close();
  }

  /** ok / degraded / down with a reason, for the app's own health endpoint. */
  status(): FollowerStatus {
    return this.follower.status();
  }

  /** Decides one request (any framework): the client address is resolved through trusted proxies. */
  check(req: IncomingMessage & { originalUrl?: string }): Enforcement {
    const clientIp = this.proxies.clientIp(req.socket.remoteAddress, req.headers);
    return this.enforcer.enforce(clientIp, req.method, req.originalUrl ?? req.url, 'middleware');
  }

  /** Writes the refusal for a blocked or slowed request. */
  refuse(enforcement: Enforcement, req: IncomingMessage, res: ServerResponse): void {
    const answer = this.responses.render(enforcement, req.headers.accept);
    res.writeHead(answer.status, answer.headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  /**
   * Connect-style middleware (Express, Connect, NestJS middleware on either platform): refuses
   * blocked and slowed requests, lets the others through with `req.moat` set.
   */
  express(): (req: IncomingMessage, res: ServerResponse, next: NodeNext) => void {
    return (req, res, next) => {
      const enforcement = this.check(req);
      if (enforcement.outcome !== 'pass') {
        this.refuse(enforcement, req, res);
        return;
      }
      (req as IncomingMessage & { moat?: MoatRequestInfo }).moat = {
        action: enforcement.action,
        reason: enforcement.reason,
        clientIp: enforcement.clientIp,
      };
      next();
    };
  }

  /** A Fastify `onRequest` hook: `fastify.addHook('onRequest', moat.fastify())`. */
  fastify(): (
    request: { raw: IncomingMessage; moat?: MoatRequestInfo },
    reply: FastifyLikeReply,
    done: (err?: Error) => void,
  ) => void {
    return (request, reply, done) => {
      const enforcement = this.check(request.raw);
      if (enforcement.outcome !== 'pass') {
        const answer = this.responses.render(enforcement, request.raw.headers.accept);
        reply.code(answer.status).headers(answer.headers).send(answer.body);
        return;
      }
      request.moat = {
        action: enforcement.action,
        reason: enforcement.reason,
        clientIp: enforcement.clientIp,
      };
      done();
    };
  }
}

/** The part of Fastify's reply the hook uses (keeps this library free of a Fastify import). */
export interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  headers(values: Record<string, string>): FastifyLikeReply;
  send(body: string): unknown;
}
