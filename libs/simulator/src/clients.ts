/**
 * Client software as the edge sees it: User-Agent strings and the headers each client sends, in
 * its own order. Browser versions are the ones released at the simulation's start according to
 * the installed browserslist/caniuse data, so "current browser" stays current as that data is
 * updated and a replay of an old period shows the browsers of that period.
 */
import browserslist from 'browserslist';
import type { Rng } from './rng';

export type BrowserFamily =
  | 'chrome-windows'
  | 'chrome-mac'
  | 'edge-windows'
  | 'firefox-windows'
  | 'firefox-mac'
  | 'safari-mac'
  | 'chrome-android'
  | 'safari-ios';

/** What a request is for; browsers send different headers for each. */
export type RequestKind = 'document' | 'fetch' | 'asset' | 'form';

export interface ClientProfile {
  /** A browser family, a mobile app, or a tool (curl, python-requests, a scanner…). */
  family: BrowserFamily | 'app-ios' | 'app-android' | 'tool';
  userAgent: string;
  /** Browser engine generation, for header choice: chromium, gecko, webkit, or none. */
  engine: 'chromium' | 'gecko' | 'webkit' | 'none';
  mobile: boolean;
  /** Header names a tool sends, in order (browsers derive theirs from the request kind). */
  toolHeaders?: string[];
  /** The major version used, for browsers. */
  version?: string;
}

/** Market shares of the simulated audience (desktop and mobile web), roughly StatCounter-like. */
const DESKTOP_FAMILIES: readonly (readonly [BrowserFamily, number])[] = [
  ['chrome-windows', 45],
  ['chrome-mac', 14],
  ['edge-windows', 13],
  ['firefox-windows', 6],
  ['firefox-mac', 2],
  ['safari-mac', 10],
];
const MOBILE_FAMILIES: readonly (readonly [BrowserFamily, number])[] = [
  ['chrome-android', 55],
  ['safari-ios', 45],
];

const YEAR = 365.25 * 86_400_000;

function agentData(browser: string) {
  const data = browserslist.data[browser];
  if (!data) throw new Error(`browserslist has no data for ${browser}`);
  return data;
}

/** Released versions of a browserslist browser as of `at` (epoch ms), newest first. */
function releasedVersions(browser: string, at: number): string[] {
  const data = agentData(browser);
  const seconds = at / 1000;
  const released = data.released.filter((v) => {
    const date = data.releaseDate[v];
    return typeof date === 'number' && date <= seconds;
  });
  // Before the data's first dated release: its oldest versions.
  return (released.length > 0 ? released : data.released.slice(0, 3)).reverse();
}

/** Browser versions in use at a time: mostly the newest, some a release or two behind. */
export class BrowserVersions {
  private readonly cache = new Map<string, string[]>();

  constructor(private readonly at: number) {}

  current(browser: string, rng: Rng): string {
    const versions = this.versions(browser);
    const lag = rng.weighted([
      [0, 62],
      [1, 28],
      [2, 10],
    ]);
    return versions[Math.min(lag, versions.length - 1)];
  }

  /** A version well behind the current one (a neglected machine): 8–20 releases old. */
  outdated(browser: string, rng: Rng): string {
    const versions = this.versions(browser);
    return versions[Math.min(rng.int(8, 20), versions.length - 1)];
  }

  /**
   * A version released between `minYears` and `maxYears` before the start (release dates from
   * caniuse-lite): the browser of a User-Agent copied from an old tutorial or an old headless
   * build. The oldest dated release if the data reaches no further back.
   */
  aged(browser: string, rng: Rng, minYears: number, maxYears: number): string {
    const data = agentData(browser);
    const from = (this.at - maxYears * YEAR) / 1000;
    const to = (this.at - minYears * YEAR) / 1000;
    const dated = data.released.filter((v) => typeof data.releaseDate[v] === 'number');
    const inRange = dated.filter((v) => data.releaseDate[v]! >= from && data.releaseDate[v]! <= to);
    return inRange.length > 0 ? rng.pick(inRange) : dated[0];
  }

  private versions(browser: string): string[] {
    let versions = this.cache.get(browser);
    if (!versions) {
      versions = releasedVersions(browser, this.at);
      this.cache.set(browser, versions);
    }
    return versions;
  }
}

const major = (version: string) => version.split('.')[0];

export function browserProfile(
  family: BrowserFamily,
  versions: BrowserVersions,
  rng: Rng,
  outdated = false,
): ClientProfile {
  const pick = (browser: string) =>
    outdated ? versions.outdated(browser, rng) : versions.current(browser, rng);
  switch (family) {
    case 'chrome-windows':
    case 'chrome-mac':
    case 'edge-windows': {
      const chrome = major(pick('chrome'));
      const os =
        family === 'chrome-mac'
          ? 'Macintosh; Intel Mac OS X 10_15_7'
          : 'Windows NT 10.0; Win64; x64';
      const edge = family === 'edge-windows' ? ` Edg/${chrome}.0.0.0` : '';
      return {
        family,
        engine: 'chromium',
        mobile: false,
        version: chrome,
        userAgent: `Mozilla/5.0 (${os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome}.0.0.0 Safari/537.36${edge}`,
      };
    }
    case 'firefox-windows':
    case 'firefox-mac': {
      const firefox = major(pick('firefox'));
      const os =
        family === 'firefox-mac'
          ? 'Macintosh; Intel Mac OS X 10.15'
          : 'Windows NT 10.0; Win64; x64';
      return {
        family,
        engine: 'gecko',
        mobile: false,
        version: firefox,
        userAgent: `Mozilla/5.0 (${os}; rv:${firefox}.0) Gecko/20100101 Firefox/${firefox}.0`,
      };
    }
    case 'safari-mac': {
      const safari = pick('safari');
      return {
        family,
        engine: 'webkit',
        mobile: false,
        version: safari,
        userAgent: `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${safari} Safari/605.1.15`,
      };
    }
    case 'chrome-android': {
      const chrome = major(pick('chrome'));
      return {
        family,
        engine: 'chromium',
        mobile: true,
        version: chrome,
        userAgent: `Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome}.0.0.0 Mobile Safari/537.36`,
      };
    }
    case 'safari-ios': {
      const safari = pick('ios_saf');
      // Since iOS 26 Safari freezes the OS token at 18_6; before, it is the OS version itself.
      const os = Number(major(safari)) >= 26 ? '18_6' : safari.replace('.', '_');
      return {
        family,
        engine: 'webkit',
        mobile: true,
        version: safari,
        userAgent: `Mozilla/5.0 (iPhone; CPU iPhone OS ${os} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${safari} Mobile/15E148 Safari/604.1`,
      };
    }
  }
}

/** Windows tokens of the years-old User-Agents scrapers copy: mostly Windows 7. */
const LEGACY_WINDOWS = [
  'Windows NT 6.1; Win64; x64',
  'Windows NT 6.1; WOW64',
  'Windows NT 10.0; Win64; x64',
];

/**
 * A script that sends a years-old desktop browser's User-Agent, as many scrapers do (UA strings
 * copied from old tutorials and answers, old headless builds): Chrome or Firefox released 8–11
 * years before the start, mostly on Windows 7. Next to it, the headers copied with it (accept,
 * accept-language) in its HTTP library's order; none of the client hints or fetch metadata
 * the claimed browser would not have had either.
 */
export function legacyBrowserProfile(versions: BrowserVersions, rng: Rng): ClientProfile {
  const os = rng.pick(LEGACY_WINDOWS);
  const toolHeaders = [
    'host',
    'user-agent',
    'accept-encoding',
    'accept',
    'connection',
    'accept-language',
  ];
  if (rng.chance(0.7)) {
    const chrome = major(versions.aged('chrome', rng, 8, 11));
    // Chrome's build number grew about 43.6 per major across 40–70 (49 → 2623, 60 → 3112).
    const build = Math.round(2623 + (Number(chrome) - 49) * 43.6);
    return {
      family: 'tool',
      engine: 'none',
      mobile: false,
      version: chrome,
      toolHeaders,
      userAgent: `Mozilla/5.0 (${os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome}.0.${build}.${rng.int(40, 190)} Safari/537.36`,
    };
  }
  const firefox = major(versions.aged('firefox', rng, 8, 11));
  return {
    family: 'tool',
    engine: 'none',
    mobile: false,
    version: firefox,
    toolHeaders,
    userAgent: `Mozilla/5.0 (${os}; rv:${firefox}.0) Gecko/20100101 Firefox/${firefox}.0`,
  };
}

export function randomBrowser(
  versions: BrowserVersions,
  rng: Rng,
  options: { mobile?: boolean; outdated?: boolean } = {},
): ClientProfile {
  const family = rng.weighted(options.mobile ? MOBILE_FAMILIES : DESKTOP_FAMILIES);
  return browserProfile(family, versions, rng, options.outdated);
}

/** The shop's own mobile app: a native HTTP stack, bearer tokens, JSON only. */
export function appProfile(rng: Rng): ClientProfile {
  const build = `${rng.int(5, 6)}.${rng.int(0, 14)}.${rng.int(0, 3)}`;
  if (rng.chance(0.5)) {
    return {
      family: 'app-ios',
      engine: 'none',
      mobile: true,
      userAgent: `ShopApp/${build} (iPhone; iOS 18.${rng.int(3, 6)}; Scale/3.00)`,
      toolHeaders: [
        'host',
        'accept',
        'authorization',
        'accept-language',
        'accept-encoding',
        'user-agent',
      ],
    };
  }
  return {
    family: 'app-android',
    engine: 'none',
    mobile: true,
    userAgent: `ShopApp/${build} (Android ${rng.int(12, 15)}; ${rng.pick(['Pixel 8', 'SM-S921B', 'Redmi Note 13', 'CPH2581'])})`,
    toolHeaders: [
      'authorization',
      'accept',
      'accept-language',
      'host',
      'accept-encoding',
      'user-agent',
    ],
  };
}

/** Automation clients, with the headers they send by default. */
export const TOOLS = {
  pythonRequests: {
    userAgent: 'python-requests/2.32.3',
    headers: ['host', 'user-agent', 'accept-encoding', 'accept', 'connection'],
  },
  curl: { userAgent: 'curl/8.7.1', headers: ['host', 'user-agent', 'accept'] },
  go: { userAgent: 'Go-http-client/1.1', headers: ['host', 'user-agent', 'accept-encoding'] },
  okhttp: {
    userAgent: 'okhttp/4.12.0',
    headers: ['host', 'connection', 'accept-encoding', 'user-agent'],
  },
  axios: {
    userAgent: 'axios/1.7.9',
    headers: ['accept', 'user-agent', 'accept-encoding', 'host', 'connection'],
  },
  java: {
    userAgent: 'Java-http-client/21.0.5',
    headers: ['connection', 'host', 'http2-settings', 'upgrade', 'user-agent'],
  },
  scrapy: {
    userAgent: 'Scrapy/2.11.2 (+https://scrapy.org)',
    headers: ['accept', 'accept-language', 'user-agent', 'accept-encoding', 'host'],
  },
  headlessChrome: {
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36',
    headers: ['host', 'upgrade-insecure-requests', 'user-agent', 'accept', 'accept-encoding'],
  },
  nikto: {
    userAgent: 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)',
    headers: ['host', 'user-agent', 'connection'],
  },
  sqlmap: {
    userAgent: 'sqlmap/1.8.11#stable (https://sqlmap.org)',
    headers: ['host', 'accept', 'accept-encoding', 'user-agent', 'cache-control', 'connection'],
  },
  nuclei: {
    userAgent:
      'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))',
    headers: ['host', 'user-agent', 'accept-encoding', 'connection'],
  },
  ffuf: {
    userAgent: 'Fuzz Faster U Fool v2.1.0-dev',
    headers: ['host', 'user-agent', 'accept-encoding'],
  },
  gobuster: { userAgent: 'gobuster/3.6', headers: ['host', 'user-agent', 'accept-encoding'] },
} as const;
export type ToolName = keyof typeof TOOLS;

export function toolProfile(name: ToolName): ClientProfile {
  const tool = TOOLS[name];
  return {
    family: 'tool',
    engine: 'none',
    mobile: false,
    userAgent: tool.userAgent,
    toolHeaders: [...tool.headers],
  };
}

export interface HeaderContext {
  host: string;
  kind: RequestKind;
  method: string;
  acceptLanguage?: string;
  cookie?: string;
  authorization?: string;
  referer?: string;
  contentType?: string;
}

const CHROMIUM_BRAND: Record<string, string> = {
  'edge-windows': 'Microsoft Edge',
};

function chromiumHints(profile: ClientProfile): Record<string, string> {
  const v = profile.version ?? '0';
  const brand = CHROMIUM_BRAND[profile.family] ?? 'Google Chrome';
  const platform = profile.family.endsWith('mac')
    ? 'macOS'
    : profile.family === 'chrome-android'
      ? 'Android'
      : 'Windows';
  return {
    'sec-ch-ua': `"Chromium";v="${v}", "Not_A Brand";v="24", "${brand}";v="${v}"`,
    'sec-ch-ua-mobile': profile.mobile ? '?1' : '?0',
    'sec-ch-ua-platform': `"${platform}"`,
  };
}

const ACCEPT: Record<RequestKind, string> = {
  document: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  fetch: 'application/json, text/plain, */*',
  asset: '*/*',
  form: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};

/** Header names in the order each engine sends them, per request kind. */
function browserOrder(engine: ClientProfile['engine'], kind: RequestKind): string[] {
  if (engine === 'chromium') {
    if (kind === 'fetch' || kind === 'asset')
      return [
        'host',
        'sec-ch-ua-platform',
        'user-agent',
        'sec-ch-ua',
        'content-type',
        'sec-ch-ua-mobile',
        'accept',
        'origin',
        'sec-fetch-site',
        'sec-fetch-mode',
        'sec-fetch-dest',
        'referer',
        'accept-encoding',
        'accept-language',
        'cookie',
        'priority',
      ];
    return [
      'host',
      'content-type',
      'sec-ch-ua',
      'sec-ch-ua-mobile',
      'sec-ch-ua-platform',
      'origin',
      'upgrade-insecure-requests',
      'user-agent',
      'accept',
      'sec-fetch-site',
      'sec-fetch-mode',
      'sec-fetch-user',
      'sec-fetch-dest',
      'referer',
      'accept-encoding',
      'accept-language',
      'cookie',
      'priority',
    ];
  }
  if (engine === 'gecko')
    return [
      'host',
      'user-agent',
      'accept',
      'accept-language',
      'accept-encoding',
      'content-type',
      'origin',
      'connection',
      'referer',
      'cookie',
      'upgrade-insecure-requests',
      'sec-fetch-dest',
      'sec-fetch-mode',
      'sec-fetch-site',
      'sec-fetch-user',
      'priority',
    ];
  return [
    'host',
    'content-type',
    'origin',
    'accept',
    'sec-fetch-site',
    'cookie',
    'sec-fetch-dest',
    'accept-language',
    'sec-fetch-mode',
    'user-agent',
    'referer',
    'accept-encoding',
    'priority',
  ];
}

/** The request headers a client sends, in its order (the mirror agent keeps the order). */
export function buildHeaders(profile: ClientProfile, ctx: HeaderContext): Record<string, string> {
  const values: Record<string, string | undefined> = {
    host: ctx.host,
    'user-agent': profile.userAgent,
    accept: ACCEPT[ctx.kind],
    'accept-language': ctx.acceptLanguage,
    'accept-encoding': profile.engine === 'none' ? 'gzip' : 'gzip, deflate, br, zstd',
    cookie: ctx.cookie,
    authorization: ctx.authorization,
    referer: ctx.referer,
    'content-type': ctx.contentType,
    connection: 'keep-alive',
  };
  const headers: Record<string, string> = {};
  if (profile.engine === 'none') {
    for (const name of profile.toolHeaders ?? ['host', 'user-agent']) {
      const value = values[name] ?? (name === 'cache-control' ? 'no-cache' : undefined);
      if (value !== undefined) headers[name] = value;
    }
    // Tools add what the request needs after their defaults.
    for (const name of ['content-type', 'cookie', 'authorization', 'accept-language'])
      if (values[name] !== undefined && !(name in headers)) headers[name] = values[name];
    return headers;
  }
  const crossDocument = ctx.kind === 'document' || ctx.kind === 'form';
  Object.assign(values, {
    ...(profile.engine === 'chromium' ? chromiumHints(profile) : {}),
    origin: ctx.method !== 'GET' ? `https://${ctx.host}` : undefined,
    'upgrade-insecure-requests': crossDocument ? '1' : undefined,
    'sec-fetch-site': ctx.referer ? 'same-origin' : 'none',
    'sec-fetch-mode': crossDocument ? 'navigate' : ctx.kind === 'asset' ? 'no-cors' : 'cors',
    'sec-fetch-user': crossDocument ? '?1' : undefined,
    'sec-fetch-dest': crossDocument ? 'document' : ctx.kind === 'asset' ? 'script' : 'empty',
    priority: crossDocument ? 'u=0, i' : 'u=1, i',
    connection: profile.engine === 'gecko' ? 'keep-alive' : undefined,
  });
  for (const name of browserOrder(profile.engine, ctx.kind)) {
    const value = values[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** Accept-Language values of the simulated audience. */
export const LANGUAGES: readonly (readonly [string, number])[] = [
  ['en-US,en;q=0.9', 40],
  ['en-GB,en;q=0.9', 12],
  ['de-DE,de;q=0.9,en;q=0.8', 10],
  ['fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7', 9],
  ['es-ES,es;q=0.9', 7],
  ['it-IT,it;q=0.9,en;q=0.8', 5],
  ['nl-NL,nl;q=0.9,en;q=0.8', 4],
  ['pl-PL,pl;q=0.9', 3],
  ['pt-BR,pt;q=0.9,en;q=0.8', 5],
  ['ja-JP,ja;q=0.9', 3],
  ['sv-SE,sv;q=0.9,en;q=0.8', 2],
];
