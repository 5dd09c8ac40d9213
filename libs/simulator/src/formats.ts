/**
 * Output formats of simulated traffic, one JSON object per line: what the edge sends to the
 * mirror agent (MirrorInput), moat.requests.v1 records, and an NGINX JSON access log with a
 * labels sidecar. The NGINX keys are the variable names without `$`, every value a string, as
 *
 *   log_format moat escape=json '{"msec":"$msec","request_id":"$request_id",
 *     "remote_addr":"$remote_addr","request_method":"$request_method",
 *     "request_uri":"$request_uri","status":"$status","request_length":"$request_length",
 *     "bytes_sent":"$bytes_sent","request_time":"$request_time",
 *     "http_user_agent":"$http_user_agent","http_referer":"$http_referer",
 *     "http_accept_language":"$http_accept_language","http_host":"$http_host"}';
 */
import type { Label, SimulatedRequest } from './simulation.types';

export interface NginxLogEntry {
  msec: string;
  request_id: string;
  remote_addr: string;
  request_method: string;
  request_uri: string;
  status: string;
  request_length: string;
  bytes_sent: string;
  request_time: string;
  http_user_agent: string;
  http_referer: string;
  http_accept_language: string;
  http_host: string;
}

function header(headers: Record<string, string> | undefined, name: string): string {
  if (!headers) return '';
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return '';
}

export function toNginxEntry(request: SimulatedRequest): NginxLogEntry {
  const { input } = request;
  return {
    msec: (input.ts / 1000).toFixed(3),
    request_id: input.id,
    remote_addr: input.ip,
    request_method: input.method,
    request_uri: input.path,
    status: String(input.status),
    request_length: String(input.requestBytes ?? 0),
    bytes_sent: String(input.responseBytes ?? 0),
    request_time: ((input.latencyMs ?? 0) / 1000).toFixed(3),
    http_user_agent: header(input.headers, 'user-agent'),
    http_referer: header(input.headers, 'referer'),
    http_accept_language: header(input.headers, 'accept-language'),
    http_host: input.host ?? header(input.headers, 'host'),
  };
}

export interface LabelEntry {
  /** 1-based line of the log this label belongs to. */
  line: number;
  id: string;
  actor: string;
  label: Label;
}

export function labelEntry(request: SimulatedRequest, line: number): LabelEntry {
  return { line, id: request.input.id, actor: request.actor, label: request.label };
}
