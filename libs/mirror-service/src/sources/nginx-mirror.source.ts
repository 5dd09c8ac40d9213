/**
 * Receives NGINX `mirror` subrequests: a copy of each client request (method, headers in the
 * order sent, body) proxied to the agent, plus a few headers the reference configuration adds
 * (deploy/nginx): X-Moat-Request-Id ($request_id), X-Moat-Client-Addr ($remote_addr),
 * X-Moat-Uri ($request_uri), X-Moat-Time ($msec) and X-Moat-Host ($host).
 *
 * A plain node:http server rather than a Nest route: every client request causes one
 * subrequest, the body arrives in whatever content type the client used, and NGINX holds the
 * client's connection until the subrequest is answered — so the answer (204) is sent as soon as
 * the body is read, before anything else happens. A body over the limit is read and discarded
 * past the limit; only the first bytes of JSON or form bodies are kept (for a login's
 * username, which the normaliser hashes).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@moat/observability';
import type { MirrorInput } from '../mirror-input';
import type { MirrorIntake } from '../mirror-intake';
import type { RequestJoiner } from './request-joiner';

export interface NginxMirrorOptions {
  host: string;
  port: number;
  /** Body bytes kept per request. */
  maxBodyBytes: number;
  /** Header bytes accepted per request (node's own limit applies too). */
  maxHeaderBytes?: number;
}

/** Headers the agent's transport adds; not the client's. */
const TRANSPORT = /^x-moat-/;
/** Hop-by-hop headers NGINX's proxy module sets on the subrequest itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade']);
const KEPT_BODY = /json|x-www-form-urlencoded|text\/plain/i;

export class NginxMirrorSource {
  private server: Server | undefined;
  readonly counts = { received: 0, invalid: 0 };

  constructor(
    private readonly options: NginxMirrorOptions,
    private readonly intake: MirrorIntake,
    /** Joins with the access log when a log source runs; else each mirror is published alone. */
    private readonly joiner: RequestJoiner | undefined,
    private readonly logger: Logger,
  ) {}

  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async start(): Promise<void> {
    const server = createServer(
      { maxHeaderSize: this.options.maxHeaderBytes ?? 32 * 1024, keepAliveTimeout: 65_000 },
      (req, res) => this.handle(req, res),
    );
    server.on('clientError', (_err, socket) => {
      this.counts.invalid++;
      this.intake.rejected('nginx-mirror', 'malformed');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.logger.info(
      { host: this.options.host, port: this.port },
      'receiving NGINX mirror subrequests',
    );
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const contentType = req.headers['content-type'];
    const keep = typeof contentType === 'string' && KEPT_BODY.test(contentType);
    const chunks: Buffer[] = [];
    let kept = 0;
    req.on('data', (chunk: Buffer) => {
      if (!keep || kept >= this.options.maxBodyBytes) return; // read and discard
      const take = chunk.subarray(0, this.options.maxBodyBytes - kept);
      chunks.push(take);
      kept += take.length;
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      res.statusCode = 204;
      res.end();
      this.accept(req, keep ? Buffer.concat(chunks).toString('utf8') : undefined);
    });
  }

  private accept(req: IncomingMessage, body: string | undefined): void {
    this.counts.received++;
    this.intake.metrics.received.inc({ source: 'nginx-mirror' });
    const input = mirrorInput(req, body);
    if (!input) {
      this.counts.invalid++;
      this.intake.rejected('nginx-mirror', 'invalid');
      return;
    }
    const requestId = header(req, 'x-moat-request-id');
    if (this.joiner && requestId) this.joiner.mirror(requestId, input);
    else void this.intake.release(input, 'nginx-mirror', 'drop');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The client's request as the subrequest carries it; undefined without the agent's headers. */
export function mirrorInput(
  req: IncomingMessage,
  body: string | undefined,
): MirrorInput | undefined {
  const client = header(req, 'x-moat-client-addr');
  const uri = header(req, 'x-moat-uri');
  const method = req.method ?? '';
  if (!client || !uri || !/^[A-Za-z]{1,16}$/.test(method)) return undefined;
  const headers: Record<string, string> = {};
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length && count < 128; i += 2) {
    const name = raw[i].toLowerCase();
    if (TRANSPORT.test(name) || HOP_BY_HOP.has(name) || name in headers) continue;
    headers[name.slice(0, 128)] = raw[i + 1].slice(0, 8192);
    count++;
  }
  const input: MirrorInput = {
    ip: client,
    method,
    path: uri.slice(0, 8192),
    // Unknown until the access log's line joins it.
    status: 0,
    headers,
  };
  const host = header(req, 'x-moat-host');
  if (host) input.host = host.slice(0, 253);
  const id = header(req, 'x-moat-request-id');
  if (id && id.length <= 200) input.id = id;
  const msec = Number(header(req, 'x-moat-time'));
  if (Number.isFinite(msec) && msec > 0) input.ts = Math.round(msec * 1000);
  const length = Number(req.headers['content-length']);
  if (Number.isSafeInteger(length) && length >= 0) input.requestBytes = length;
  if (body) input.body = body.slice(0, 65_536);
  return input;
}
