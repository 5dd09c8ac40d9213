/**
 * Per-application sessionizer configuration: which credentials key a session (and in which
 * precedence), how authentication attempts are recognised and judged, explicit route
 * templates, and whether route templates are learned. Read once at start-up from
 * MOAT_SESSIONIZER_CONFIG (a JSON file path or inline JSON), validated with a schema whose
 * errors name the failing field.
 *
 * ```json
 * { "applications": {
 *     "shop.example": {
 *       "sessionKeys": ["cookie:sid", "bearer"],
 *       "authRules": [{ "method": "POST", "route": "/api/v2/sessions", "success": [201], "failure": ["4xx"] }],
 *       "routes": ["/api/users/{user}/wishlist"]
 *     },
 *     "*.internal.example": { "learnRoutes": false } } }
 * ```
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import Ajv from 'ajv';
import { describeSchemaError } from '@moat/contracts';

/** A status code, a class (`4xx`) or an inclusive range (`400-403`). */
const StatusMatchSchema = Type.Union([
  Type.Integer({ minimum: 100, maximum: 599 }),
  Type.String({ pattern: '^([1-5]xx|[1-5][0-9]{2}-[1-5][0-9]{2})$' }),
]);

export const AuthRuleSchema = Type.Object(
  {
    /** HTTP method; default POST. */
    method: Type.Optional(Type.String({ pattern: '^[A-Za-z]{1,16}$' })),
    /**
     * The route: a path or template; a `{name}` segment matches any one segment and a final
     * `/*` any rest. Matched against the request's path and its route template.
     */
    route: Type.String({ minLength: 1, maxLength: 2048, pattern: '^/' }),
    /** Statuses that mean the login succeeded; default 2xx and 3xx. */
    success: Type.Optional(Type.Array(StatusMatchSchema, { minItems: 1 })),
    /** Statuses that mean it failed; default 4xx. Anything else is an attempt of unknown outcome. */
    failure: Type.Optional(Type.Array(StatusMatchSchema, { minItems: 1 })),
  },
  { additionalProperties: false },
);

/** A credential selector: a kind, or a kind and a name (`cookie:sid`, `api-key:x-api-key`). */
const SessionKeySchema = Type.String({
  pattern: '^(cookie|bearer|api-key|basic)(:[!-~]{1,256})?$',
});

export const ApplicationConfigSchema = Type.Object(
  {
    /**
     * Credentials that key a session, first match wins. Default: the first credential the
     * request carries (authorization, API-key headers, session cookies, credential query
     * parameters, in that order). A request with none of them is keyed by its fingerprint.
     */
    sessionKeys: Type.Optional(Type.Array(SessionKeySchema, { minItems: 1, maxItems: 32 })),
    /** Authentication endpoints of this application; checked before the default heuristic. */
    authRules: Type.Optional(Type.Array(AuthRuleSchema, { maxItems: 64 })),
    /**
     * Also apply the default heuristic (POST to login/signin/auth/token/session routes) to
     * requests no rule matched. Default: true without authRules, false with them.
     */
    authHeuristic: Type.Optional(Type.Boolean()),
    /** Route templates to apply as written (`/api/users/{user}/wishlist`), before any other. */
    routes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 2048, pattern: '^/' }), { maxItems: 512 }),
    ),
    /** Learn high-cardinality path segments from the traffic; default true. */
    learnRoutes: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const SessionizerConfigSchema = Type.Object(
  {
    /** By application name or glob (`*` matches any run of characters); `*` is the default. */
    applications: Type.Record(
      Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9*._:\\[\\]-]+$' }),
      ApplicationConfigSchema,
    ),
  },
  { additionalProperties: false },
);

export type AuthRule = Static<typeof AuthRuleSchema>;
export type ApplicationConfig = Static<typeof ApplicationConfigSchema>;
export type SessionizerConfig = Static<typeof SessionizerConfigSchema>;

const ajv = new Ajv({ strict: true, allowUnionTypes: true });
const validate = ajv.compile<SessionizerConfig>(SessionizerConfigSchema);

/** Validates a parsed configuration; the error names the failing field. */
export function checkSessionizerConfig(value: unknown): SessionizerConfig {
  if (validate(value)) return value;
  throw new Error(`invalid sessionizer configuration: ${describeSchemaError(validate.errors)}`);
}

/** MOAT_SESSIONIZER_CONFIG: inline JSON (starts with `{`) or the path of a JSON file. */
export function loadSessionizerConfig(source: string): SessionizerConfig {
  const text = source.trim();
  if (text === '') return { applications: {} };
  let raw: string;
  if (text.startsWith('{')) raw = text;
  else {
    try {
      raw = readFileSync(text, 'utf8');
    } catch (err) {
      throw new Error(
        `cannot read the sessionizer configuration file ${text}: ${(err as Error).message}`,
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`the sessionizer configuration is not JSON: ${(err as Error).message}`);
  }
  return checkSessionizerConfig(parsed);
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

/**
 * Resolves an application's configuration: the exact name first, then the most specific glob
 * (the longest pattern), then `*`, else the defaults. Resolutions are cached (bounded).
 */
export class ApplicationConfigs {
  private readonly exact = new Map<string, ApplicationConfig>();
  private readonly globs: { pattern: RegExp; config: ApplicationConfig }[] = [];
  private readonly cache = new Map<string, ApplicationConfig>();

  constructor(config: SessionizerConfig = { applications: {} }) {
    const entries = Object.entries(config.applications);
    for (const [name, app] of entries)
      if (!name.includes('*')) this.exact.set(name.toLowerCase(), app);
    for (const [name, app] of entries
      .filter(([name]) => name.includes('*'))
      .sort((a, b) => b[0].length - a[0].length))
      this.globs.push({ pattern: globToRegExp(name), config: app });
  }

  for(app: string): ApplicationConfig {
    const cached = this.cache.get(app);
    if (cached) return cached;
    const config =
      this.exact.get(app.toLowerCase()) ??
      this.globs.find((g) => g.pattern.test(app))?.config ??
      {};
    // Host names are the client's to choose: the cache must not grow without bound.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(app, config);
    return config;
  }
}
