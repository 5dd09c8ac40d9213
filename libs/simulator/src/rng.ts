/**
 * Seeded randomness for the simulator. Every actor draws from its own stream, derived from the
 * simulation seed and the actor's index, so an actor's traffic does not depend on how many
 * other actors run or in which order their requests are merged: same seed, same bytes.
 */
import { createHash } from 'node:crypto';
import type * as Float64 from 'pure-rand/lib/distribution/uniformFloat64';
import type * as Xoroshiro from 'pure-rand/lib/generator/xoroshiro128plus';

// pure-rand publishes its modules only through package `exports`, which the workspace's node10
// type resolution does not read: the types come from their files, the code from the exports.
/* eslint-disable @typescript-eslint/no-require-imports */
const { xoroshiro128plus } = require('pure-rand/generator/xoroshiro128plus') as typeof Xoroshiro;
const { uniformFloat64 } = require('pure-rand/distribution/uniformFloat64') as typeof Float64;
/* eslint-enable @typescript-eslint/no-require-imports */

type Generator = ReturnType<typeof xoroshiro128plus>;

/** A 32-bit seed derived from a parent seed and a label (stable across runs and platforms). */
export function deriveSeed(seed: number, label: string): number {
  return createHash('sha256').update(`${seed}\0${label}`).digest().readInt32LE(0);
}

export class Rng {
  private readonly generator: Generator;
  private spareNormal: number | undefined;

  /** The seed is hashed first: nearby seeds (1, 2, 3…) give unrelated streams. */
  constructor(seed: number, label = '') {
    this.generator = xoroshiro128plus(deriveSeed(seed, label));
  }

  /** An independent stream named by `label`. */
  static derive(seed: number, label: string): Rng {
    return new Rng(seed, label);
  }

  /** A child stream; the parent advances by one draw. */
  fork(label: string): Rng {
    return Rng.derive(this.generator.next(), label);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  uniform(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Picks by weight: `[[item, weight], …]`. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    let x = this.float() * total;
    for (const [item, w] of choices) {
      x -= w;
      if (x < 0) return item;
    }
    return choices[choices.length - 1][0];
  }

  /** Standard normal (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.float();
    return -mean * Math.log(u);
  }

  /** Geometric number of trials until success (≥ 1) with success probability p. */
  geometric(p: number): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.max(1, Math.ceil(Math.log(u) / Math.log(1 - p)));
  }

  /** Lower-case alphanumeric token of the given length. */
  token(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.float() * alphabet.length)];
    return s;
  }

  hex(length: number): string {
    return this.token(length, '0123456789abcdef');
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }
}

export const clamp = (x: number, min: number, max: number) => Math.min(max, Math.max(min, x));
