/**
 * Route templating: `/api/products/123` → `/api/products/{id}`. Numeric, UUID, long hex and
 * long opaque token segments become placeholders; learned high-cardinality segments come with
 * the baselines.
 */
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
