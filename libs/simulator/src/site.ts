/**
 * The simulated site: an e-commerce API with a catalogue (products, categories, search), cart,
 * checkout and payment, login/signup/password reset, account pages, static assets and an
 * expensive order export. Each method returns one exchange — what the client sent and what the
 * server answered (status, sizes as NGINX counts them, latency) — drawn from per-endpoint
 * distributions, so that traffic has realistic status codes, sizes and latencies.
 */
import type { RequestKind } from './clients';
import type { Rng } from './rng';
import { BRANDS, CATEGORIES, SORTS } from './vocabulary';

export interface Exchange {
  method: string;
  /** Path with its query string, as in the request line. */
  path: string;
  kind: RequestKind;
  status: number;
  /** Request line, headers and body ($request_length). */
  requestBytes: number;
  /** Response headers and body ($bytes_sent). */
  responseBytes: number;
  latencyMs: number;
  /** Request body (login forms carry the user name the mirror agent hashes). */
  body?: string;
  contentType?: string;
}

export interface SiteOptions {
  /** Product ids run from 1 to productCount; a few are gone (404). */
  productCount?: number;
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes?: number;
}

const HEADER_OVERHEAD = 420;
const RESPONSE_HEADERS = 310;
const DAY = 86_400_000;
/** Products listed per category: 40 pages of 24. */
const CATEGORY_ITEMS = 960;

const round = (ms: number) => Math.round(ms * 10) / 10;
const q = encodeURIComponent;

export class Site {
  readonly productCount: number;
  readonly maxBodyBytes: number;
  private readonly assetHash: string;

  constructor(
    rng: Rng,
    readonly host: string,
    options: SiteOptions = {},
  ) {
    this.productCount = options.productCount ?? 20_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
    this.assetHash = rng.hex(8);
  }

  /** About 4 % of product ids were deleted; deterministic per id. */
  productExists(id: number): boolean {
    return id >= 1 && id <= this.productCount && ((id * 2654435761) >>> 0) % 100 >= 4;
  }

  randomProduct(rng: Rng): number {
    // Popularity is skewed: a few products get most views.
    const id = Math.floor(this.productCount * Math.pow(rng.float(), 2.2)) + 1;
    return Math.min(id, this.productCount);
  }

  private exchange(
    rng: Rng,
    method: string,
    path: string,
    kind: RequestKind,
    status: number,
    responseBody: number,
    latencyMedianMs: number,
    extra: { body?: string; contentType?: string; bodyBytes?: number; latencySigma?: number } = {},
  ): Exchange {
    // A small share of any request meets an upstream failure.
    let finalStatus = status;
    let latency = rng.logNormal(latencyMedianMs, extra.latencySigma ?? 0.45);
    if (rng.chance(0.0008)) {
      finalStatus = rng.pick([500, 502, 503, 504]);
      if (finalStatus === 504) latency = 30_000 + rng.uniform(0, 500);
      responseBody = 180;
    }
    const bodyBytes = extra.bodyBytes ?? (extra.body ? Buffer.byteLength(extra.body) : 0);
    return {
      method,
      path,
      kind,
      status: finalStatus,
      requestBytes: HEADER_OVERHEAD + path.length + rng.int(0, 350) + bodyBytes,
      responseBytes: RESPONSE_HEADERS + Math.max(0, Math.round(responseBody)),
      latencyMs: round(latency),
      ...(extra.body !== undefined ? { body: extra.body } : {}),
      ...(extra.contentType ? { contentType: extra.contentType } : {}),
    };
  }

  // ---- pages and assets ----

  home(rng: Rng): Exchange {
    return this.exchange(rng, 'GET', '/', 'document', 200, rng.logNormal(48_000, 0.1), 35);
  }

  /** The assets a page load pulls (script, style, images), cached after the first visit. */
  assets(rng: Rng, cached: boolean, productIds: number[] = []): Exchange[] {
    const files = [
      [`/static/js/app.${this.assetHash}.js`, 410_000],
      [`/static/css/app.${this.assetHash}.css`, 62_000],
      ['/static/img/logo.svg', 5_200],
      ['/favicon.ico', 15_000],
    ] as const;
    const out = files.map(([path, size]) =>
      cached
        ? this.exchange(rng, 'GET', path, 'asset', 304, 0, 3)
        : this.exchange(rng, 'GET', path, 'asset', 200, size, 12),
    );
    for (const id of productIds)
      out.push(
        this.exchange(
          rng,
          'GET',
          `/static/img/p/${id}.webp`,
          'asset',
          200,
          rng.logNormal(38_000, 0.5),
          9,
        ),
      );
    return out;
  }

  robots(rng: Rng): Exchange {
    return this.exchange(rng, 'GET', '/robots.txt', 'asset', 200, 420, 2);
  }

  openapi(rng: Rng): Exchange {
    return this.exchange(rng, 'GET', '/api/openapi.json', 'fetch', 200, 96_000, 15);
  }

  // ---- catalogue ----

  categories(rng: Rng): Exchange {
    return this.exchange(rng, 'GET', '/api/categories', 'fetch', 200, 3_100, 12);
  }

  category(rng: Rng, slug: string, page = 1, sort?: string, pageSize?: number): Exchange {
    const size = pageSize ?? 24;
    let path = `/api/categories/${slug}/products?page=${page}`;
    if (sort) path += `&sort=${sort}`;
    if (pageSize) path += `&page_size=${pageSize}`;
    const known = CATEGORIES.includes(slug);
    // Every category has 40 pages of 24; past the end the listing is empty.
    const items = !known || (page - 1) * size >= CATEGORY_ITEMS ? 0 : size;
    const status = known ? 200 : 404;
    return this.exchange(rng, 'GET', path, 'fetch', status, 200 + items * 820, 40 + items * 0.9);
  }

  /** The products a category page lists (links a client can follow): no deleted ones. */
  categoryProducts(slug: string, page: number, pageSize = 24): number[] {
    const index = CATEGORIES.indexOf(slug);
    if (index < 0 || page < 1 || (page - 1) * pageSize >= CATEGORY_ITEMS) return [];
    const first = index * CATEGORY_ITEMS + (page - 1) * pageSize;
    return Array.from({ length: pageSize }, (_, i) => ((first + i) % this.productCount) + 1).filter(
      (id) => this.productExists(id),
    );
  }

  product(rng: Rng, id: number): Exchange {
    return this.productExists(id)
      ? this.exchange(
          rng,
          'GET',
          `/api/products/${id}`,
          'fetch',
          200,
          rng.logNormal(4_600, 0.35),
          22,
        )
      : this.exchange(rng, 'GET', `/api/products/${id}`, 'fetch', 404, 95, 6);
  }

  /** A large listing: the API caps page_size at 1000, which scrapers use. */
  productList(rng: Rng, page: number, pageSize = 24): Exchange {
    const size = Math.min(pageSize, 1_000);
    const path = `/api/products?page=${page}${pageSize !== 24 ? `&page_size=${pageSize}` : ''}`;
    const items = Math.max(0, Math.min(size, this.productCount - (page - 1) * size));
    return this.exchange(rng, 'GET', path, 'fetch', 200, 200 + items * 1_900, 35 + items * 1.4);
  }

  reviews(rng: Rng, id: number, page = 1): Exchange {
    return this.exchange(
      rng,
      'GET',
      `/api/products/${id}/reviews?page=${page}`,
      'fetch',
      this.productExists(id) ? 200 : 404,
      rng.logNormal(6_000, 0.6),
      30,
    );
  }

  recommendations(rng: Rng, id: number): Exchange {
    return this.exchange(rng, 'GET', `/api/recommendations?product=${id}`, 'fetch', 200, 7_400, 55);
  }

  brand(rng: Rng, slug: string): Exchange {
    const status = BRANDS.includes(slug) ? 200 : 404;
    return this.exchange(rng, 'GET', `/api/brands/${slug}`, 'fetch', status, 5_000, 25);
  }

  /** Search: cost grows with the page size and with wildcard queries. */
  search(
    rng: Rng,
    term: string,
    page = 1,
    extra: { sort?: string; pageSize?: number } = {},
  ): Exchange {
    let path = `/api/search?q=${q(term)}&page=${page}`;
    if (extra.sort) path += `&sort=${extra.sort}`;
    if (extra.pageSize) path += `&page_size=${extra.pageSize}`;
    const size = Math.min(extra.pageSize ?? 24, 500);
    const wildcard = /[*%]/.test(term) || term.length <= 1;
    const latency = (wildcard ? 900 : 85) * (1 + size / 60);
    return this.exchange(rng, 'GET', path, 'fetch', 200, 300 + size * 900, latency, {
      latencySigma: 0.6,
    });
  }

  randomSort(rng: Rng): string | undefined {
    return rng.chance(0.25) ? rng.pick(SORTS) : undefined;
  }

  // ---- cart, checkout, payment ----

  cart(rng: Rng, items: number): Exchange {
    return this.exchange(rng, 'GET', '/api/cart', 'fetch', 200, 400 + items * 650, 18);
  }

  addToCart(rng: Rng, id: number, quantity = 1, bodyBytes?: number): Exchange {
    const body = JSON.stringify({ productId: id, quantity });
    const size = bodyBytes ?? body.length;
    const status = size > this.maxBodyBytes ? 413 : this.productExists(id) ? 201 : 404;
    return this.exchange(rng, 'POST', '/api/cart/items', 'fetch', status, 900, 28, {
      body: size === body.length ? body : undefined,
      bodyBytes: size,
      contentType: 'application/json',
    });
  }

  removeFromCart(rng: Rng, id: number): Exchange {
    return this.exchange(rng, 'DELETE', `/api/cart/items/${id}`, 'fetch', 204, 0, 20);
  }

  checkout(rng: Rng, ok: boolean): Exchange {
    return this.exchange(rng, 'POST', '/api/checkout', 'fetch', ok ? 200 : 409, 2_100, 140, {
      bodyBytes: rng.int(300, 700),
      contentType: 'application/json',
    });
  }

  coupon(rng: Rng, code: string, valid: boolean): Exchange {
    const body = JSON.stringify({ code });
    return this.exchange(rng, 'POST', '/api/checkout/coupon', 'fetch', valid ? 200 : 404, 160, 35, {
      body,
      contentType: 'application/json',
    });
  }

  /** Card payment through the provider: slow; declined cards get 402. */
  payment(rng: Rng, approved: boolean): Exchange {
    return this.exchange(rng, 'POST', '/api/payment', 'fetch', approved ? 200 : 402, 650, 900, {
      bodyBytes: rng.int(350, 520),
      contentType: 'application/json',
      latencySigma: 0.35,
    });
  }

  // ---- accounts ----

  /** POST /api/login (JSON, from the app or the SPA) or /login (an HTML form post). */
  login(rng: Rng, username: string, secret: string, success: boolean, form = false): Exchange {
    const body = form
      ? `username=${q(username)}&password=${q(secret)}`
      : JSON.stringify({ username, password: secret });
    // Password hashing makes logins deliberately slow (bcrypt-like cost).
    return this.exchange(
      rng,
      'POST',
      form ? '/login' : '/api/login',
      form ? 'form' : 'fetch',
      success ? (form ? 302 : 200) : 401,
      success ? 480 : 120,
      180,
      {
        body,
        contentType: form ? 'application/x-www-form-urlencoded' : 'application/json',
        latencySigma: 0.2,
      },
    );
  }

  logout(rng: Rng): Exchange {
    return this.exchange(rng, 'POST', '/api/logout', 'fetch', 204, 0, 10);
  }

  signup(rng: Rng, username: string, secret: string, taken: boolean): Exchange {
    const body = JSON.stringify({
      username,
      password: secret,
      email: username.includes('@') ? username : undefined,
    });
    return this.exchange(
      rng,
      'POST',
      '/api/signup',
      'fetch',
      taken ? 409 : 201,
      taken ? 140 : 520,
      240,
      {
        body,
        contentType: 'application/json',
      },
    );
  }

  passwordReset(rng: Rng, username: string): Exchange {
    // Always 202: the site does not reveal whether the account exists.
    return this.exchange(rng, 'POST', '/api/password-reset', 'fetch', 202, 90, 120, {
      body: JSON.stringify({ username }),
      contentType: 'application/json',
    });
  }

  account(rng: Rng, authenticated: boolean): Exchange {
    return this.exchange(
      rng,
      'GET',
      '/api/account',
      'fetch',
      authenticated ? 200 : 401,
      authenticated ? 1_900 : 110,
      25,
    );
  }

  orders(rng: Rng, authenticated: boolean): Exchange {
    return this.exchange(
      rng,
      'GET',
      '/api/account/orders',
      'fetch',
      authenticated ? 200 : 401,
      authenticated ? rng.logNormal(9_000, 0.6) : 110,
      60,
    );
  }

  /** One order: 200 for one's own, 403 for someone else's, 404 for an id that does not exist. */
  order(rng: Rng, id: number, outcome: 'own' | 'other' | 'missing'): Exchange {
    const status = outcome === 'own' ? 200 : outcome === 'other' ? 403 : 404;
    return this.exchange(
      rng,
      'GET',
      `/api/account/orders/${id}`,
      'fetch',
      status,
      status === 200 ? 3_400 : 100,
      30,
    );
  }

  addresses(rng: Rng): Exchange {
    return this.exchange(rng, 'GET', '/api/account/addresses', 'fetch', 200, 1_200, 20);
  }

  /** A public wish list by user name: a high-cardinality path segment that is not an id. */
  wishlist(rng: Rng, handle: string, exists = true): Exchange {
    return this.exchange(
      rng,
      'GET',
      `/api/users/${q(handle)}/wishlist`,
      'fetch',
      exists ? 200 : 404,
      exists ? rng.logNormal(3_000, 0.7) : 100,
      30,
    );
  }

  notifications(rng: Rng): Exchange {
    return this.exchange(
      rng,
      'GET',
      '/api/notifications',
      'fetch',
      200,
      rng.logNormal(260, 0.5),
      9,
    );
  }

  /** Avatar upload: the only endpoint that takes large bodies by design (up to the limit). */
  uploadAvatar(rng: Rng, bytes: number): Exchange {
    const status = bytes > this.maxBodyBytes ? 413 : 201;
    return this.exchange(
      rng,
      'POST',
      '/api/account/avatar',
      'fetch',
      status,
      240,
      60 + bytes / 50_000,
      {
        bodyBytes: bytes,
        contentType: 'image/jpeg',
      },
    );
  }

  review(rng: Rng, id: number, bytes: number): Exchange {
    const status = bytes > this.maxBodyBytes ? 413 : 201;
    return this.exchange(
      rng,
      'POST',
      `/api/products/${id}/reviews`,
      'fetch',
      status,
      300,
      80 + bytes / 80_000,
      {
        bodyBytes: bytes,
        contentType: 'application/json',
      },
    );
  }

  /**
   * Order export (CSV/XLSX), the expensive endpoint: time and size grow with the date range.
   * `load` (≥ 1) scales latency when a client keeps many exports running.
   */
  export(rng: Rng, from: number, to: number, format: 'csv' | 'xlsx' = 'csv', load = 1): Exchange {
    const days = Math.max(1, Math.round((to - from) / DAY));
    const path = `/api/export/orders?format=${format}&from=${isoDate(from)}&to=${isoDate(to)}`;
    const bytes = days * (format === 'xlsx' ? 1_400 : 2_300);
    return this.exchange(rng, 'GET', path, 'fetch', 200, bytes, (250 + days * 9) * load, {
      latencySigma: 0.3,
    });
  }

  /** The catalogue as a PDF: the largest static download. */
  catalogueDownload(rng: Rng): Exchange {
    return this.exchange(
      rng,
      'GET',
      '/static/media/catalogue.pdf',
      'asset',
      200,
      48_000_000 + rng.int(0, 1000),
      2_500,
      { latencySigma: 0.3 },
    );
  }

  // ---- what is not there ----

  notFound(rng: Rng, path: string, method = 'GET'): Exchange {
    return this.exchange(rng, method, path, 'document', 404, 153, 3);
  }

  /** Blocked by the site itself (admin areas, internal endpoints, bad input). */
  refused(rng: Rng, path: string, status: 400 | 401 | 403 | 405, method = 'GET'): Exchange {
    return this.exchange(rng, method, path, 'fetch', status, 150, 4);
  }
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
