/**
 * Route templating: `/api/products/123` → `/api/products/{id}`. In order: an application's
 * configured templates (`/api/users/{user}/wishlist`) apply as written; otherwise numeric, UUID,
 * long hex and long opaque token segments become placeholders, and positions the RouteLearner
 * found to hold values (user names, slugs, file names) become `{param}`.
 */
import type { RequestRecord } from '@moat/contracts';
import { routeMatcher } from './auth-attempt';
import { PARAM, type RouteLearner } from './route-learner';
import type { ApplicationConfigs } from './session-config';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^\d+$/;
const HEX = /^(0x)?[0-9a-f]{12,}$/i;
const TOKEN = /^(?=.*\d)[A-Za-z0-9_-]{20,}$/;

export function templateSegment(segment: string): string {
  if (segment === '') return segment;
  if (NUMERIC.test(segment)) return '{id}';
  if (UUID.test(segment)) return '{uuid}';
  if (HEX.test(segment)) return '{hex}';
  if (TOKEN.test(segment)) return '{token}';
  return segment;
}

/** The longest route the event contract accepts. */
export const MAX_ROUTE_LENGTH = 8192;

export function templateRoute(path: string): string {
  const route = path.split('/').map(templateSegment).join('/') || '/';
  if (route.length <= MAX_ROUTE_LENGTH) return route;
  // '{id}' is longer than '1': a long path of short ids outgrows the contract; cut at a segment.
  const cut = route.lastIndexOf('/', MAX_ROUTE_LENGTH);
  return route.slice(0, cut > 0 ? cut : MAX_ROUTE_LENGTH);
}

function cut(route: string): string {
  if (route.length <= MAX_ROUTE_LENGTH) return route;
  const at = route.lastIndexOf('/', MAX_ROUTE_LENGTH);
  return route.slice(0, at > 0 ? at : MAX_ROUTE_LENGTH);
}

/** Templates an application's routes with its configuration and what was learned. */
export class RouteTemplater {
  private readonly patterns = new Map<
    string,
    { template: string; matches: (p: string) => boolean }[]
  >();

  constructor(
    private readonly configs: ApplicationConfigs,
    readonly learner: RouteLearner,
  ) {}

  template(request: RequestRecord): string {
    const config = this.configs.for(request.app);
    for (const pattern of this.compiled(request.app, config.routes)) {
      if (pattern.matches(request.path)) return pattern.template;
    }
    const learn = config.learnRoutes !== false;
    const segments = request.path.split('/');
    let route = templateSegment(segments[0]);
    for (let i = 1; i < segments.length; i++) {
      const raw = segments[i];
      let segment = templateSegment(raw);
      if (segment === raw && raw !== '' && learn) {
        if (!this.learner.isVariable(request.app, route) && request.status < 400)
          this.learner.observe(request.app, route, raw);
        // The request that decides a position is templated with it.
        if (this.learner.isVariable(request.app, route)) segment = PARAM;
      }
      route += `/${segment}`;
      if (route.length > MAX_ROUTE_LENGTH) break;
    }
    return cut(route || '/');
  }

  private compiled(app: string, routes: string[] | undefined) {
    if (!routes || routes.length === 0) return [];
    let compiled = this.patterns.get(app);
    if (!compiled) {
      compiled = routes.map((template) => ({ template, matches: routeMatcher(template) }));
      if (this.patterns.size >= 10_000) this.patterns.clear();
      this.patterns.set(app, compiled);
    }
    return compiled;
  }
}
