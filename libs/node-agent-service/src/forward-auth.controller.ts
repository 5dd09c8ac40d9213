/**
 * The forward-auth endpoint for NGINX auth_request, ingress-nginx auth-url, Traefik ForwardAuth
 * and Envoy ext_authz (HTTP): `/v1/check` and Envoy's `/v1/check/<original path>`, any method.
 * The protocol is ForwardAuth's (forward-auth.ts); this controller carries it over Nest and
 * Fastify wherever the node agent module runs inside another Nest application (the standalone
 * process). The node agent's own process answers the check before Nest (run-node-agent.ts).
 */
import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForwardAuth } from './forward-auth';

@Controller('v1')
export class ForwardAuthController {
  constructor(private readonly forwardAuth: ForwardAuth) {}

  @All(['check', 'check/*'])
  check(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    const answer = this.forwardAuth.answer({
      peer: request.raw.socket.remoteAddress,
      method: request.method,
      url: request.url,
      headers: request.headers,
    });
    void reply
      .code(answer.status)
      .headers(answer.headers)
      .send(answer.body || undefined);
  }
}
