/**
 * Reverse-proxy mode, for a service with no proxy in front: the node agent listens on its own
 * port, enforces every request (and WebSocket upgrade) and forwards what passes to the upstream
 * with X-Forwarded-For/-Proto/-Port and Moat's verdict in X-Moat-Action / X-Moat-Client-Ip.
 * Forwarding is http-proxy's; the decision is the Enforcer's, as for the other integrations.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Logger } from '@moat/observability';
import type { BlockResponses } from './block-response';
import type { TrustedProxies } from '@moat/contracts';
import type { Enforcement, Enforcer } from './enforcer';

export interface ReverseProxyOptions {
  /** Where passing requests go, e.g. http://127.0.0.1:3000. */
  upstream: string;
  enforcer: Enforcer;
  proxies: TrustedProxies;
  responses: BlockResponses;
  logger: Logger;
  /** Upstream timeout (ms) before the client gets 504. */
  timeoutMs?: number;
}

export class ReverseProxy {
  private readonly proxy: httpProxy;
  private readonly server: Server;

  constructor(private readonly options: ReverseProxyOptions) {
    this.proxy = httpProxy.createProxyServer({
      target: options.upstream,
      xfwd: true,
      ws: true,
      proxyTimeout: options.timeoutMs ?? 60_000,
    });
    this.proxy.on('error', (err, _req, res) => {
      options.logger.warn({ err: err.message, upstream: options.upstream }, 'upstream failed');
      if (typeof (res as ServerResponse).writeHead === 'function') {
        const response = res as ServerResponse;
        if (!response.headersSent) {
          const timeout = (err as NodeJS.ErrnoException).code === 'ECONNRESET';
          response.writeHead(timeout ? 504 : 502, { 'content-type': 'application/json' });
        }
        response.end(JSON.stringify({ error: 'upstream unavailable' }));
      } else {
        (res as Duplex).destroy();
      }
    });
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting connections and closes idle ones; requests in flight finish. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      this.proxy.close();
    });
  }

  get address(): ReturnType<Server['address']> {
    return this.server.address();
  }

  private decide(req: IncomingMessage): Enforcement {
    const clientIp = this.options.proxies.clientIp(req.socket.remoteAddress, req.headers);
    return this.options.enforcer.enforce(clientIp, req.method, req.url, 'proxy');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const enforcement = this.decide(req);
    if (enforcement.outcome !== 'pass') {
      const answer = this.options.responses.render(enforcement, req.headers.accept);
      res.writeHead(answer.status, answer.headers);
      res.end(req.method === 'HEAD' ? undefined : answer.body);
      return;
    }
    markRequest(req, enforcement);
    this.proxy.web(req, res);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const enforcement = this.decide(req);
    if (enforcement.outcome !== 'pass') {
      const answer = this.options.responses.render(enforcement, req.headers.accept);
      const lines = Object.entries(answer.headers).map(([k, v]) => `${k}: ${v}`);
      socket.end(
        `HTTP/1.1 ${answer.status} Refused\r\n${lines.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n${answer.body}`,
      );
      return;
    }
    markRequest(req, enforcement);
    this.proxy.ws(req, socket, head);
  }
}

/** Replaces whatever X-Moat-* headers the client sent with the agent's own verdict. */
function markRequest(req: IncomingMessage, enforcement: Enforcement): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-moat-')) delete req.headers[name];
  }
  req.headers['x-moat-action'] = enforcement.action;
  req.headers['x-moat-client-ip'] = enforcement.clientIp ?? '';
}
