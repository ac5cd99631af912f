/**
 * Latency statistics.
 *
 * `Histogram` is a small HDR-style log-linear histogram over integer
 * microseconds: values below 128 µs get exact buckets, above that every
 * power-of-two range is split into 64 linear sub-buckets, so any recorded
 * value is reported with < 1.6 % relative error. Recording is O(1) and
 * allocation free, which matters when the generator records millions of
 * deliveries per run.
 */

const SUB_BUCKET_BITS = 7; // 128 exact buckets, then 64 per magnitude
const SUB_BUCKET_HALF = 1 << (SUB_BUCKET_BITS - 1); // 64
const MAX_VALUE = 0x7fffffff; // ~35 minutes in µs; larger values are clamped
const BUCKETS = SUB_BUCKET_HALF * (31 - SUB_BUCKET_BITS + 2) + SUB_BUCKET_HALF;

function bucketIndex(v: number): number {
  if (v < 1 << SUB_BUCKET_BITS) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - (SUB_BUCKET_BITS - 1);
  return SUB_BUCKET_HALF * shift + (v >>> shift);
}

/** Inclusive [low, high] range of values that map to bucket `i`. */
function bucketRange(i: number): [number, number] {
  if (i < 1 << SUB_BUCKET_BITS) return [i, i];
  const shift = Math.floor(i / SUB_BUCKET_HALF) - 1;
  const sub = i - SUB_BUCKET_HALF * shift;
  const low = sub * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}

export interface LatencySummary {
  count: number;
  /** All latency figures are milliseconds. */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxUs = 0;

  /** Record a latency given in milliseconds (fractional allowed). */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (us < 0) us = 0; // cannot happen with a monotonic clock, but be safe
    else if (us > MAX_VALUE) us = MAX_VALUE;
    this.counts[bucketIndex(us)]! += 1;
    this.total += 1;
    this.sum += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.maxUs = 0;
  }

  get count(): number {
    return this.total;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** Value (ms) at quantile q in [0, 1]; midpoint of the matching bucket. */
  quantileMs(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [low, high] = bucketRange(i);
        return Math.min((low + high) / 2, this.maxUs) / 1000;
      }
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      mean: this.total === 0 ? NaN : this.sum / this.total / 1000,
      p50: this.quantileMs(0.5),
      p90: this.quantileMs(0.9),
      p99: this.quantileMs(0.99),
      p999: this.quantileMs(0.999),
      max: this.total === 0 ? NaN : this.maxUs / 1000,
    };
  }
}
