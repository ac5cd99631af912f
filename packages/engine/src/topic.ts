/**
 * Topic name and topic filter rules (MQTT 5.0 section 4.7, 3.1.1 section 4.7).
 * Validation runs once per PUBLISH/SUBSCRIBE on the hot path, so it scans the
 * string by char code instead of using regular expressions.
 */

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
/**
 * The codec decodes strings with Buffer#toString, which turns ill-formed UTF-8
 * into U+FFFD. Treating U+FFFD as ill-formed is how the engine rejects bad
 * UTF-8 [MQTT-1.5.4-1] without re-reading raw bytes; the cost is that a topic
 * containing a genuine U+FFFD is refused too.
 */
const REPLACEMENT = 0xfffd;

/** Longest UTF-8 string MQTT can encode [MQTT-1.5.4-1]; checked on bytes by the codec. */
export const MAX_TOPIC_BYTES = 65535;

/**
 * A topic name has at least one character [MQTT-4.7.3-1], contains no wildcards
 * [MQTT-3.3.2-2] and no U+0000 [MQTT-4.7.3-2].
 */
export function isValidTopicName(topic: string): boolean {
  const n = topic.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH || c === 0 || c === REPLACEMENT) return false;
    // Lone surrogates cannot be encoded as well-formed UTF-8 [MQTT-1.5.4-1].
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = topic.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/**
 * A filter is non-empty [MQTT-4.7.3-1]; `#` stands alone as the last level
 * [MQTT-4.7.1-2]; `+` occupies a whole level [MQTT-4.7.1-3].
 */
export function isValidTopicFilter(filter: string): boolean {
  const n = filter.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0 || c === REPLACEMENT) return false;
    if (c === PLUS || c === HASH) {
      const prevOk = i === 0 || filter.charCodeAt(i - 1) === SLASH;
      const nextOk = i === n - 1 || filter.charCodeAt(i + 1) === SLASH;
      if (!prevOk || !nextOk) return false;
      if (c === HASH && i !== n - 1) return false;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = filter.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

export function hasWildcard(filter: string): boolean {
  return filter.includes("+") || filter.includes("#");
}

export interface SharedFilter {
  group: string;
  filter: string;
}

const SHARE_PREFIX = "$share/";

/**
 * Splits `$share/<group>/<filter>` [MQTT-4.8.2-1]. Returns null for a
 * non-shared filter and "invalid" when the share name is empty or holds a
 * wildcard [MQTT-4.8.2-2], or the inner filter is missing.
 */
export function parseSharedFilter(filter: string): SharedFilter | null | "invalid" {
  if (!filter.startsWith(SHARE_PREFIX)) return null;
  const slash = filter.indexOf("/", SHARE_PREFIX.length);
  if (slash < 0) return "invalid";
  const group = filter.slice(SHARE_PREFIX.length, slash);
  const inner = filter.slice(slash + 1);
  if (group.length === 0 || group.includes("+") || group.includes("#")) return "invalid";
  if (!isValidTopicFilter(inner)) return "invalid";
  return { group, filter: inner };
}
