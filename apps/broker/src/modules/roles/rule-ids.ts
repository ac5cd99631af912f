import { randomBytes } from "node:crypto";

/**
 * Ids for a batch of topic rules that sort in the order the rules were given.
 *
 * Rules are evaluated by priority, and rules of equal priority in the order
 * the administrator wrote them. TopicRule has no position column, so the
 * order lives in the ids: UUIDv7 (RFC 9562 section 5.7) with a dedicated
 * counter (section 6.2, method 1) in rand_a and the top 14 bits of rand_b.
 * Postgres compares uuids bytewise, so `ORDER BY priority, id` returns a
 * batch in the order it was written. A role's rules are always replaced as
 * a whole, so every rule of a role comes from one batch.
 */
const COUNTER_BITS = 26;

export function orderedRuleIds(count: number, now = Date.now()): string[] {
  if (count >= 2 ** COUNTER_BITS) throw new RangeError(`at most ${2 ** COUNTER_BITS - 1} ids per batch`);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const b = randomBytes(16);
    b.writeUIntBE(now, 0, 6); // unix_ts_ms, 48 bits
    const high = i >>> 14; // 12 bits
    const low = i & 0x3fff; // 14 bits
    b[6] = 0x70 | (high >>> 8); // version 7
    b[7] = high & 0xff;
    b[8] = 0x80 | (low >>> 8); // variant 0b10
    b[9] = low & 0xff;
    const hex = b.toString("hex");
    ids.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
  }
  return ids;
}
