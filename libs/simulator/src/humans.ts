/**
 * People. Each person comes back over the simulated period (visits separated by hours), and a
 * visit is a run of page views with log-normal think times between them (median ≈ 8 s, heavy
 * tail), each page view pulling one to a few API calls a few hundred milliseconds apart. They
 * browse categories, search, open products, fill a cart, sometimes log in (and sometimes
 * mistype the password first), check out and pay, visit their account, and now and then export
 * their orders. Personas: desktop and mobile web shoppers, the shop's mobile app (bearer token,
 * switching between Wi-Fi and cellular mid-session), account managers, and long-lived tabs that
 * poll notifications for hours while the laptop changes networks.
 */
import { randomIp, sameSubnet } from './addresses';
import type { ActorContext } from './actor';
import { Client } from './actor';
import { appProfile, LANGUAGES, randomBrowser } from './clients';
import { clamp, type Rng } from './rng';
import type { Exchange } from './site';
import type { SimulatedRequest } from './simulation.types';
import { CATEGORIES, SEARCH_TERMS, typo, userName, password as newPassword } from './vocabulary';

export const PERSONAS = [
  'desktop-shopper',
  'mobile-shopper',
  'app-user',
  'account-manager',
  'long-lived-tab',
] as const;
export type Persona = (typeof PERSONAS)[number];

const PERSONA_WEIGHTS: readonly (readonly [Persona, number])[] = [
  ['desktop-shopper', 42],
  ['mobile-shopper', 25],
  ['app-user', 18],
  ['account-manager', 10],
  ['long-lived-tab', 5],
];

export function pickPersona(rng: Rng): Persona {
  return rng.weighted(PERSONA_WEIGHTS);
}

/** Human timing, exported so tests and docs state the model the traffic was drawn from. */
export const HUMAN_TIMING = {
  /** Think time between page views: log-normal median and sigma, clamped. */
  thinkMedianMs: 8_000,
  thinkSigma: 1.0,
  thinkMinMs: 600,
  thinkMaxMs: 20 * 60_000,
  /** Page views per visit: log-normal median and sigma, clamped. */
  pagesMedian: 8,
  pagesSigma: 0.8,
  /** Mean gap between visits of one person. */
  revisitMeanMs: 10 * 3_600_000,
  /** Share of login attempts that start with a mistyped password. */
  typoRate: 0.08,
};

type Page =
  | 'home'
  | 'category'
  | 'search'
  | 'product'
  | 'cart'
  | 'checkout'
  | 'account'
  | 'orders'
  | 'wishlist';

const NEXT: Record<Page, readonly (readonly [Page, number])[]> = {
  home: [
    ['category', 40],
    ['search', 30],
    ['product', 20],
    ['account', 5],
    ['cart', 5],
  ],
  category: [
    ['product', 55],
    ['category', 20],
    ['search', 12],
    ['home', 8],
    ['cart', 5],
  ],
  search: [
    ['product', 55],
    ['search', 25],
    ['category', 10],
    ['home', 5],
    ['cart', 5],
  ],
  product: [
    ['product', 30],
    ['category', 20],
    ['search', 18],
    ['cart', 14],
    ['home', 6],
    ['wishlist', 4],
    ['account', 3],
  ],
  cart: [
    ['checkout', 45],
    ['product', 25],
    ['category', 15],
    ['home', 15],
  ],
  checkout: [
    ['home', 40],
    ['account', 30],
    ['product', 30],
  ],
  account: [
    ['orders', 50],
    ['home', 25],
    ['product', 15],
    ['wishlist', 10],
  ],
  orders: [
    ['account', 30],
    ['product', 30],
    ['home', 40],
  ],
  wishlist: [
    ['product', 60],
    ['home', 40],
  ],
};

interface Person {
  persona: Persona;
  username: string;
  password: string;
  registered: boolean;
  loggedIn: boolean;
  cart: number[];
  orders: number[];
  /** The handle of a friend whose wish list they look at. */
  friend: string;
}

/** One person's traffic over the whole period. */
export function* humanScript(ctx: ActorContext): Generator<SimulatedRequest> {
  const { rng, accounts } = ctx;
  const persona = ctx.label.kind === 'human' ? (ctx.label.persona as Persona) : 'desktop-shopper';
  const index = rng.int(0, Math.max(0, accounts.size - 1));
  const own = accounts.account(index);
  const person: Person = {
    persona,
    username: own.username,
    password: own.password,
    registered: rng.chance(0.8),
    loggedIn: false,
    cart: [],
    orders: Array.from({ length: rng.int(0, 12) }, () => rng.int(100_000, 999_999)),
    friend: accounts.account(rng.int(0, Math.max(0, accounts.size - 1))).username.split('@')[0],
  };
  if (!person.registered) {
    const fresh = userName(rng);
    person.username = fresh;
    person.password = newPassword(rng);
  }
  const mobile = persona === 'mobile-shopper' || persona === 'app-user';
  const network = mobile ? 'mobile' : 'residential';
  const client = new Client(ctx, {
    ip: randomIp(rng, network),
    profile:
      persona === 'app-user'
        ? appProfile(rng)
        : randomBrowser(ctx.versions, rng, { mobile, outdated: rng.chance(0.02) }),
    acceptLanguage: rng.weighted(LANGUAGES),
    acceptsCookies: persona !== 'app-user',
    // Returning visitors already hold a session cookie; app users a long-lived token.
    cookie: persona !== 'app-user' && rng.chance(0.6) ? rng.token(32) : undefined,
    token: persona === 'app-user' && rng.chance(0.9) ? rng.token(40) : undefined,
  });
  if (client.state.token) person.loggedIn = true;
  let t = ctx.start;
  for (;;) {
    t =
      persona === 'long-lived-tab'
        ? yield* longLivedVisit(ctx, client, person, t)
        : yield* visit(ctx, client, person, t);
    // Next visit: hours later, maybe from another network.
    t += Math.max(35 * 60_000, rng.exponential(HUMAN_TIMING.revisitMeanMs));
    if (t >= ctx.end) return;
    if (mobile || rng.chance(0.15))
      client.ip = mobile ? randomIp(rng, network) : sameSubnet(rng, client.ip);
    if (!mobile && rng.chance(0.1)) client.state.cookie = undefined; // cleared cookies
    if (persona !== 'app-user') person.loggedIn = false;
  }
}

export function thinkTime(rng: Rng): number {
  return clamp(
    rng.logNormal(HUMAN_TIMING.thinkMedianMs, HUMAN_TIMING.thinkSigma),
    HUMAN_TIMING.thinkMinMs,
    HUMAN_TIMING.thinkMaxMs,
  );
}

/** A page view: its requests a few hundred milliseconds apart. Returns the time after the last. */
function* view(
  client: Client,
  rng: Rng,
  t: number,
  exchanges: Exchange[],
  page?: string,
): Generator<SimulatedRequest, number> {
  for (const exchange of exchanges) {
    yield client.send(t, exchange);
    t += exchange.latencyMs + rng.logNormal(60, 0.8);
  }
  if (page) client.referer = page;
  return t;
}

function* visit(
  ctx: ActorContext,
  client: Client,
  person: Person,
  start: number,
): Generator<SimulatedRequest, number> {
  const { rng, site } = ctx;
  const app = person.persona === 'app-user';
  const pages = clamp(
    Math.round(rng.logNormal(HUMAN_TIMING.pagesMedian, HUMAN_TIMING.pagesSigma)),
    1,
    150,
  );
  let t = start;
  client.referer = undefined;
  // Landing: the web app loads the shell and its assets; the app opens on its home feed.
  let page: Page =
    person.persona === 'account-manager' ? 'account' : rng.chance(0.65) ? 'home' : 'product';
  if (!app) {
    const cached = client.state.cookie !== undefined && rng.chance(0.8);
    t = yield* view(client, rng, t, [site.home(rng), ...site.assets(rng, cached)], '/');
  }
  let product = site.randomProduct(rng);
  let category = rng.pick(CATEGORIES);
  let term = rng.pick(SEARCH_TERMS);
  let searchPage = 1;
  for (let i = 0; i < pages; i++) {
    if (i > 0 || app) t += thinkTime(rng);
    if (t >= ctx.end) return t;
    // A page switch on the phone may move it between Wi-Fi and cellular.
    if (person.persona === 'mobile-shopper' || app) {
      if (rng.chance(0.03)) client.ip = randomIp(rng, 'mobile');
    }
    switch (page) {
      case 'home':
        t = yield* view(
          client,
          rng,
          t,
          [site.categories(rng), site.recommendations(rng, product)],
          '/',
        );
        break;
      case 'category': {
        if (rng.chance(0.4)) category = rng.pick(CATEGORIES);
        const pageNo = rng.chance(0.7) ? 1 : rng.int(2, 6);
        t = yield* view(
          client,
          rng,
          t,
          [site.category(rng, category, pageNo, site.randomSort(rng))],
          `/c/${category}`,
        );
        break;
      }
      case 'search': {
        if (rng.chance(0.6) || searchPage > 3) {
          term = rng.pick(SEARCH_TERMS);
          searchPage = 1;
        } else searchPage += 1;
        t = yield* view(
          client,
          rng,
          t,
          [site.search(rng, term, searchPage, { sort: site.randomSort(rng) })],
          `/search?q=${encodeURIComponent(term)}`,
        );
        break;
      }
      case 'product': {
        product = rng.chance(0.3) ? Math.max(1, product + rng.int(-3, 3)) : site.randomProduct(rng);
        const calls = [site.product(rng, product)];
        if (rng.chance(0.5)) calls.push(site.reviews(rng, product));
        if (rng.chance(0.4)) calls.push(site.recommendations(rng, product));
        if (!app && rng.chance(0.6)) calls.push(...site.assets(rng, false, [product]).slice(-1));
        t = yield* view(client, rng, t, calls, `/p/${product}`);
        if (rng.chance(0.25) && site.productExists(product)) {
          t += rng.logNormal(2_500, 0.6);
          person.cart.push(product);
          t = yield* view(client, rng, t, [
            site.addToCart(rng, product, rng.chance(0.9) ? 1 : rng.int(2, 4)),
          ]);
        }
        break;
      }
      case 'cart':
        t = yield* view(client, rng, t, [site.cart(rng, person.cart.length)], '/cart');
        if (person.cart.length > 1 && rng.chance(0.15)) {
          t += rng.logNormal(3_000, 0.5);
          t = yield* view(client, rng, t, [site.removeFromCart(rng, person.cart.pop()!)]);
        }
        break;
      case 'checkout': {
        if (person.cart.length === 0) break;
        if (!person.loggedIn) {
          t = yield* authenticate(ctx, client, person, t);
          if (!person.loggedIn) return t;
          t += thinkTime(rng);
        }
        t = yield* view(client, rng, t, [site.checkout(rng, rng.chance(0.97))], '/checkout');
        t += rng.logNormal(25_000, 0.5); // typing card details
        let approved = rng.chance(0.95);
        t = yield* view(client, rng, t, [site.payment(rng, approved)], '/checkout/pay');
        if (!approved && rng.chance(0.7)) {
          t += rng.logNormal(30_000, 0.4);
          approved = true;
          t = yield* view(client, rng, t, [site.payment(rng, approved)]);
        }
        if (approved) {
          person.orders.push(rng.int(100_000, 999_999));
          person.cart = [];
        }
        break;
      }
      case 'account':
      case 'orders': {
        if (!person.loggedIn) {
          t = yield* authenticate(ctx, client, person, t);
          if (!person.loggedIn) return t;
          t += thinkTime(rng);
        }
        const calls =
          page === 'account'
            ? [site.account(rng, true), ...(rng.chance(0.3) ? [site.addresses(rng)] : [])]
            : [site.orders(rng, true)];
        t = yield* view(client, rng, t, calls, page === 'account' ? '/account' : '/account/orders');
        if (page === 'orders' && person.orders.length > 0 && rng.chance(0.5)) {
          t += thinkTime(rng);
          t = yield* view(client, rng, t, [site.order(rng, rng.pick(person.orders), 'own')]);
        }
        // Accountants and the tidy export their orders now and then (the expensive endpoint).
        if (page === 'orders' && rng.chance(person.persona === 'account-manager' ? 0.2 : 0.02)) {
          t += thinkTime(rng);
          const to = t - (t % 86_400_000);
          const days = rng.weighted([
            [30, 50],
            [90, 30],
            [365, 20],
          ] as const);
          t = yield* view(client, rng, t, [
            site.export(rng, to - days * 86_400_000, to, rng.chance(0.7) ? 'csv' : 'xlsx'),
          ]);
        }
        break;
      }
      case 'wishlist':
        t = yield* view(client, rng, t, [site.wishlist(rng, person.friend)], `/u/${person.friend}`);
        break;
    }
    page = rng.weighted(NEXT[page]);
    if (person.persona === 'account-manager' && rng.chance(0.3))
      page = rng.pick(['account', 'orders'] as const);
  }
  // Some log out at the end.
  if (person.loggedIn && !app && rng.chance(0.15)) {
    t += thinkTime(rng);
    t = yield* view(client, rng, t, [site.logout(rng)]);
    person.loggedIn = false;
  }
  return t;
}

/** Login (with the occasional typo first), sign-up for those without an account, or a reset. */
function* authenticate(
  ctx: ActorContext,
  client: Client,
  person: Person,
  t: number,
): Generator<SimulatedRequest, number> {
  const { rng, site } = ctx;
  const form =
    client.state.profile.family !== 'app-ios' &&
    client.state.profile.family !== 'app-android' &&
    rng.chance(0.3);
  if (!person.registered) {
    if (!rng.chance(0.5)) return t; // leaves rather than signing up
    t += rng.logNormal(35_000, 0.4); // filling the form
    t = yield* view(client, rng, t, [site.signup(rng, person.username, person.password, false)]);
    person.registered = true;
    person.loggedIn = true;
    return t;
  }
  t += rng.logNormal(6_000, 0.5); // typing (or the password manager)
  if (rng.chance(HUMAN_TIMING.typoRate)) {
    t = yield* view(client, rng, t, [
      site.login(rng, person.username, typo(rng, person.password), false, form),
    ]);
    t += rng.logNormal(7_000, 0.5);
    if (rng.chance(0.12)) {
      // Gives up and asks for a reset.
      t = yield* view(client, rng, t, [site.passwordReset(rng, person.username)]);
      return t;
    }
  }
  t = yield* view(client, rng, t, [site.login(rng, person.username, person.password, true, form)]);
  person.loggedIn = true;
  if (client.state.profile.engine === 'none') client.state.token = rng.token(40);
  return t;
}

/**
 * A tab left open for hours: the page polls notifications every minute (browsers throttle
 * background timers, so the period wobbles), with bursts of browsing; the laptop changes
 * networks now and then. The session cookie keeps it one session across those addresses.
 */
function* longLivedVisit(
  ctx: ActorContext,
  client: Client,
  person: Person,
  start: number,
): Generator<SimulatedRequest, number> {
  const { rng, site } = ctx;
  let t = yield* visit(ctx, client, { ...person, persona: 'desktop-shopper' }, start);
  const until = t + rng.uniform(1, 8) * 3_600_000;
  const period = rng.pick([30_000, 60_000, 60_000, 120_000]);
  while (t < until && t < ctx.end) {
    t += period + rng.uniform(-1_500, 4_000);
    if (rng.chance(0.002)) client.ip = randomIp(rng, 'residential');
    t = yield* view(client, rng, t, [site.notifications(rng)]);
    if (rng.chance(0.01)) {
      const product = site.randomProduct(rng);
      t += thinkTime(rng);
      t = yield* view(
        client,
        rng,
        t,
        [site.product(rng, product), site.reviews(rng, product)],
        `/p/${product}`,
      );
    }
  }
  return t;
}
