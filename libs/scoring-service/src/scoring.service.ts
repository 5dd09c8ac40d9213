/**
 * The scoring service for the process's StreamRuntime. At start-up it reads moat.config.v1 to
 * its end (profiles and manual entries in force), optionally seeds profiles from a file, then
 * starts two consumers: the score processor on moat.votes.v1 (group `scoring`) and the
 * config-entries handler on moat.config.v1 (group `scoring-config`: manual entries become
 * decisions). The config follower keeps the policy current: a profile published while the
 * service runs applies from the next vote on, with no restart.
 */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Profile } from '@moat/contracts';
import {
  ConfigFollower,
  InjectRuntime,
  MemoryStructureStore,
  RedisStructureStore,
  type RedisStructureOptions,
  type StreamRuntime,
  type StructureStore,
  type Subscription,
} from '@moat/stream-kit';
import type { Weights } from './confidence';
import { configEntriesHandler } from './config-entries.handler';
import { ScoringPolicy, validateConfigEntry } from './policy';
import { publishProfiles } from './profile-admin';
import { BotRegistry, type RegistryOptions } from './registry';
import { ScoreProcessor } from './score.processor';
import { scoringHandler } from './scoring.handler';
import { DAY_MS, Statistics } from './statistics';

export const SCORING_OPTIONS = Symbol('SCORING_OPTIONS');

export interface ScoringServiceOptions {
  /** Profiles in force while moat.config.v1 holds none (DEFAULT_PROFILE). */
  profiles: Profile[];
  /** How long a detector's verdict counts, in event time. */
  verdictHorizonMs: number;
  /** Detector weights per bot type (the calibration table); 1 where absent. */
  weights?: Weights;
  /** Redis for the registry, statistics and expiry timers; required on a Redis state store. */
  redis?: RedisStructureOptions;
  /** A ready-made structure store (tests); overrides `redis`. */
  structures?: StructureStore;
  registry?: Partial<RegistryOptions>;
  /** How long daily statistics are kept (≥ 61 days, for the 30-vs-30-day comparison). */
  statsRetentionMs?: number;
  /** A profile file whose entries are published at start-up when the topic lacks their key. */
  profilesFile?: string;
}

export const DEFAULT_REGISTRY: RegistryOptions = { retentionMs: 30 * DAY_MS, maxBots: 100_000 };
export const DEFAULT_STATS_RETENTION_MS = 70 * DAY_MS;

@Injectable()
export class ScoringService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly processor: ScoreProcessor;
  readonly follower: ConfigFollower;
  readonly structures: StructureStore;
  readonly registry: BotRegistry;
  readonly statistics: Statistics;
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(SCORING_OPTIONS) private readonly options: ScoringServiceOptions,
  ) {
    const statsRetentionMs = options.statsRetentionMs ?? DEFAULT_STATS_RETENTION_MS;
    if (statsRetentionMs < Statistics.MIN_RETENTION_MS) {
      throw new Error(
        `statistics retention of ${Math.round(statsRetentionMs / DAY_MS)} days is too short: the 30-vs-30-day comparison needs at least 61 days (MOAT_STATS_RETENTION)`,
      );
    }
    this.structures = options.structures ?? this.structureStore();
    this.registry = new BotRegistry(this.structures, { ...DEFAULT_REGISTRY, ...options.registry });
    this.statistics = new Statistics(this.structures, { retentionMs: statsRetentionMs });
    this.processor = new ScoreProcessor({
      profiles: options.profiles,
      weights: options.weights,
      verdictHorizonMs: options.verdictHorizonMs,
      sideOutputs: true,
    });
    this.follower = new ConfigFollower({
      runtime,
      service: 'scoring',
      validate: (entry) => validateConfigEntry(entry),
    });
  }

  get policy(): ScoringPolicy {
    return this.processor.currentPolicy;
  }

  async onApplicationBootstrap(): Promise<void> {
    const log = this.runtime.logger.child({ component: 'scoring' });
    await this.structures.connect();
    this.follower.onChange(() => this.refreshPolicy());
    await this.follower.start();
    await this.follower.ready();
    this.refreshPolicy();
    if (this.options.profilesFile) {
      const result = await publishProfiles(this.runtime, this.options.profilesFile, {
        onlyMissing: true,
        service: 'scoring',
      });
      log.info(result, `seeded profiles from ${this.options.profilesFile}`);
    }

    this.subscriptions.push(
      await this.runtime.consume({
        service: 'scoring',
        groupId: 'scoring',
        input: 'votes',
        handler: scoringHandler({
          processor: this.processor,
          store: this.runtime.store,
          structures: this.structures,
          registry: this.registry,
          statistics: this.statistics,
          logger: log,
          deleteConfig: (keys) =>
            this.runtime.publish(
              'config',
              keys.map((key) => ({ key, value: null })),
              'scoring',
            ),
        }),
      }),
      await this.runtime.consume({
        service: 'scoring-config',
        groupId: 'scoring-config',
        input: 'config',
        handler: configEntriesHandler(),
      }),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) await subscription.stop();
    await this.follower.stop();
    await this.structures.close();
  }

  private refreshPolicy(): void {
    const before = this.processor.currentPolicy;
    const policy = ScoringPolicy.fromConfig(
      this.follower.all(),
      this.options.profiles,
      this.options.weights,
    );
    this.processor.setPolicy(policy);
    const describe = (p: ScoringPolicy) =>
      p.profiles.map((x) => `${x.name}:${x.reaction}@${x.threshold}`).join(',');
    if (describe(before) !== describe(policy) || before.manual.size !== policy.manual.size) {
      this.runtime.logger.info(
        {
          profiles: policy.profiles.map((p) => ({
            name: p.name,
            reaction: p.reaction,
            threshold: p.threshold,
            durationMs: p.durationMs,
            botTypes: p.botTypes.length,
            applications: p.applications,
          })),
          published: policy.published,
          manualEntries: policy.manual.size,
        },
        'scoring policy in force',
      );
    }
  }

  private structureStore(): StructureStore {
    if (this.runtime.store.kind === 'memory') return new MemoryStructureStore();
    if (!this.options.redis) {
      throw new Error(
        'scoring on a Redis state store needs Redis options for its registry, statistics and timers (ScoringModule.register({ redis }))',
      );
    }
    return new RedisStructureStore(this.options.redis);
  }
}
