/**
 * Test support: a disk cache of simulated, sessionized populations, so that the specs which
 * run detectors over 10,000-session populations do not regenerate them (about a minute and a
 * half each on 2 cores) in every file and every run.
 *
 * An entry is keyed by what produced it: the generation options and a hash of the source of
 * the simulator and of every @moat library it imports (found by following their imports, so a
 * new dependency is hashed without being listed here), of this directory's test support and of
 * package-lock.json (browserslist and caniuse-lite data shape the User-Agents). A change to any
 * of them is a miss, never a stale hit; entries of other sources are deleted when a new one is
 * written. Entries live in node_modules/.cache/moat-simulator/ (MOAT_SIMULATOR_CACHE=<dir>
 * elsewhere, MOAT_SIMULATOR_CACHE=off: no cache).
 *
 * The format interns every string and object shape (a session's User-Agent, header names and
 * label are stored once), so an entry is about a third of the JSON and loads in seconds into a
 * smaller heap: decoded events share their repeated strings.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');
export const CACHE_DIR = join(ROOT, 'node_modules/.cache/moat-simulator');
const FORMAT = 1;

/** The TypeScript files under `dir` that shape what it produces: not specs, not test support. */
function sourceFiles(dir: string, withTesting = false): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (withTesting || entry.name !== 'testing') out.push(...sourceFiles(path, withTesting));
    } else if (entry.name.endsWith('.ts') && !/\.(int-)?spec\.ts$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out.sort();
}

/**
 * What a cached population depends on: this directory's test support, the lockfile, and the
 * source of the simulator and of every @moat library it imports, transitively.
 */
export function simulatorSources(): string[] {
  const files = [...sourceFiles(__dirname, true), join(ROOT, 'package-lock.json')];
  const seen = new Set<string>();
  const queue = ['simulator'];
  while (queue.length > 0) {
    const lib = queue.shift()!;
    if (seen.has(lib)) continue;
    seen.add(lib);
    for (const file of sourceFiles(join(ROOT, 'libs', lib, 'src'))) {
      files.push(file);
      for (const [, dep] of readFileSync(file, 'utf8').matchAll(/from '@moat\/([a-z-]+)'/g))
        if (!seen.has(dep)) queue.push(dep);
    }
  }
  return files;
}

let sourceHash: string | undefined;

export function simulatorSourceHash(): string {
  if (!sourceHash) {
    const hash = createHash('sha256').update(`format ${FORMAT}\n`);
    for (const file of simulatorSources()) {
      hash.update(`${file.slice(ROOT.length)}\n`);
      hash.update(readFileSync(file));
    }
    sourceHash = hash.digest('hex').slice(0, 16);
  }
  return sourceHash;
}

/**
 * The value cached under `key` (any JSON-able description of how it is made), or `make()`'s,
 * which is then written for the next run.
 */
export async function cached<T>(key: unknown, make: () => Promise<T>): Promise<T> {
  const setting = process.env.MOAT_SIMULATOR_CACHE;
  if (setting === 'off') return make();
  const dir = setting ? resolve(setting) : CACHE_DIR;
  const source = simulatorSourceHash();
  const name = `${source}-${createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16)}.bin`;
  const file = join(dir, name);
  if (existsSync(file)) return decode(readFileSync(file)) as T;
  const value = await make();
  mkdirSync(dir, { recursive: true });
  // Written aside and renamed: a parallel run never reads half a file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, encode(value));
  renameSync(partial, file);
  for (const other of readdirSync(dir))
    if (other.endsWith('.bin') && !other.startsWith(`${source}-`))
      rmSync(join(dir, other), { force: true });
  return value;
}

// ---- the format ----
// A value is a stream of tags (one byte each); numbers follow in a float64 stream, string,
// shape and length references in a uint32 stream; the strings and shapes (key lists) are a JSON
// header. Layout: four float64 lengths, then header, tags, numbers, references.

enum Tag {
  Null,
  False,
  True,
  Number,
  String,
  Object,
  Array,
  Undefined,
}

class Stream<A extends Uint8Array | Float64Array | Uint32Array> {
  private length = 0;

  constructor(
    private data: A,
    private readonly grow: (size: number) => A,
  ) {}

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.grow(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  bytes(): Buffer {
    return Buffer.from(this.data.buffer, 0, this.length * this.data.BYTES_PER_ELEMENT);
  }
}

export function encode(root: unknown): Buffer {
  const tags = new Stream(new Uint8Array(1 << 16), (n) => new Uint8Array(n));
  const numbers = new Stream(new Float64Array(1 << 16), (n) => new Float64Array(n));
  const refs = new Stream(new Uint32Array(1 << 16), (n) => new Uint32Array(n));
  const strings = new Map<string, number>();
  const shapes = new Map<string, number>();
  const intern = (table: Map<string, number>, key: string) => {
    let index = table.get(key);
    if (index === undefined) table.set(key, (index = table.size));
    return index;
  };
  const write = (value: unknown): void => {
    if (value === null) tags.push(Tag.Null);
    else if (value === undefined) tags.push(Tag.Undefined);
    else if (value === false) tags.push(Tag.False);
    else if (value === true) tags.push(Tag.True);
    else if (typeof value === 'number') {
      tags.push(Tag.Number);
      numbers.push(value);
    } else if (typeof value === 'string') {
      tags.push(Tag.String);
      refs.push(intern(strings, value));
    } else if (Array.isArray(value)) {
      tags.push(Tag.Array);
      refs.push(value.length);
      for (const item of value) write(item);
    } else if (typeof value === 'object') {
      const keys = Object.keys(value);
      tags.push(Tag.Object);
      refs.push(intern(shapes, JSON.stringify(keys)));
      for (const key of keys) write((value as Record<string, unknown>)[key]);
    } else {
      throw new Error(`event cache: cannot store a ${typeof value}`);
    }
  };
  write(root);
  const header = Buffer.from(
    JSON.stringify({ strings: [...strings.keys()], shapes: [...shapes.keys()] }),
  );
  const parts = [header, tags.bytes(), numbers.bytes(), refs.bytes()];
  const lengths = Buffer.from(new Float64Array(parts.map((p) => p.length)).buffer);
  return Buffer.concat([lengths, ...parts]);
}

export function decode(buffer: Buffer): unknown {
  // Copied out of the file buffer: typed arrays need aligned offsets.
  const lengths = new Float64Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + 32));
  let offset = buffer.byteOffset + 32;
  const next = (i: number) => buffer.buffer.slice(offset, (offset += lengths[i]));
  const header = JSON.parse(Buffer.from(next(0)).toString('utf8')) as {
    strings: string[];
    shapes: string[];
  };
  const tags = new Uint8Array(next(1));
  const numbers = new Float64Array(next(2));
  const refs = new Uint32Array(next(3));
  const { strings } = header;
  let t = 0;
  let n = 0;
  let r = 0;
  // One constructor per shape: an object literal builds objects of one hidden class quickly.
  // The keys come from this cache's own header and are quoted by JSON.stringify.
  const makers = header.shapes.map(
    (shape) =>
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      new Function(
        'read',
        `return {${(JSON.parse(shape) as string[])
          // A literal "__proto__" key would set the prototype; a computed one is a plain key.
          .map((k) => `${k === '__proto__' ? `["__proto__"]` : JSON.stringify(k)}: read()`)
          .join(', ')}};`,
      ) as (read: () => unknown) => unknown,
  );
  const read = (): unknown => {
    switch (tags[t++] as Tag) {
      case Tag.Null:
        return null;
      case Tag.Undefined:
        return undefined;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Number:
        return numbers[n++];
      case Tag.String:
        return strings[refs[r++]];
      case Tag.Array: {
        const items = new Array<unknown>(refs[r++]);
        for (let i = 0; i < items.length; i++) items[i] = read();
        return items;
      }
      case Tag.Object:
        return makers[refs[r++]](read);
      default:
        throw new Error(
          `event cache: corrupt entry (tag ${tags[t - 1]} at ${t - 1}); delete ${CACHE_DIR}`,
        );
    }
  };
  return read();
}
