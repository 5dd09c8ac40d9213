/**
 * What the edge does with one request, whichever integration asks (forward-auth, in-process
 * middleware, reverse proxy): look the client up in the decision index, then
 *
 * - no decision, or a matching allow: pass;
 * - deny: block, everywhere;
 * - graylist: block on the application's critical endpoints; elsewhere pass while the client
 *   stays under a small rate, and slow it (429 with Retry-After) above it.
 *
 * Fail open: an unknown client address passes; the index holds the last known decisions even
 * while Kafka is away.
 */
import { Counter } from 'prom-client';
import type { PipelineMetrics } from '@moat/observability';
import type { CriticalEndpoints } from './critical-endpoints';
import type { DecisionIndex, Action, Match } from './decision-index';
import type { GraylistLimiter } from './graylist-limiter';

export type Outcome = 'pass' | 'block' | 'slow';
export type Integration = 'forward-auth' | 'middleware' | 'proxy';

export type Reason =
  'no-decision' | 'allowlist' | 'graylist' | 'denylist' | 'graylist-critical' | 'graylist-rate';

export interface Enforcement {
  outcome: Outcome;
  /** The index's verdict for the client. */
  action: Action;
  reason: Reason;
  clientIp: string | undefined;
  /** For `slow`: whole seconds the client should wait (Retry-After). */
  retryAfterSeconds?: number;
  match?: Match;
}

export interface EnforcerOptions {
  index: DecisionIndex;
  critical: CriticalEndpoints;
  limiter: GraylistLimiter;
  metrics?: PipelineMetrics;
  /** Metrics label and log field; the service name. */
  service?: string;
}

const OUTCOMES: readonly Outcome[] = ['pass', 'block', 'slow'];
const INTEGRATIONS: readonly Integration[] = ['forward-auth', 'middleware', 'proxy'];
const ACTION_CODES: Record<Action, number> = { allow: 0, deny: 1, graylist: 2 };
const ACTIONS: readonly Action[] = ['allow', 'deny', 'graylist'];
const OUTCOME_CODES: Record<Outcome, number> = { pass: 0, block: 1, slow: 2 };
const INTEGRATION_CODES: Record<Integration, number> = {
  'forward-auth': 0,
  middleware: 1,
  proxy: 2,
};

export class Enforcer {
  private readonly index: DecisionIndex;
  private readonly critical: CriticalEndpoints;
  private readonly limiter: GraylistLimiter;
  /**
   * Checks by [integration][action][outcome], counted in a typed array (a prom-client label
   * lookup per check would cost more than the check) and handed to the counter at scrape time.
   */
  private readonly counts = new Float64Array(INTEGRATIONS.length * 3 * OUTCOMES.length);

  constructor(options: EnforcerOptions) {
    this.index = options.index;
    this.critical = options.critical;
    this.limiter = options.limiter;
    if (options.metrics) {
      const service = options.service ?? 'node-agent';
      const counts = this.counts;
      const reported = new Float64Array(counts.length);
      const name = 'moat_node_agent_checks_total';
      options.metrics.registry.removeSingleMetric(name);
      new Counter({
        name,
        help: 'Requests checked at the edge, by integration, the client verdict and what was done',
        labelNames: ['service', 'integration', 'action', 'outcome'],
        registers: [options.metrics.registry],
        collect() {
          for (let i = 0; i < counts.length; i++) {
            if (counts[i] === reported[i]) continue;
            const outcome = OUTCOMES[i % OUTCOMES.length];
            const action = ACTIONS[Math.floor(i / OUTCOMES.length) % 3];
            const integration = INTEGRATIONS[Math.floor(i / (OUTCOMES.length * 3))];
            this.inc({ service, integration, action, outcome }, counts[i] - reported[i]);
            reported[i] = counts[i];
          }
        },
      });
    }
  }

  /**
   * Decides a request of `clientIp` (resolved through trusted proxies) to `uri` (path and query
   * of the original request; undefined when the integration cannot tell).
   */
  enforce(
    clientIp: string | undefined,
    method: string | undefined,
    uri: string | undefined,
    integration: Integration,
    now: number = Date.now(),
  ): Enforcement {
    const result = this.decide(clientIp, method, uri, now);
    this.counts[
      (INTEGRATION_CODES[integration] * 3 + ACTION_CODES[result.action]) * OUTCOMES.length +
        OUTCOME_CODES[result.outcome]
    ]++;
    return result;
  }

  private decide(
    clientIp: string | undefined,
    method: string | undefined,
    uri: string | undefined,
    now: number,
  ): Enforcement {
    if (clientIp === undefined) {
      return { outcome: 'pass', action: 'allow', reason: 'no-decision', clientIp };
    }
    const verdict = this.index.lookup(clientIp, now);
    const { action, match } = verdict;
    switch (action) {
      case 'allow':
        return {
          outcome: 'pass',
          action,
          reason: match ? 'allowlist' : 'no-decision',
          clientIp,
          match,
        };
      case 'deny':
        return { outcome: 'block', action, reason: 'denylist', clientIp, match };
      case 'graylist': {
        if (uri !== undefined && this.critical.matches(method, uri)) {
          return { outcome: 'block', action, reason: 'graylist-critical', clientIp, match };
        }
        const waitMs = this.limiter.take(clientIp, now);
        if (waitMs === 0) return { outcome: 'pass', action, reason: 'graylist', clientIp, match };
        return {
          outcome: 'slow',
          action,
          reason: 'graylist-rate',
          clientIp,
          match,
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        };
      }
    }
  }
}
