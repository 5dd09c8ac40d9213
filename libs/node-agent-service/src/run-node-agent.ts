/**
 * Starts the node agent as a Nest application on Fastify. Unlike the other services it does
 * not need Kafka to start: it serves its snapshot (or fails open) at once and connects in the
 * background, because an edge component must never be the reason an API is down.
 *
 * The forward-auth check is on the path of every request of the protected API, so it is
 * answered by node:http before Fastify and Nest see the request (Fastify's serverFactory): the
 * same ForwardAuth as the Nest controller, at about two thirds of the CPU per check
 * (tools/bench/node-agent-nest-overhead.mjs). Everything else — /healthz, /readyz, /metrics —
 * goes through Nest as in every service.
 */
import 'reflect-metadata';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestPinoLogger } from '@moat/observability';
import { StreamRuntimeModule, type StreamRuntime } from '@moat/stream-kit';
import { CHECK_PATH, ForwardAuth } from './forward-auth';
import { NodeAgentModule } from './node-agent.module';
import type { NodeAgentOptions } from './node-agent.options';

export interface RunNodeAgentOptions {
  runtime: StreamRuntime;
  options: NodeAgentOptions;
  port: number;
  host: string;
}

class NodeAgentAppModule {}

/** Whether a request is for the forward-auth check (`/v1/check`, `/v1/check/<path>`, a query). */
export function isCheckUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(CHECK_PATH)) return false;
  const next = url.charCodeAt(CHECK_PATH.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63; /* ? */
}

export async function runNodeAgent(run: RunNodeAgentOptions): Promise<NestFastifyApplication> {
  const { runtime } = run;
  // Set once the app (and its ForwardAuth) exists; until then Nest answers the check too.
  const fast: { check?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer((req, res) => {
      if (fast.check && isCheckUrl(req.url)) fast.check(req, res);
      else handler(req, res);
    });
  const app = await NestFactory.create<NestFastifyApplication>(
    {
      module: NodeAgentAppModule,
      imports: [StreamRuntimeModule.forRoot(runtime), NodeAgentModule.register(run.options)],
    },
    new FastifyAdapter({ serverFactory }),
    {
      logger: new NestPinoLogger(runtime.logger.child({ component: 'nest' })),
      abortOnError: false,
    },
  );
  const forwardAuth = app.get(ForwardAuth);
  fast.check = (req, res) => {
    const answer = forwardAuth.answer({
      peer: req.socket.remoteAddress,
      method: req.method ?? 'GET',
      url: req.url!,
      headers: req.headers,
    });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body || undefined);
  };
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(run.port, run.host);
  runtime.logger.info(
    {
      port: run.port,
      host: run.host,
      snapshot: run.options.snapshotPath ?? 'off',
      proxy: run.options.proxy?.upstream,
    },
    `node-agent listening on http://${run.host}:${run.port} (forward-auth: /v1/check)`,
  );
  return app;
}
