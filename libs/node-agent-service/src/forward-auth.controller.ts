/**
 * Forward-auth endpoint for NGINX auth_request, ingress-nginx auth-url, Traefik ForwardAuth and
 * Envoy ext_authz (HTTP): 204 allow, 403 deny, for the client address resolved through trusted
 * proxies. Graylist enforcement (refuse critical endpoints, slow the rest) comes with the node
 * agent issue; until then a graylisted client is allowed and marked with X-Moat-Action.
 */
import { All, Controller, Inject, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DecisionIndex } from './decision-index';
import { TrustedProxies } from './client-ip';

@Controller('v1')
export class ForwardAuthController {
  constructor(
    private readonly index: DecisionIndex,
    @Inject(TrustedProxies) private readonly proxies: TrustedProxies,
  ) {}

  @All('check')
  check(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    const ip = this.proxies.clientIp(request.raw.socket.remoteAddress, request.headers);
    const verdict = ip === undefined ? { action: 'allow' as const } : this.index.lookup(ip);
    void reply.header('x-moat-client-ip', ip ?? '').header('x-moat-action', verdict.action);
    if (verdict.action === 'deny') {
      void reply
        .status(403)
        .header('content-type', 'application/json')
        .send({ error: 'blocked by Moat', botTypes: verdict.decision?.botTypes ?? [] });
      return;
    }
    void reply.status(204).send();
  }
}
