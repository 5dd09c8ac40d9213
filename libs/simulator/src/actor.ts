/**
 * What every simulated actor (one person, or one bot campaign) works with: its random stream,
 * the site, the simulated period, and HTTP clients that turn the site's exchanges into the
 * requests an edge reports to the mirror agent.
 */
import { buildHeaders, type BrowserVersions, type ClientProfile } from './clients';
import type { Rng } from './rng';
import type { Exchange, Site } from './site';
import type { Label, SimulatedRequest } from './simulation.types';

export interface ActorContext {
  rng: Rng;
  site: Site;
  versions: BrowserVersions;
  /** Event time the actor starts at. */
  start: number;
  /** End of the simulated period (exclusive): nothing is sent at or after it. */
  end: number;
  /** Start of the simulated period. */
  periodStart: number;
  label: Label;
  /** Stable actor id (also the prefix of its request ids). */
  actor: string;
  /** Accounts registered on the site (user names), shared by all actors. */
  accounts: AccountBook;
  /** The next request id of this actor. */
  nextId(): string;
}

/** An actor's traffic, in non-decreasing event time. */
export type ActorScript = (ctx: ActorContext) => Iterable<SimulatedRequest>;

/** The site's registered accounts: people log into theirs, attackers guess at them. */
export interface AccountBook {
  /** The user name and password of account `i` (0 ≤ i < size). */
  account(i: number): { username: string; password: string };
  readonly size: number;
}

export interface ClientState {
  ip: string;
  profile: ClientProfile;
  acceptLanguage?: string;
  /** Session cookie value (sent as `sid=`), set by the site on the first response. */
  cookie?: string;
  /** Bearer token (apps, API clients). */
  token?: string;
  /** Sets the session cookie from the first response on, as a browser does. */
  acceptsCookies?: boolean;
}

/** One HTTP client of an actor (an actor may run many: a botnet, a browser and a phone…). */
export class Client {
  referer: string | undefined;

  constructor(
    private readonly ctx: ActorContext,
    public state: ClientState,
  ) {}

  get ip(): string {
    return this.state.ip;
  }

  set ip(ip: string) {
    this.state.ip = ip;
  }

  /** The request the edge reports for this exchange at event time `ts`. */
  send(ts: number, exchange: Exchange): SimulatedRequest {
    const { ctx, state } = this;
    const headers = buildHeaders(state.profile, {
      host: ctx.site.host,
      kind: exchange.kind,
      method: exchange.method,
      acceptLanguage: state.acceptLanguage,
      cookie: state.cookie ? `sid=${state.cookie}` : undefined,
      authorization: state.token ? `Bearer ${state.token}` : undefined,
      referer: this.referer ? `https://${ctx.site.host}${this.referer}` : undefined,
      contentType: exchange.contentType,
    });
    if (state.acceptsCookies && !state.cookie) state.cookie = ctx.rng.token(32);
    const input: SimulatedRequest['input'] = {
      id: ctx.nextId(),
      ts: Math.floor(ts),
      ip: state.ip,
      method: exchange.method,
      host: ctx.site.host,
      path: exchange.path,
      status: exchange.status,
      requestBytes: exchange.requestBytes,
      responseBytes: exchange.responseBytes,
      latencyMs: exchange.latencyMs,
      headers,
    };
    if (exchange.body !== undefined) input.body = exchange.body;
    return { input, label: ctx.label, actor: ctx.actor };
  }
}
