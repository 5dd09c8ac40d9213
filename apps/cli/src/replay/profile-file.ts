/**
 * `--profile FILE`: one API abuse profile or an array of them, as JSON, validated against the
 * Profile contract. An error names the file, the profile and the field.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { BOT_TYPES, describeSchemaError, ProfileSchema, type Profile } from '@moat/contracts';

const ajv = new Ajv({ strict: true, allErrors: false });
const validateProfile = ajv.compile<Profile>(ProfileSchema);

export function parseProfiles(text: string, origin: string): Profile[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${origin}: not valid JSON (${(err as Error).message})`);
  }
  const list = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  if (list.length === 0) throw new Error(`${origin}: the array holds no profile`);
  const names = new Set<string>();
  return list.map((candidate, i) => {
    const where = Array.isArray(parsed) ? `${origin}: profile [${i}]` : `${origin}: profile`;
    if (!validateProfile(candidate)) {
      const error = validateProfile.errors?.[0];
      const field = error?.instancePath || '(root)';
      if (/^\/botTypes\/\d+$/.test(field)) {
        throw new Error(`${where}: ${field} must be one of ${BOT_TYPES.join(', ')}`);
      }
      if (field === '/reaction') {
        throw new Error(`${where}: /reaction must be one of monitor, graylist, deny`);
      }
      const hint =
        error?.keyword === 'required'
          ? ' (a profile has name, botTypes, threshold, reaction, durationMs, applications)'
          : '';
      throw new Error(`${where}: ${describeSchemaError(validateProfile.errors)}${hint}`);
    }
    if (names.has(candidate.name)) {
      throw new Error(`${where}: /name "${candidate.name}" is used by another profile`);
    }
    names.add(candidate.name);
    return candidate;
  });
}

export function loadProfiles(path: string): Profile[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--profile ${path}: cannot read it (${(err as Error).message})`);
  }
  return parseProfiles(text, path);
}
