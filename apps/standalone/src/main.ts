/**
 * The standalone runtime, Moat's embedded default (`npm start`): every service in one process
 * over the in-memory bus and store — no Kafka, no Redis — on one HTTP port. The same modules
 * as the distributed deployments, wired to a different runtime.
 */
import { randomBytes } from 'node:crypto';
import { loadConfigOrExit, serviceEnv, str } from '@moat/config';
import { availableDetectors } from '@moat/detectors';
import { DetectorHostModule, hostedDetectors } from '@moat/detector-service';
import { MirrorModule, mirrorEnv, mirrorOptionsFromEnv } from '@moat/mirror-service';
import { NodeAgentModule, nodeAgentEnv, nodeAgentOptionsFromEnv } from '@moat/node-agent-service';
import { ScoringModule, scoringEnv, scoringOptionsFromEnv } from '@moat/scoring-service';
import {
  SessionizerModule,
  sessionizerEnv,
  sessionizerOptionsFromEnv,
} from '@moat/sessionizer-service';
import { createLogger } from '@moat/observability';
import { createStandaloneRuntime, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const generatedSecret = !process.env.MOAT_HASH_SECRET;
  const env = loadConfigOrExit(
    {
      ...serviceEnv,
      ...mirrorEnv,
      ...sessionizerEnv,
      ...scoringEnv,
      ...nodeAgentEnv,
      MOAT_DETECTORS: str({
        default: availableDetectors().join(','),
        desc: 'detectors to host, comma-separated',
      }),
    },
    {
      ...process.env,
      MOAT_HASH_SECRET: process.env.MOAT_HASH_SECRET ?? randomBytes(32).toString('hex'),
    },
  );
  const logger = createLogger('standalone', env.LOG_LEVEL);
  let hosted;
  try {
    hosted = hostedDetectors(
      env.MOAT_DETECTORS.split(',')
        .map((d) => d.trim())
        .filter(Boolean),
    );
  } catch (err) {
    process.stderr.write(`Configuration error: MOAT_DETECTORS: ${(err as Error).message}\n`);
    process.exit(78);
  }
  // The services' own settings, read as their deployments read them (the profile file, weights,
  // registry and statistics retention for scoring; trusted proxies, snapshot, graylist, block
  // page and reverse proxy for the node agent).
  let sessionizer, scoring, nodeAgent;
  try {
    sessionizer = sessionizerOptionsFromEnv(env);
    scoring = scoringOptionsFromEnv(env);
    // Its own default snapshot file, not the one a local distributed node agent keeps
    // (`moat.decisions.snapshot`): neither should restore the other's decisions.
    nodeAgent = nodeAgentOptionsFromEnv({ ...env, MOAT_TOPIC_PREFIX: 'standalone' });
  } catch (err) {
    process.stderr.write(`Configuration error: ${(err as Error).message}\n`);
    process.exit(78);
  }
  const runtime = createStandaloneRuntime({ logger });
  await runService({
    service: 'standalone',
    runtime,
    modules: [
      MirrorModule.register(mirrorOptionsFromEnv(env)),
      SessionizerModule.register(sessionizer),
      DetectorHostModule.register(hosted),
      ScoringModule.register(scoring),
      NodeAgentModule.register(nodeAgent),
    ],
    port: env.PORT,
    host: env.HOST,
  });
  const base = `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`;
  process.stdout.write(
    [
      '',
      'Moat standalone is running: every service in one process on the in-memory bus and store.',
      'No Kafka and no Redis are used in this mode (the distributed deployments use both).',
      `  detectors:     ${hosted.map((h) => h.detector.id).join(', ')}`,
      `  send traffic:  POST ${base}/v1/requests   (JSON array of request metadata)`,
      `  forward-auth:  GET  ${base}/v1/check      (204 allow, 403 deny; client from X-Forwarded-For via trusted proxies)`,
      `  health:        ${base}/healthz  ${base}/readyz   metrics: ${base}/metrics`,
      generatedSecret
        ? '  MOAT_HASH_SECRET was not set: a random one is used for this run (credential hashes change on restart).'
        : '',
      `  try: curl -s -XPOST ${base}/v1/requests -H 'content-type: application/json' -d '[{"ip":"203.0.113.9","method":"GET","path":"/api/items/1","status":200}]'`,
      'Stop with Ctrl-C.',
      '',
    ]
      .filter((line) => line !== '')
      .join('\n') + '\n',
  );
}

void main();
