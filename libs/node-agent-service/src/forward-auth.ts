/**
 * The forward-auth protocol, framework-free: how each proxy asks and what answer it understands.
 *
 * | proxy | asks with | original request in | allow | refuse |
 * |---|---|---|---|---|
 * | NGINX `auth_request`, ingress-nginx `auth-url` | `GET /v1/check` | `X-Original-URI` / `X-Original-URL`, `X-Original-Method` | 204 | 401/403 only |
 * | Traefik ForwardAuth | `GET /v1/check` | `X-Forwarded-Uri`, `X-Forwarded-Method` | 204 | any status, body and headers reach the client |
 * | Envoy ext_authz (HTTP, `path_prefix: /v1/check`) | the original method, `/v1/check<original path>` | the path | 200 (Envoy allows on 200 only) | any status, body and allowed headers reach the client |
 *
 * NGINX treats any status but 2xx, 401 and 403 as an error (500 for the client), so unless the
 * caller is known to pass any status on (Traefik, which sends `X-Forwarded-Uri`, and Envoy's
 * path form) a graylisted client over its rate is answered 403 with `X-Moat-Status: 429` and
 * `Retry-After`, which the NGINX configuration turns into a 429 (see apps/node-agent/test/nginx
 * and docs/OPERATIONS.md); so is a configured block status other than 401/403. Every answer carries
 * `X-Moat-Action` (allow | deny | graylist), `X-Moat-Reason` and `X-Moat-Client-Ip`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BlockResponses, HttpAnswer } from './block-response';
import type { TrustedProxies } from '@moat/contracts';
import type { Enforcer } from './enforcer';

export const CHECK_PATH = '/v1/check';

export interface CheckRequest {
  /** The TCP peer (the proxy). */
  peer: string | undefined;
  method: string;
  /** The check request's own URL (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface ForwardAuthOptions {
  enforcer: Enforcer;
  proxies: TrustedProxies;
  responses: BlockResponses;
  /** Status of an allow on `/v1/check` (204 by default; Envoy's path form always gets 200). */
  allowStatus?: number;
}

export class ForwardAuth {
  private readonly allowStatus: number;

  constructor(private readonly options: ForwardAuthOptions) {
    this.allowStatus = options.allowStatus ?? 204;
  }

  answer(request: CheckRequest): HttpAnswer {
    const { headers } = request;
    const clientIp = this.options.proxies.clientIp(request.peer, headers);
    const envoy = request.url.length > CHECK_PATH.length && request.url[CHECK_PATH.length] === '/';
    let uri: string | undefined;
    let method: string | undefined;
    // Only Traefik (X-Forwarded-Uri) and Envoy (the path form) are known to pass any status on;
    // everyone else — NGINX and ingress-nginx above all — gets 401/403 only.
    let limitedStatuses = false;
    if (envoy) {
      uri = request.url.slice(CHECK_PATH.length);
      method = request.method;
    } else {
      const original = one(headers['x-original-uri']) ?? one(headers['x-original-url']);
      const traefik = one(headers['x-forwarded-uri']);
      limitedStatuses = original !== undefined || traefik === undefined;
      uri = original ?? traefik;
      method = one(headers['x-original-method']) ?? one(headers['x-forwarded-method']);
    }
    const enforcement = this.options.enforcer.enforce(clientIp, method, uri, 'forward-auth');
    if (enforcement.outcome === 'pass') {
      const passHeaders: Record<string, string> = {
        'x-moat-action': enforcement.action,
        'x-moat-reason': enforcement.reason,
        'x-moat-client-ip': clientIp ?? '',
      };
      return { status: envoy ? 200 : this.allowStatus, headers: passHeaders, body: '' };
    }
    const answer = this.options.responses.render(enforcement, one(headers.accept));
    answer.headers['x-moat-client-ip'] = clientIp ?? '';
    if (limitedStatuses && answer.status !== 401 && answer.status !== 403) {
      // auth_request passes on 401 and 403 only; the real status travels in a header.
      answer.headers['x-moat-status'] = String(answer.status);
      answer.status = 403;
    }
    return answer;
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
