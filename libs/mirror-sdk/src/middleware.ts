/**
 * Request observation for Node HTTP frameworks: Express and NestJS (middleware on the Node
 * request/response), Fastify (an onRequest/onResponse hook pair). Each request is reported
 * when its response has been sent, with its status, sizes and latency; the body of a login
 * (already parsed by the app's body parser) is included so the agent can hash the username.
 * Observation never throws into the application.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MirrorReporter, type MirroredRequest, type MirrorReporterOptions } from './reporter';

export interface MirrorMiddlewareOptions extends MirrorReporterOptions {
  /** Application name; the agent uses the Host header otherwise. */
  app?: string;
  /**
   * Which request bodies to include: `auth` (default) those of login-like routes (login,
   * signin, signup, token, session, password reset), `none`, or a predicate.
   */
  bodies?: 'auth' | 'none' | ((method: string, path: string) => boolean);
  /** An existing reporter to share between several middlewares. */
  reporter?: MirrorReporter;
}

const AUTH_ROUTE =
  /(^|\/)(log-?in|sign-?in|sign-?up|register|auth(enticate)?|token|sessions?|password|reset|otp|mfa|2fa)(\/|$|\?|\.)/i;
const MAX_BODY = 64 * 1024;

/** The part every integration shares: start a clock, report at the end. */
export class RequestObserver {
  readonly reporter: MirrorReporter;

  constructor(private readonly options: MirrorMiddlewareOptions) {
    this.reporter = options.reporter ?? new MirrorReporter(options);
  }

  /** Call when a request arrives; reports it once its response is finished. */
  observe(req: IncomingMessage, res: ServerResponse, body?: () => unknown): void {
    try {
      const started = process.hrtime.bigint();
      const ts = Date.now();
      const bytesBefore = res.socket?.bytesWritten ?? 0;
      const path = originalUrl(req);
      res.once('finish', () => {
        try {
          this.reporter.report(
            this.describe(req, res, { ts, started, bytesBefore, path, body: body?.() }),
          );
        } catch {
          // never into the application
        }
      });
    } catch {
      // never into the application
    }
  }

  private describe(
    req: IncomingMessage,
    res: ServerResponse,
    at: { ts: number; started: bigint; bytesBefore: number; path: string; body: unknown },
  ): MirroredRequest {
    const headers: Record<string, string> = {};
    const raw = req.rawHeaders;
    for (let i = 0, n = 0; i + 1 < raw.length && n < 128; i += 2) {
      const name = raw[i].toLowerCase();
      if (name in headers) continue;
      headers[name] = raw[i + 1].slice(0, 8192);
      n++;
    }
    const method = req.method ?? 'GET';
    const length = Number(res.getHeader('content-length'));
    const written = (res.socket?.bytesWritten ?? 0) - at.bytesBefore;
    const request: MirroredRequest = {
      ts: at.ts,
      ip: req.socket?.remoteAddress ?? '0.0.0.0',
      method,
      path: at.path.slice(0, 8192) || '/',
      status: res.statusCode,
      latencyMs: Number(process.hrtime.bigint() - at.started) / 1e6,
      headers,
    };
    const requestLength = Number(req.headers['content-length']);
    if (Number.isSafeInteger(requestLength) && requestLength >= 0)
      request.requestBytes = requestLength;
    if (Number.isSafeInteger(length) && length >= 0) request.responseBytes = length;
    else if (written > 0) request.responseBytes = written;
    if (this.options.app) request.app = this.options.app;
    const body = this.bodyOf(method, at.path, at.body);
    if (body !== undefined) request.body = body;
    return request;
  }

  private bodyOf(method: string, path: string, body: unknown): string | undefined {
    if (body === undefined || body === null || method === 'GET' || method === 'HEAD')
      return undefined;
    const rule = this.options.bodies ?? 'auth';
    const wanted =
      rule === 'none' ? false : rule === 'auth' ? AUTH_ROUTE.test(path) : rule(method, path);
    if (!wanted) return undefined;
    const text =
      typeof body === 'string'
        ? body
        : Buffer.isBuffer(body)
          ? body.toString('utf8')
          : typeof body === 'object'
            ? JSON.stringify(body)
            : undefined;
    return text?.slice(0, MAX_BODY);
  }
}

function originalUrl(req: IncomingMessage): string {
  // Express rewrites req.url inside routers; originalUrl is what the client asked for.
  const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
  return original ?? req.url ?? '/';
}

type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * Express (and Connect) middleware, also NestJS functional middleware on either platform:
 *
 *   app.use(express.json()); app.use(moatMirror({ endpoint }));          // Express
 *   consumer.apply(moatMirror({ endpoint })).forRoutes('*');              // NestJS
 *
 * The body is read when the response is finished, so a body parser anywhere before the route
 * handler suffices (NestJS on Fastify parses onto Fastify's request: use moatMirrorFastify there
 * for login bodies).
 */
export function moatMirror(
  options: MirrorMiddlewareOptions,
): NodeMiddleware & { observer: RequestObserver } {
  const observer = new RequestObserver(options);
  const middleware = ((req, res, next) => {
    observer.observe(req, res, () => (req as IncomingMessage & { body?: unknown }).body);
    next();
  }) as NodeMiddleware & { observer: RequestObserver };
  middleware.observer = observer;
  return middleware;
}

/** The parts of a Fastify instance the plugin uses (no dependency on fastify itself). */
interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (
      request: { raw: IncomingMessage },
      reply: { raw: ServerResponse },
      done: () => void,
    ) => void,
  ): unknown;
  addHook(
    name: 'preHandler',
    hook: (
      request: { raw: IncomingMessage; body?: unknown },
      reply: { raw: ServerResponse },
      done: () => void,
    ) => void,
  ): unknown;
  addHook(name: 'onClose', hook: (instance: unknown, done: () => void) => void): unknown;
}

/**
 * Fastify: `moatMirrorFastify(app, { endpoint })` registers the hooks on the instance (call it
 * before the routes; no plugin encapsulation so that every route is observed).
 */
export function moatMirrorFastify(
  app: FastifyLike,
  options: MirrorMiddlewareOptions,
): RequestObserver {
  const observer = new RequestObserver(options);
  const bodies = new WeakMap<IncomingMessage, unknown>();
  app.addHook('onRequest', (request, reply, done) => {
    observer.observe(request.raw, reply.raw, () => bodies.get(request.raw));
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.body !== undefined) bodies.set(request.raw, request.body);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    observer.reporter.close().then(done, done);
  });
  return observer;
}
