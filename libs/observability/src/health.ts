/**
 * Liveness and readiness. Components register named checks; /readyz is ready only when every
 * check is, and says which is not. `degraded` checks report without failing readiness (the
 * node agent keeps enforcing its snapshot when Kafka is away).
 */
export type CheckState = 'ok' | 'degraded' | 'down';

export interface HealthCheck {
  name: string;
  check(): { state: CheckState; detail?: string };
}

export interface HealthReport {
  status: CheckState;
  checks: Record<string, { state: CheckState; detail?: string }>;
}

export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck['check']>();

  register(name: string, check: HealthCheck['check']): void {
    this.checks.set(name, check);
  }

  unregister(name: string): void {
    this.checks.delete(name);
  }

  report(): HealthReport {
    const checks: HealthReport['checks'] = {};
    let status: CheckState = 'ok';
    for (const [name, check] of this.checks) {
      let result: { state: CheckState; detail?: string };
      try {
        result = check();
      } catch (err) {
        result = { state: 'down', detail: (err as Error).message };
      }
      checks[name] = result;
      if (result.state === 'down') status = 'down';
      else if (result.state === 'degraded' && status === 'ok') status = 'degraded';
    }
    return { status, checks };
  }
}
