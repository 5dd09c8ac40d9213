// What the Nest layer costs on the forward-auth path: the same trivial check answered by a Nest
// controller (as the node agent does) and by a raw Fastify route registered on the same Fastify
// instance, each loaded by autocannon from another process. Decided whether /v1/check could stay
// a Nest controller (docs/ARCHITECTURE.md).
//
//   node tools/bench/node-agent-nest-overhead.mjs [--duration 8] [--runs 3] [--connections 32]
//     [--server-cpu 0] [--load-cpu 1]
import 'reflect-metadata';
import { fork } from 'node:child_process';
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    role: { type: 'string', default: 'main' },
    url: { type: 'string' },
  },
});

function answer(headers, reply) {
  void reply
    .header('x-moat-client-ip', headers['x-forwarded-for'] ?? '')
    .header('x-moat-action', 'allow');
  void reply.status(204).send();
}

if (values.role === 'server') {
  const { NestFactory } = require('@nestjs/core');
  const { FastifyAdapter } = require('@nestjs/platform-fastify');
  const { All, Controller, Module, Req, Res } = require('@nestjs/common');
  // The decorators a TypeScript controller would carry, applied by hand (this is plain JS).
  class CheckController {
    check(request, reply) {
      answer(request.headers, reply);
    }
  }
  Reflect.defineMetadata('design:paramtypes', [Object, Object], CheckController.prototype, 'check');
  Req()(CheckController.prototype, 'check', 0);
  Res()(CheckController.prototype, 'check', 1);
  const descriptor = Object.getOwnPropertyDescriptor(CheckController.prototype, 'check');
  All('check')(CheckController.prototype, 'check', descriptor);
  Controller('v1')(CheckController);
  class AppModule {}
  Module({ controllers: [CheckController] })(AppModule);
  // Third variant: node:http answers /node/check before Fastify sees the request (serverFactory).
  const { createServer } = require('node:http');
  const serverFactory = (handler) =>
    createServer((req, res) => {
      if (req.url.startsWith('/node/check')) {
        res.writeHead(204, {
          'x-moat-client-ip': req.headers['x-forwarded-for'] ?? '',
          'x-moat-action': 'allow',
        });
        res.end();
        return;
      }
      handler(req, res);
    });
  const app = await NestFactory.create(AppModule, new FastifyAdapter({ serverFactory }), {
    logger: false,
  });
  app
    .getHttpAdapter()
    .getInstance()
    .route({
      method: ['GET', 'POST', 'HEAD'],
      url: '/raw/check',
      handler: (request, reply) => answer(request.headers, reply),
    });
  await app.listen(0, '127.0.0.1');
  // The parent asks for this process's CPU time around each run.
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send({ cpuMicros: user + system });
  });
  process.send({ url: (await app.getUrl()).replace('[::1]', '127.0.0.1') });
} else if (values.role === 'load') {
  const autocannon = require('autocannon');
  const result = await autocannon({
    url: values.url,
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers: { 'x-forwarded-for': '192.0.2.1', 'x-original-uri': '/api/items' },
  });
  process.send({ rps: result.requests.total / result.duration, p99: result.latency.p99 });
  process.exit(0);
} else {
  const self = fileURLToPath(import.meta.url);
  const pinned = (cpu) => ({ execPath: 'taskset', execArgv: ['-c', cpu, process.execPath] });
  const server = fork(self, ['--role', 'server'], pinned(values['server-cpu']));
  const { url } = await new Promise((r) => server.once('message', r));
  const serverCpu = () =>
    new Promise((r) => {
      server.once('message', (m) => r(m.cpuMicros));
      server.send('cpu');
    });
  const run = async (path) => {
    const before = await serverCpu();
    const load = fork(
      self,
      [
        '--role',
        'load',
        '--url',
        `${url}${path}`,
        '--duration',
        values.duration,
        '--connections',
        values.connections,
      ],
      pinned(values['load-cpu']),
    );
    const result = await new Promise((r) => load.once('message', r));
    const cpuMicros = (await serverCpu()) - before;
    return { ...result, cpuMicrosPerCheck: cpuMicros / (result.rps * Number(values.duration)) };
  };
  await run('/v1/check'); // warm-up of both paths' JIT and connections
  const paths = { nest: '/v1/check', rawFastify: '/raw/check', nodeHttp: '/node/check' };
  const runs = [];
  for (let r = 0; r < Number(values.runs); r++) {
    const run1 = {};
    for (const [name, path] of Object.entries(paths)) {
      const result = await run(path);
      run1[name] = {
        checksPerSecond: Math.round(result.rps),
        p99Ms: result.p99,
        serverCpuMicrosPerCheck: +result.cpuMicrosPerCheck.toFixed(1),
      };
    }
    run1.loadAverage1m = +os.loadavg()[0].toFixed(2);
    runs.push(run1);
    console.error(`run ${r + 1}: ${JSON.stringify(run1)}`);
  }
  server.kill();
  const median = (pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const medians = Object.fromEntries(
    Object.keys(paths).map((name) => {
      const cpu = median((x) => x[name].serverCpuMicrosPerCheck);
      return [
        name,
        {
          serverCpuMicrosPerCheck: cpu,
          checksPerCpuSecond: Math.round(1e6 / cpu),
          checksPerSecond: median((x) => x[name].checksPerSecond),
        },
      ];
    }),
  );
  const results = {
    runs,
    medians,
    nodeHttpCpuShareOfNest: +(
      medians.nodeHttp.serverCpuMicrosPerCheck / medians.nest.serverCpuMicrosPerCheck
    ).toFixed(2),
    rawFastifyCpuShareOfNest: +(
      medians.rawFastify.serverCpuMicrosPerCheck / medians.nest.serverCpuMicrosPerCheck
    ).toFixed(2),
  };
  console.log(JSON.stringify(results, null, 2));
}
