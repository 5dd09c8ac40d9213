/**
 * @moat/node-agent-middleware: Moat's enforcement inside a Node application — Express, Fastify
 * and NestJS — following decisions over the stream kit, with the node agent's index, snapshot,
 * graylist and fail-open semantics.
 */
export * from './moat-guard';
export * from './moat.module';
