/**
 * The node agent's snapshot on disk: every live decision of the index, so that a restarted
 * agent enforces at once — also while Kafka is unreachable — instead of failing fully open.
 *
 * Written atomically (a temporary file in the same directory, fsync, rename), so a reader sees
 * the old snapshot or the new one, never a torn file. Binary, ~20 bytes per IPv4 entry:
 *
 *   "MOATSNAP" | u32 header length | header JSON | records… | SHA-256 of everything before
 *   header:  { v: 1, writtenAt, topic, entries, metas: DecisionMeta[] }
 *   record:  u8 family (4|6) | u8 prefix | u8 action | u8 0 | u32 meta id | f64 expiresAt |
 *            4 or 16 address bytes
 *
 * A snapshot that is truncated, fails its checksum or has another version is refused with an
 * error saying so; the agent then starts empty (and says so) rather than trust it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PROVISIONAL, type DecisionIndex, type DecisionMeta } from './decision-index';

const MAGIC = Buffer.from('MOATSNAP', 'latin1');
const VERSION = 1;
const DIGEST_BYTES = 32;

export interface SnapshotInfo {
  path: string;
  writtenAt: number;
  topic: string;
  entries: number;
  bytes: number;
}

interface Header {
  v: number;
  writtenAt: number;
  topic: string;
  entries: number;
  metas: DecisionMeta[];
}

/** Writes the index's live entries to `path` atomically. */
export async function writeSnapshot(
  path: string,
  index: DecisionIndex,
  options: { topic: string; now?: number },
): Promise<SnapshotInfo> {
  const now = options.now ?? Date.now();
  // Dense metadata ids: only what live entries reference.
  const metas = index.metadata();
  const remap = new Map<number, number>();
  const denseMetas: DecisionMeta[] = [];
  const records = Buffer.allocUnsafe(Math.max(1, index.size) * 32);
  let offset = 0;
  let entries = 0;
  index.forEachEntry((e) => {
    if (e.expiresAt <= now) return;
    let metaId = remap.get(e.metaId);
    if (metaId === undefined) {
      metaId = denseMetas.push(metas[e.metaId]!) - 1;
      remap.set(e.metaId, metaId);
    }
    records.writeUInt8(e.family, offset);
    records.writeUInt8(e.prefix, offset + 1);
    records.writeUInt8(e.action, offset + 2);
    records.writeUInt8(0, offset + 3);
    records.writeUInt32LE(metaId, offset + 4);
    records.writeDoubleLE(e.expiresAt, offset + 8);
    offset += 16;
    if (e.family === 4) {
      records.writeUInt32BE(e.v4, offset);
      offset += 4;
    } else {
      for (let i = 0; i < 8; i++) records.writeUInt16BE(e.groups![i], offset + i * 2);
      offset += 16;
    }
    entries++;
  });
  const header: Header = {
    v: VERSION,
    writtenAt: now,
    topic: options.topic,
    entries,
    metas: denseMetas,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32LE(headerBytes.length, 0);
  const body = [MAGIC, length, headerBytes, records.subarray(0, offset)];
  const digest = createHash('sha256');
  for (const part of body) digest.update(part);
  const file = Buffer.concat([...body, digest.digest()]);

  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(file);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new Error(`cannot write the decision snapshot ${path}: ${(err as Error).message}`);
  }
  return { path, writtenAt: now, topic: options.topic, entries, bytes: file.length };
}

/**
 * Loads a snapshot into `index` (as provisional entries unless told otherwise), skipping what
 * expired by `now`. Resolves undefined when there is no snapshot file.
 */
export async function readSnapshot(
  path: string,
  index: DecisionIndex,
  options: { now?: number; generation?: number } = {},
): Promise<SnapshotInfo | undefined> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the decision snapshot ${path}: ${(err as Error).message}`);
  }
  const refuse = (why: string) =>
    new Error(
      `decision snapshot ${path} is unusable (${why}); delete it or let the agent rewrite it`,
    );
  if (file.length < MAGIC.length + 4 + DIGEST_BYTES || !file.subarray(0, 8).equals(MAGIC)) {
    throw refuse('not a Moat snapshot');
  }
  const bodyEnd = file.length - DIGEST_BYTES;
  const digest = createHash('sha256').update(file.subarray(0, bodyEnd)).digest();
  if (!digest.equals(file.subarray(bodyEnd)))
    throw refuse('checksum mismatch: truncated or corrupt');
  const headerLength = file.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(file.subarray(12, 12 + headerLength).toString('utf8')) as Header;
  } catch {
    throw refuse('unreadable header');
  }
  if (header.v !== VERSION) throw refuse(`format version ${header.v}, expected ${VERSION}`);
  const now = options.now ?? Date.now();
  const generation = options.generation ?? PROVISIONAL;
  let offset = 12 + headerLength;
  let loaded = 0;
  while (offset < bodyEnd) {
    const family = file.readUInt8(offset);
    const prefix = file.readUInt8(offset + 1);
    const action = file.readUInt8(offset + 2);
    const metaId = file.readUInt32LE(offset + 4);
    const expiresAt = file.readDoubleLE(offset + 8);
    offset += 16;
    const meta = header.metas[metaId];
    if ((family !== 4 && family !== 6) || action > 2 || !meta) throw refuse('bad record');
    if (family === 4) {
      const v4 = file.readUInt32BE(offset);
      offset += 4;
      if (expiresAt > now) index.set({ family, v4 }, prefix, action, expiresAt, meta, generation);
    } else {
      const groups = new Array<number>(8);
      for (let i = 0; i < 8; i++) groups[i] = file.readUInt16BE(offset + i * 2);
      offset += 16;
      if (expiresAt > now)
        index.set({ family, groups }, prefix, action, expiresAt, meta, generation);
    }
    if (expiresAt > now) loaded++;
  }
  if (offset !== bodyEnd) throw refuse('bad record length');
  return {
    path,
    writtenAt: header.writtenAt,
    topic: header.topic,
    entries: loaded,
    bytes: file.length,
  };
}
