/**
 * Bot campaigns, one script per scenario. Each campaign draws its own parameters (rate, size,
 * pool of addresses, pacing style) from its random stream. A spoofed campaign sends a current
 * browser's User-Agent and that browser's headers, chosen once for the campaign (so all its
 * clients share the fingerprint); its behaviour is the same as the plain campaign's, so only
 * behaviour can reveal it.
 */
import type { BotType } from '@moat/contracts';
import { ipPool, randomIp } from './addresses';
import { Client, type ActorContext } from './actor';
import {
  legacyBrowserProfile,
  randomBrowser,
  toolProfile,
  type ClientProfile,
  type ToolName,
} from './clients';
import type { Rng } from './rng';
import type { Exchange } from './site';
import type { BotScenario, SimulatedRequest } from './simulation.types';
import {
  CATEGORIES,
  couponCode,
  FUZZ_SUFFIXES,
  FUZZ_WORDS,
  INJECTION_QUERIES,
  password as randomPassword,
  SCANNER_PATHS,
  SEARCH_TERMS,
  userName,
} from './vocabulary';

export const SCENARIO_BOT_TYPE: Readonly<Record<BotScenario, BotType>> = {
  'scanner-paths': 'security-crawler',
  'not-found-storm': 'security-crawler',
  'catalogue-enumeration': 'scraping',
  'slow-drip-scraper': 'scraping',
  'distributed-scraper': 'scraping',
  'legacy-browser-scraper': 'scraping',
  'credential-stuffing': 'account-takeover',
  'low-frequency-stuffing': 'account-takeover',
  'ip-rotation': 'account-takeover',
  'session-rotation': 'account-takeover',
  'persistent-ato': 'account-takeover',
  'expensive-endpoint': 'unrestricted-resource-consumption',
  'huge-payload': 'unrestricted-resource-consumption',
  'huge-download': 'unrestricted-resource-consumption',
  flood: 'unrestricted-resource-consumption',
  'odd-sequence': 'suspicious-api-activity',
  'critical-endpoint-abuse': 'suspicious-api-activity',
};

/**
 * Scenarios that span the whole period (slow and persistent ones) start in its first twentieth;
 * the others start anywhere in its first four fifths.
 */
export const LONG_RUNNING: ReadonlySet<BotScenario> = new Set<BotScenario>([
  'slow-drip-scraper',
  'low-frequency-stuffing',
  'persistent-ato',
]);

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

type Pacing = (rng: Rng) => number;

/** A campaign's pacing: scripts sleep a fixed time, a uniform range, or arrive at random. */
function pacing(rng: Rng, meanMs: number): Pacing {
  const style = rng.weighted([
    ['fixed', 4],
    ['uniform', 4],
    ['poisson', 2],
  ] as const);
  if (style === 'fixed') return (r) => meanMs * r.uniform(0.98, 1.02);
  if (style === 'uniform') return (r) => meanMs * r.uniform(0.5, 1.5);
  return (r) => r.exponential(meanMs);
}

const spoofed = (ctx: ActorContext) => ctx.label.kind === 'bot' && ctx.label.spoofedUserAgent;

/** The campaign's client software: its tool, or one current browser if spoofing. */
function campaignProfile(ctx: ActorContext, tools: readonly ToolName[]): ClientProfile {
  return spoofed(ctx)
    ? randomBrowser(ctx.versions, ctx.rng, { mobile: ctx.rng.chance(0.2) })
    : toolProfile(ctx.rng.pick(tools));
}

function botClient(
  ctx: ActorContext,
  profile: ClientProfile,
  ip: string,
  options: { cookies?: boolean; language?: string } = {},
): Client {
  return new Client(ctx, {
    ip,
    profile,
    acceptLanguage: spoofed(ctx) ? (options.language ?? 'en-US,en;q=0.9') : undefined,
    acceptsCookies: options.cookies ?? spoofed(ctx),
  });
}

/**
 * A campaign that signs in to its own account first (resource-consumption scripts): its client
 * on a hosting address with a cookie jar, its pacing (mean drawn from `paceSeconds`), and the
 * sign-in sent at the start. Returns what the script goes on with.
 */
function* signedIn(
  ctx: ActorContext,
  tools: readonly ToolName[],
  paceSeconds: readonly [number, number],
): Generator<SimulatedRequest, { client: Client; pace: Pacing; t: number }> {
  const { rng, site, accounts } = ctx;
  const client = botClient(ctx, campaignProfile(ctx, tools), randomIp(rng, 'hosting'), {
    cookies: true,
  });
  const own = accounts.account(rng.int(0, accounts.size - 1));
  const pace = pacing(rng, rng.uniform(paceSeconds[0], paceSeconds[1]) * SECOND);
  yield client.send(ctx.start, site.login(rng, own.username, own.password, true));
  return { client, pace, t: ctx.start };
}

/** The scenario scripts. */
export const BOT_SCRIPTS: Readonly<
  Record<BotScenario, (ctx: ActorContext) => Generator<SimulatedRequest>>
> = {
  // ---- security crawlers ----

  *'scanner-paths'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['nikto', 'nuclei', 'sqlmap']),
      randomIp(rng, 'hosting'),
    );
    const pace = pacing(rng, SECOND / rng.uniform(4, 25));
    const routes = ['/api/search', '/api/products', '/api/login', '/api/account/orders', '/'];
    const probes: (() => Exchange)[] = [];
    for (const path of SCANNER_PATHS) {
      probes.push(() =>
        path === '/robots.txt'
          ? site.robots(rng)
          : /admin|manager|console|server-/.test(path)
            ? site.refused(rng, path, 403)
            : site.notFound(rng, path),
      );
    }
    for (const route of routes)
      for (const query of INJECTION_QUERIES)
        probes.push(() => site.refused(rng, `${route}?${query}`, 400));
    const rounds = rng.int(1, 3);
    let t = ctx.start;
    for (let round = 0; round < rounds; round++) {
      for (const probe of rng.shuffle(probes)) {
        yield client.send(t, probe());
        t += pace(rng);
      }
      t += rng.uniform(1, 20) * MINUTE;
    }
  },

  *'not-found-storm'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['ffuf', 'gobuster']),
      randomIp(rng, 'hosting'),
    );
    const pace = pacing(rng, SECOND / rng.uniform(15, 80));
    const bases = ['', '/api', '/static', '/api/v1'];
    let t = ctx.start;
    for (const base of rng.shuffle(bases).slice(0, rng.int(2, 4)))
      for (const word of FUZZ_WORDS)
        for (const suffix of FUZZ_SUFFIXES) {
          const path = `${base}/${word}${suffix}`;
          yield client.send(
            t,
            path === '/login' ? site.refused(rng, path, 405) : site.notFound(rng, path),
          );
          t += pace(rng);
        }
  },

  // ---- scraping ----

  *'catalogue-enumeration'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['pythonRequests', 'scrapy', 'go']),
      randomIp(rng, 'hosting'),
    );
    const pace = pacing(rng, rng.uniform(150, 900));
    const first = rng.int(1, 50);
    const count = Math.min(site.productCount, rng.int(600, 3_000));
    let t = ctx.start;
    yield client.send(t, site.categories(rng));
    t += pace(rng);
    for (let id = first; id < first + count; id++) {
      yield client.send(t, site.product(rng, id));
      t += pace(rng);
      if (id % 50 === 0) {
        const category = CATEGORIES[(id / 50) % CATEGORIES.length];
        yield client.send(t, site.category(rng, category, 1 + ((id / 50) % 40)));
        t += pace(rng);
      }
    }
  },

  *'slow-drip-scraper'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['pythonRequests', 'headlessChrome', 'axios']),
      randomIp(rng, 'residential'),
      {
        cookies: true,
      },
    );
    // Below the inactivity timeout on purpose: one endless, quiet session.
    const pace = pacing(rng, rng.uniform(45, 240) * SECOND);
    const n = site.productCount;
    // A permutation of the catalogue: a stride coprime with its size.
    let stride = rng.int(1_000, 9_999);
    while (gcd(stride, n) !== 1) stride++;
    let k = rng.int(0, n - 1);
    let t = ctx.start;
    for (;;) {
      const id = (k % n) + 1;
      k += stride;
      yield client.send(t, site.product(rng, id));
      if (rng.chance(0.3)) {
        t += rng.uniform(300, 1_500);
        yield client.send(t, site.reviews(rng, id));
      }
      t += pace(rng);
    }
  },

  *'distributed-scraper'(ctx) {
    const { rng, site } = ctx;
    const profile = campaignProfile(ctx, ['pythonRequests', 'scrapy', 'go']);
    const pool = ipPool(rng, rng.chance(0.5) ? 'residential' : 'hosting', rng.int(50, 300));
    const pace = pacing(rng, rng.uniform(80, 400));
    const workers = Array.from({ length: rng.int(4, 12) }, () => ({
      client: botClient(ctx, profile, pool[0]),
      left: 0,
    }));
    let next = 0;
    let id = rng.int(1, 100);
    const last = Math.min(site.productCount, id + rng.int(1_500, 6_000));
    let t = ctx.start;
    for (let w = 0; id <= last; w = (w + 1) % workers.length) {
      const worker = workers[w];
      if (worker.left === 0) {
        worker.client = botClient(ctx, profile, pool[next++ % pool.length]);
        worker.left = rng.int(10, 40);
      }
      worker.left--;
      yield worker.client.send(t, site.product(rng, id++));
      t += pace(rng);
    }
  },

  *'legacy-browser-scraper'(ctx) {
    const { rng, site } = ctx;
    // A script from an old tutorial: a years-old browser's User-Agent and headers, no cookie jar,
    // one request at a time with a fixed sleep after each response, from a rented server.
    const client = new Client(ctx, {
      ip: randomIp(rng, 'hosting'),
      profile: spoofed(ctx)
        ? randomBrowser(ctx.versions, rng)
        : legacyBrowserProfile(ctx.versions, rng),
      acceptLanguage: rng.pick(['en-US,en;q=0.8', 'en-US,en;q=0.5', 'en-US,en;q=0.9']),
      acceptsCookies: false,
    });
    const sleep = rng.uniform(60, 110);
    let t = ctx.start;
    const send = (exchange: Exchange) => {
      const request = client.send(t, exchange);
      t += exchange.latencyMs + sleep * rng.uniform(0.9, 1.1);
      return request;
    };
    yield send(site.categories(rng));
    // Category listings page by page until an empty page, and every product each page lists.
    for (const slug of rng.shuffle(CATEGORIES).slice(0, rng.int(3, 6))) {
      for (let page = 1; ; page++) {
        yield send(site.category(rng, slug, page));
        const listed = site.categoryProducts(slug, page);
        if (listed.length === 0) break;
        for (const id of listed) yield send(site.product(rng, id));
      }
    }
    // Then the result pages of a list of search terms.
    for (const term of rng.shuffle(SEARCH_TERMS).slice(0, rng.int(4, 8))) {
      const pages = rng.int(10, 25);
      for (let page = 1; page <= pages; page++) yield send(site.search(rng, term, page));
    }
  },

  // ---- account takeover ----

  *'credential-stuffing'(ctx) {
    const { rng, site } = ctx;
    const profile = campaignProfile(ctx, ['pythonRequests', 'go', 'okhttp', 'java']);
    const proxies = ipPool(rng, 'hosting', rng.int(1, 4));
    const pace = pacing(rng, SECOND / rng.uniform(2, 15));
    const size = rng.int(400, 4_000);
    let t = ctx.start;
    for (let i = 0; i < size; i++) {
      const client = botClient(ctx, profile, proxies[i % proxies.length], { cookies: false });
      const { username, password, valid } = comboEntry(ctx, rng);
      yield client.send(t, site.login(rng, username, password, valid));
      t += pace(rng);
      if (valid) {
        client.state.cookie = rng.token(32);
        yield client.send(t, site.account(rng, true));
        t += pace(rng);
      }
    }
  },

  *'low-frequency-stuffing'(ctx) {
    const { rng, site } = ctx;
    const profile = campaignProfile(ctx, ['pythonRequests', 'go']);
    const pool = ipPool(rng, 'residential', rng.int(1_000, 2_500));
    const language = 'en-US,en;q=0.9';
    // Spread over what is left of the period: isolated attempts, at most two per address,
    // each from a fresh client that does nothing else.
    const span = ctx.end - ctx.start;
    const attempts: { at: number; ip: string }[] = [];
    for (const ip of pool) {
      const at = ctx.start + rng.float() * span;
      attempts.push({ at, ip });
      if (rng.chance(0.4)) attempts.push({ at: at + rng.uniform(2, 25) * SECOND, ip });
    }
    attempts.sort((a, b) => a.at - b.at);
    for (const { at, ip } of attempts) {
      const client = botClient(ctx, profile, ip, { cookies: false, language });
      const { username, password, valid } = comboEntry(ctx, rng);
      yield client.send(at, site.login(rng, username, password, valid));
    }
  },

  *'ip-rotation'(ctx) {
    const { rng, site, accounts } = ctx;
    const profile = campaignProfile(ctx, ['pythonRequests', 'go', 'axios']);
    const pool = ipPool(rng, 'residential', rng.int(100, 500));
    const targets = Array.from({ length: rng.int(1, 3) }, () =>
      accounts.account(rng.int(0, accounts.size - 1)),
    );
    const pace = pacing(rng, rng.uniform(3, 20) * SECOND);
    // One cookie jar (one session) behind a rotating proxy: every request from another address.
    const client = botClient(ctx, profile, pool[0], { cookies: true });
    let t = ctx.start;
    yield client.send(t, site.home(rng));
    const attempts = rng.int(150, 600);
    const breakIn = rng.chance(0.4) ? rng.int(100, attempts - 1) : -1;
    for (let i = 0; i < attempts; i++) {
      t += pace(rng);
      client.ip = pool[(i + 1) % pool.length];
      const target = targets[i % targets.length];
      const success = i === breakIn;
      yield client.send(
        t,
        site.login(rng, target.username, success ? target.password : randomPassword(rng), success),
      );
      if (success) {
        for (const exchange of [
          site.account(rng, true),
          site.orders(rng, true),
          site.addresses(rng),
        ]) {
          t += pace(rng);
          client.ip = pool[rng.int(0, pool.length - 1)];
          yield client.send(t, exchange);
        }
        return;
      }
    }
  },

  *'session-rotation'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['pythonRequests', 'go', 'headlessChrome']),
      randomIp(rng, 'hosting'),
      {
        cookies: true,
      },
    );
    const pace = pacing(rng, rng.uniform(0.8, 4) * SECOND);
    const sessions = rng.int(150, 700);
    let t = ctx.start;
    for (let s = 0; s < sessions; s++) {
      // A fresh session (new cookie) every one to three attempts.
      client.state.cookie = undefined;
      yield client.send(t, site.home(rng));
      const tries = rng.int(1, 3);
      for (let i = 0; i < tries; i++) {
        t += pace(rng);
        const { username, password, valid } = comboEntry(ctx, rng);
        yield client.send(t, site.login(rng, username, password, valid));
      }
      t += pace(rng);
    }
  },

  *'persistent-ato'(ctx) {
    const { rng, site, accounts } = ctx;
    const profile = campaignProfile(ctx, ['pythonRequests', 'curl']);
    const ips = ipPool(rng, 'residential', rng.int(3, 5));
    const targets = Array.from({ length: rng.int(1, 3) }, () =>
      accounts.account(rng.int(0, accounts.size - 1)),
    );
    let t = ctx.start;
    for (let round = 0; ; round++) {
      const client = botClient(ctx, profile, ips[round % ips.length]);
      for (const target of targets) {
        const tries = rng.int(1, 3);
        for (let i = 0; i < tries; i++) {
          yield client.send(t, site.login(rng, target.username, randomPassword(rng), false));
          t += rng.uniform(5, 40) * SECOND;
        }
      }
      // Hours of silence, far beyond any session or rate window.
      t += rng.uniform(2, 9) * HOUR;
    }
  },

  // ---- unrestricted resource consumption ----

  *'expensive-endpoint'(ctx) {
    const { rng, site } = ctx;
    const {
      client,
      pace,
      t: start,
    } = yield* signedIn(ctx, ['pythonRequests', 'go', 'curl'], [0.5, 3]);
    let t = start;
    const count = rng.int(100, 600);
    const from = Date.UTC(2015, 0, 1);
    for (let i = 0; i < count; i++) {
      t += pace(rng);
      // Requests overlap; the server slows down as they pile up.
      const load = 1 + Math.min(7, i * 0.03);
      yield client.send(
        t,
        rng.chance(0.7)
          ? site.export(rng, from, t - (t % 86_400_000), rng.chance(0.5) ? 'xlsx' : 'csv', load)
          : site.search(rng, rng.pick(['*', '%', 'a', '**']), 1, { pageSize: 500 }),
      );
    }
  },

  *'huge-payload'(ctx) {
    const { rng, site } = ctx;
    const {
      client,
      pace,
      t: start,
    } = yield* signedIn(ctx, ['pythonRequests', 'go', 'curl'], [1, 6]);
    let t = start;
    const count = rng.int(50, 300);
    for (let i = 0; i < count; i++) {
      t += pace(rng);
      const bytes = Math.round(rng.uniform(2, 60) * 1024 * 1024);
      const kind = rng.int(0, 2);
      yield client.send(
        t,
        kind === 0
          ? site.uploadAvatar(rng, bytes)
          : kind === 1
            ? site.review(rng, site.randomProduct(rng), bytes)
            : site.addToCart(rng, site.randomProduct(rng), 1, bytes),
      );
    }
  },

  *'huge-download'(ctx) {
    const { rng, site } = ctx;
    const {
      client,
      pace,
      t: start,
    } = yield* signedIn(ctx, ['go', 'curl', 'pythonRequests'], [1, 5]);
    let t = start;
    const count = rng.int(80, 400);
    for (let i = 0; i < count; i++) {
      t += pace(rng);
      const kind = rng.int(0, 2);
      yield client.send(
        t,
        kind === 0
          ? site.catalogueDownload(rng)
          : kind === 1
            ? site.productList(rng, rng.int(1, 20), 1_000)
            : site.export(rng, Date.UTC(2018, 0, 1), t - (t % 86_400_000), 'csv'),
      );
    }
  },

  *flood(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['go', 'curl', 'java']),
      randomIp(rng, 'hosting'),
    );
    const rate = rng.uniform(20, 100);
    const pace = pacing(rng, SECOND / rate);
    const until = ctx.start + rng.uniform(1, 4) * MINUTE;
    const term = rng.pick(SEARCH_TERMS);
    const id = site.randomProduct(rng);
    const targets = [
      () => site.home(rng),
      () => site.search(rng, term),
      () => site.product(rng, id),
    ].slice(0, rng.int(1, 3));
    for (let t = ctx.start; t < until; t += pace(rng)) yield client.send(t, rng.pick(targets)());
  },

  // ---- suspicious API activity ----

  *'odd-sequence'(ctx) {
    const { rng, site, accounts } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['pythonRequests', 'axios', 'curl']),
      randomIp(rng, rng.chance(0.5) ? 'hosting' : 'residential'),
      {
        cookies: true,
      },
    );
    const own = accounts.account(rng.int(0, accounts.size - 1));
    const pace = pacing(rng, rng.uniform(0.3, 3) * SECOND);
    let t = ctx.start;
    const step = function* (exchange: Exchange) {
      yield client.send(t, exchange);
      t += pace(rng);
    };
    yield* step(site.openapi(rng));
    yield* step(site.login(rng, own.username, own.password, true));
    // Payment before checkout, checkout with nothing in the cart.
    yield* step(site.payment(rng, false));
    yield* step(site.checkout(rng, false));
    // Every documented endpoint, in the order of the specification, with every method.
    const endpoints = [
      '/api/account',
      '/api/account/addresses',
      '/api/account/avatar',
      '/api/account/orders',
      '/api/brands/acme',
      '/api/cart',
      '/api/cart/items',
      '/api/categories',
      '/api/checkout',
      '/api/checkout/coupon',
      '/api/export/orders',
      '/api/login',
      '/api/logout',
      '/api/notifications',
      '/api/password-reset',
      '/api/payment',
      '/api/products',
      '/api/recommendations',
      '/api/search',
      '/api/signup',
    ];
    for (const path of endpoints)
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
        yield* step(site.refused(rng, path, method === 'GET' ? 400 : 405, method));
    // Internal and admin routes that no page links to.
    for (const path of [
      '/api/internal/metrics',
      '/api/admin/users',
      '/api/admin/orders',
      '/api/internal/config',
      '/api/v0/users',
    ])
      yield* step(site.refused(rng, path, 403));
    // Walking other customers' orders and wish lists (IDOR probing).
    let order = rng.int(100_000, 900_000);
    const probes = rng.int(100, 600);
    for (let i = 0; i < probes; i++) {
      if (rng.chance(0.7))
        yield* step(site.order(rng, order++, rng.chance(0.6) ? 'other' : 'missing'));
      else yield* step(site.wishlist(rng, userName(rng).split('@')[0], rng.chance(0.3)));
    }
  },

  *'critical-endpoint-abuse'(ctx) {
    const { rng, site } = ctx;
    const client = botClient(
      ctx,
      campaignProfile(ctx, ['pythonRequests', 'go', 'headlessChrome']),
      randomIp(rng, rng.chance(0.5) ? 'hosting' : 'residential'),
      {
        cookies: true,
      },
    );
    const mode = rng.pick([
      'signup-spam',
      'reset-spam',
      'coupon-brute-force',
      'card-testing',
    ] as const);
    const pace = pacing(rng, rng.uniform(0.5, 5) * SECOND);
    const count = rng.int(200, 1_000);
    let t = ctx.start;
    yield client.send(t, site.home(rng));
    if (mode === 'coupon-brute-force' || mode === 'card-testing') {
      t += pace(rng);
      yield client.send(t, site.addToCart(rng, site.randomProduct(rng)));
    }
    for (let i = 0; i < count; i++) {
      t += pace(rng);
      switch (mode) {
        case 'signup-spam':
          yield client.send(
            t,
            site.signup(rng, userName(rng), randomPassword(rng), rng.chance(0.05)),
          );
          break;
        case 'reset-spam':
          yield client.send(t, site.passwordReset(rng, userName(rng)));
          break;
        case 'coupon-brute-force':
          yield client.send(t, site.coupon(rng, couponCode(rng), rng.chance(0.003)));
          break;
        case 'card-testing':
          yield client.send(t, site.payment(rng, rng.chance(0.06)));
          break;
      }
    }
  },
};

/** One line of a leaked combo list: mostly unknown users, some real ones, a few still valid. */
function comboEntry(
  ctx: ActorContext,
  rng: Rng,
): { username: string; password: string; valid: boolean } {
  const roll = rng.float();
  if (roll < 0.02) {
    const account = ctx.accounts.account(rng.int(0, ctx.accounts.size - 1));
    return { ...account, valid: true };
  }
  if (roll < 0.1) {
    const account = ctx.accounts.account(rng.int(0, ctx.accounts.size - 1));
    return { username: account.username, password: randomPassword(rng), valid: false };
  }
  return { username: userName(rng), password: randomPassword(rng), valid: false };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
