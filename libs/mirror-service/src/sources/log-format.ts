/**
 * Text access logs in any NGINX `log_format`: the format string itself is the parser. It is
 * compiled into literals and variables; a line is scanned left to right, each variable taking
 * the text up to the next literal. The scan never backtracks, so a hostile line costs time
 * linear in its length (no regular expression to blow up on a 1 MB line).
 *
 * NGINX escapes `"`, `\` and bytes outside printable ASCII in text logs as `\xHH`, so a quoted
 * field cannot contain the quote that ends it; values are unescaped (as UTF-8) after the scan.
 */

/** NGINX's predefined `combined` format (also Apache's). */
export const COMBINED_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
/** The `main` format of NGINX's default nginx.conf: combined plus X-Forwarded-For. */
export const MAIN_FORMAT = `${COMBINED_FORMAT} "$http_x_forwarded_for"`;
/** The Common Log Format (Apache's `common`, NGINX's combined without referer and user agent). */
export const COMMON_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent';
/**
 * Combined with the virtual host in front, as many NGINX configurations log it. Apache's
 * `vhost_combined` (`host:port` first) reads the same way.
 */
export const VHOST_COMBINED_FORMAT = `$host ${COMBINED_FORMAT}`;

export const LOG_FORMAT_PRESETS: Readonly<Record<string, string>> = {
  combined: COMBINED_FORMAT,
  main: MAIN_FORMAT,
  common: COMMON_FORMAT,
  'vhost-combined': VHOST_COMBINED_FORMAT,
};

export interface CompiledLogFormat {
  readonly source: string;
  readonly variables: readonly string[];
  /** Variable → raw value, or undefined when the line does not fit the format. */
  scan(line: string): Map<string, string> | undefined;
}

/**
 * Compiles a log_format string (a preset name, or the format as written in nginx.conf, with the
 * quotes of its pieces already joined). Throws one line when it cannot be parsed reliably.
 */
export function compileLogFormat(format: string): CompiledLogFormat {
  const source = Object.hasOwn(LOG_FORMAT_PRESETS, format) ? LOG_FORMAT_PRESETS[format] : format;
  const literals: string[] = [];
  const variables: string[] = [];
  const token = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  let last = 0;
  for (let m = token.exec(source); m; m = token.exec(source)) {
    literals.push(source.slice(last, m.index));
    variables.push(m[1] ?? m[2]);
    last = m.index + m[0].length;
  }
  literals.push(source.slice(last));
  if (variables.length === 0) {
    throw new Error(`log format "${source}" has no $variables`);
  }
  for (let i = 1; i < variables.length; i++) {
    if (literals[i] === '') {
      throw new Error(
        `log format: $${variables[i - 1]} and $${variables[i]} are not separated by any text, so a line cannot be split between them`,
      );
    }
  }

  return {
    source,
    variables,
    scan(line: string): Map<string, string> | undefined {
      if (!line.startsWith(literals[0])) return undefined;
      let pos = literals[0].length;
      const values = new Map<string, string>();
      for (let i = 0; i < variables.length; i++) {
        const next = literals[i + 1];
        let end: number;
        if (next === '') end = line.length;
        else {
          end = line.indexOf(next, pos);
          if (end === -1) return undefined;
        }
        const raw = line.slice(pos, end);
        if (!values.has(variables[i])) values.set(variables[i], unescapeNginx(raw));
        pos = end + next.length;
      }
      return values;
    },
  };
}

const HEX_RUN = /(?:\\x[0-9A-Fa-f]{2})+/g;

/** Undoes NGINX's `\xHH` escaping; consecutive escaped bytes are decoded together as UTF-8. */
export function unescapeNginx(value: string): string {
  if (!value.includes('\\x')) return value;
  return value.replace(HEX_RUN, (run) => {
    const bytes = Buffer.alloc(run.length / 4);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 4 + 2, i * 4 + 4), 16);
    return bytes.toString('utf8');
  });
}
