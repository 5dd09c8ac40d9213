/**
 * `profiles`: the admin command for API abuse profiles and manual entries on moat.config.v1.
 *
 *   node apps/scoring/dist/profiles.js validate <file>          check a profile file, publish nothing
 *   node apps/scoring/dist/profiles.js apply <file> [--prune]   publish what differs (npm run profiles:apply -- <file>)
 *   node apps/scoring/dist/profiles.js list                     entries in force and rejected ones
 *   node apps/scoring/dist/profiles.js delete <profile>         delete a profile
 *   node apps/scoring/dist/profiles.js deny|graylist|allow <ip-or-cidr> [--for 2h] [--note …]
 *   node apps/scoring/dist/profiles.js lift <ip-or-cidr>        delete a manual entry
 *
 * Kafka comes from the services' environment (KAFKA_BROKERS, MOAT_TOPIC_PREFIX, …). Every
 * running service follows the changes live.
 */
import { Command } from 'commander';
import { kafkaEnv, loadConfigOrExit, str } from '@moat/config';
import { configKey, type ManualDecisionEntry } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  formatProblems,
  parseProfileFile,
  publishProfiles,
  readConfig,
  readProfileFile,
  ProfileFileError,
} from '@moat/scoring-service';
import { createDistributedRuntime, type StreamRuntime } from '@moat/stream-kit';

// kafkajs warns about its v2 partitioner change on every run; nothing here depends on it.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function withRuntime<T>(work: (runtime: StreamRuntime) => Promise<T>): Promise<T> {
  const env = loadConfigOrExit({
    ...kafkaEnv,
    LOG_LEVEL: str({ default: 'warn', choices: ['debug', 'info', 'warn', 'error', 'fatal'] }),
  });
  const runtime = createDistributedRuntime({
    service: 'profiles',
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID || 'moat-profiles',
    topicPrefix: env.MOAT_TOPIC_PREFIX,
    partitions: env.MOAT_TOPIC_PARTITIONS,
    replicationFactor: env.MOAT_TOPIC_REPLICATION,
    redisUrl: '',
    redisPrefix: '',
    store: 'memory',
    logger: createLogger('profiles', env.LOG_LEVEL),
  });
  try {
    await runtime.start();
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const program = new Command('profiles')
  .description('Manage Moat profiles and manual entries on moat.config.v1')
  .showHelpAfterError();

program
  .command('validate <file>')
  .description('check a profile file; prints every problem with its field')
  .action((file: string) => {
    const entries = readProfileFile(file);
    const profiles = entries.filter((e) => e.kind === 'profile').length;
    out(`${file}: valid (${profiles} profiles, ${entries.length - profiles} manual entries)`);
  });

program
  .command('apply <file>')
  .description('publish the entries of a profile file that differ from those in force')
  .option('--prune', 'delete entries in force that the file does not list')
  .option('--only-missing', 'publish only entries whose name/subject is not in force yet')
  .option('--dry-run', 'show what would change, publish nothing')
  .action(
    async (file: string, opts: { prune?: boolean; onlyMissing?: boolean; dryRun?: boolean }) => {
      readProfileFile(file); // fail before connecting when the file is wrong
      const result = await withRuntime((runtime) => publishProfiles(runtime, file, opts));
      const verb = opts.dryRun ? 'would publish' : 'published';
      for (const key of result.published) out(`${verb}  ${key}`);
      for (const key of result.deleted) out(`${opts.dryRun ? 'would delete' : 'deleted'}  ${key}`);
      for (const key of result.unchanged) out(`unchanged  ${key}`);
      for (const key of result.kept) out(`kept (in force already)  ${key}`);
    },
  );

program
  .command('list')
  .description('print the entries in force and the rejected ones')
  .action(async () => {
    await withRuntime(async (runtime) => {
      const follower = await readConfig(runtime);
      try {
        for (const entry of follower.all()) out(`${configKey(entry)}  ${JSON.stringify(entry)}`);
        for (const r of follower.rejections()) {
          out(`REJECTED ${r.key ?? '(no key)'}  ${r.field}: ${r.reason}`);
        }
        if (follower.all().length === 0) out('no entries: the built-in default profile applies');
      } finally {
        await follower.stop();
      }
    });
  });

program
  .command('delete <profile>')
  .description('delete a profile')
  .action(async (name: string) => {
    await withRuntime((runtime) =>
      runtime.publish('config', [{ key: `profile:${name}`, value: null }], 'profiles'),
    );
    out(`deleted  profile:${name}`);
  });

for (const action of ['deny', 'graylist', 'allow'] as const) {
  program
    .command(`${action} <subject>`)
    .description(`${action} an IP address or CIDR (a manual entry; manual allow always wins)`)
    .option('--for <duration>', 'expire after this long (30m, 12h, 7d); default: never')
    .option('--until <time>', 'expire at this ISO date-time')
    .option('--note <text>', 'why (shown with the decision)')
    .action(async (subject: string, opts: { for?: string; until?: string; note?: string }) => {
      const { entries, problems } = parseProfileFile(
        {
          manual: [
            {
              subject,
              action,
              ...(opts.for !== undefined ? { for: opts.for } : {}),
              ...(opts.until !== undefined ? { expiresAt: opts.until } : {}),
              ...(opts.note !== undefined ? { note: opts.note } : {}),
            },
          ],
        },
        Date.now(),
      );
      if (problems.length > 0) fail(formatProblems(problems).replace(/\/manual\/0\//g, ''));
      const entry = entries[0] as ManualDecisionEntry;
      await withRuntime((runtime) =>
        runtime.publish('config', [{ key: configKey(entry), value: entry }], 'profiles'),
      );
      const until = entry.expiresAt ? ` until ${new Date(entry.expiresAt).toISOString()}` : '';
      out(`${action}  ${entry.subject}${until}`);
    });
}

program
  .command('lift <subject>')
  .description('delete the manual entry for an IP address or CIDR')
  .action(async (subject: string) => {
    const { entries, problems } = parseProfileFile(
      { manual: [{ subject, action: 'allow' }] },
      Date.now(),
    );
    if (problems.length > 0) fail(formatProblems(problems).replace(/\/manual\/0\//g, ''));
    const key = configKey(entries[0]);
    await withRuntime((runtime) => runtime.publish('config', [{ key, value: null }], 'profiles'));
    out(`lifted  ${key}`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ProfileFileError) fail(err.message);
  fail(`profiles: ${(err as Error).message}`);
});
