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

export function templateRoute(path: string): string {
  return path.split('/').map(templateSegment).join('/') || '/';
}
