/**
 * The parameters of a request: its query parameters and the values in the path at the
 * placeholders of its route template (`/api/products/{id}` → `{id}@3` = `123`).
 */
import type { SessionEvent } from '@moat/contracts';

export function requestParameters(event: SessionEvent): Record<string, string> {
  const params: Record<string, string> = { ...event.request.query };
  const template = event.route.split('?')[0].split('/');
  const path = event.request.path.split('?')[0].split('/');
  if (template.length === path.length) {
    template.forEach((segment, i) => {
      if (segment.startsWith('{') && segment.endsWith('}')) params[`${segment}@${i}`] = path[i];
    });
  }
  return params;
}
