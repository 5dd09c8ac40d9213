/**
 * Configuration is read once at start-up from environment variables and validated by a schema
 * (envalid). A wrong or missing value stops the service with one line per variable that says
 * what was wrong and what to set.
 */
import {
  cleanEnv,
  EnvError,
  EnvMissingError,
  makeValidator,
  str,
  num,
  port,
  bool,
  url,
} from 'envalid';

export { str, num, port, bool, url, makeValidator };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

type Specs = Parameters<typeof cleanEnv>[1];

/** Validates `env` against `specs`; throws ConfigError naming each bad variable. */
export function parseConfig<S extends Specs>(specs: S, env: NodeJS.ProcessEnv = process.env) {
  return cleanEnv(env, specs, {
    reporter: ({ errors }) => {
      const problems = Object.entries(errors).map(([name, error]) => {
        if (error instanceof EnvMissingError) {
          return `Configuration error: ${name} is required but not set${hint(error)}.`;
        }
        const got = env[name];
        const detail =
          error instanceof EnvError || error instanceof Error ? error.message : String(error);
        return `Configuration error: ${name}=${JSON.stringify(got)} is invalid: ${detail}`;
      });
      if (problems.length > 0) throw new ConfigError(problems);
    },
  });
}

function hint(error: Error): string {
  const desc = error.message.replace(/^Missing value for \w+:?\s*/, '').trim();
  return desc ? ` (${desc})` : '';
}

/** Like parseConfig, but prints the problems and exits: for a service's main(). */
export function loadConfigOrExit<S extends Specs>(specs: S, env: NodeJS.ProcessEnv = process.env) {
  try {
    return parseConfig(specs, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`${line}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
