/**
 * @moat/mirror-sdk: report a Node app's requests to the Moat mirror agent — Express, Fastify and
 * NestJS middleware over a batching, bounded, never-blocking reporter. No dependencies.
 */
export * from './reporter';
export * from './middleware';
