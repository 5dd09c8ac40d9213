/**
 * The answer a refused client gets: a JSON body or an HTML block page (chosen by configuration,
 * or by the client's Accept header in `auto`), the configured status for a block and 429 with
 * Retry-After for a graylisted client over its rate. Never cached.
 */
import type { Enforcement } from './enforcer';

export type BlockFormat = 'json' | 'html' | 'auto';

export interface BlockResponseOptions {
  /** Status of a blocked request (deny, graylist on a critical endpoint). Default 403. */
  status?: number;
  format?: BlockFormat;
  /**
   * HTML page template; `{{status}}`, `{{title}}`, `{{message}}`, `{{clientIp}}`, `{{reason}}`
   * and `{{retryAfter}}` are replaced (HTML-escaped).
   */
  htmlTemplate?: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const DEFAULT_BLOCK_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}small{color:#777}</style></head>
<body><h1>{{title}}</h1><p>{{message}}</p>
<p><small>Status {{status}} · reason {{reason}} · your address {{clientIp}}</small></p></body>
</html>
`;

export class BlockResponses {
  readonly status: number;
  private readonly format: BlockFormat;
  private readonly template: string;

  constructor(options: BlockResponseOptions = {}) {
    this.status = options.status ?? 403;
    if (!Number.isInteger(this.status) || this.status < 400 || this.status > 599) {
      throw new Error(`block status ${this.status} is not an HTTP error status (400-599)`);
    }
    this.format = options.format ?? 'json';
    this.template = options.htmlTemplate ?? DEFAULT_BLOCK_PAGE;
  }

  /** The response for a `block` or `slow` enforcement. */
  render(enforcement: Enforcement, accept?: string): HttpAnswer {
    const slow = enforcement.outcome === 'slow';
    const status = slow ? 429 : this.status;
    const headers: Record<string, string> = {
      'cache-control': 'no-store',
      'x-moat-action': enforcement.action,
      'x-moat-reason': enforcement.reason,
    };
    if (slow) headers['retry-after'] = String(enforcement.retryAfterSeconds ?? 1);
    const title = slow ? 'Too many requests' : 'Access denied';
    const message = slow
      ? `Please slow down and retry in ${enforcement.retryAfterSeconds ?? 1} s.`
      : 'This request was blocked by the site’s API protection.';
    if (this.wantsHtml(accept)) {
      headers['content-type'] = 'text/html; charset=utf-8';
      const values: Record<string, string> = {
        status: String(status),
        title,
        message,
        clientIp: enforcement.clientIp ?? '',
        reason: enforcement.reason,
        retryAfter: String(enforcement.retryAfterSeconds ?? ''),
      };
      const body = this.template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
        name in values ? escapeHtml(values[name]) : whole,
      );
      return { status, headers, body };
    }
    headers['content-type'] = 'application/json; charset=utf-8';
    const body: Record<string, unknown> = {
      error: slow ? 'too many requests' : 'blocked by Moat',
      reason: enforcement.reason,
    };
    if (slow) body.retryAfter = enforcement.retryAfterSeconds ?? 1;
    if (!slow && enforcement.match) body.botTypes = enforcement.match.meta.botTypes;
    return { status, headers, body: JSON.stringify(body) };
  }

  private wantsHtml(accept: string | undefined): boolean {
    if (this.format !== 'auto') return this.format === 'html';
    return accept !== undefined && accept.includes('text/html');
  }
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
