import { createHash } from 'node:crypto';

/**
 * A deterministic `_id` for a record: base64url (no padding) of SHA-256 over
 * `"<dataGroup>/<dataType>\n"` followed by the canonical JSON of the record without its `_id`
 * (object keys sorted at every depth, numbers as `JSON.stringify` prints them).
 *
 * - The same record content gives the same id, so a retried or re-run forward replaces the
 *   records it stored before instead of adding duplicates (backdrop upserts on `_id`, §3.3.4).
 * - The data group and type are part of the hash, so the same content in two data sets gets
 *   two ids.
 * - Two identical records in one batch get one id and collapse into one stored record: they
 *   cannot be told apart. A caller whose identical rows are meaningful (e.g. one row per
 *   event) must add a distinguishing field, or switch ids off (`generateIds: false`) and accept
 *   that retries may then store duplicates.
 *
 * Throws for values JSON cannot encode (BigInt, cycles); validated records never hold them.
 */
export function deterministicId(
  dataGroup: string,
  dataType: string,
  record: Record<string, unknown>,
): string {
  const { _id: _ignored, ...content } = record;
  return createHash('sha256')
    .update(`${dataGroup}/${dataType}\n`)
    .update(canonicalJson(content))
    .digest('base64url');
}

/**
 * The records with an `_id` added where they have none (see `deterministicId`). A record that
 * already has an `_id` key keeps it untouched; the input array and records are not modified.
 */
export function withIds(
  records: readonly Record<string, unknown>[],
  dataGroup: string,
  dataType: string,
): Record<string, unknown>[] {
  return records.map((record) => withId(record, dataGroup, dataType));
}

/** One record with its `_id` (existing or deterministic); the input is not modified. */
export function withId(
  record: Record<string, unknown>,
  dataGroup: string,
  dataType: string,
): Record<string, unknown> {
  if (Object.hasOwn(record, '_id')) return record;
  return { _id: deterministicId(dataGroup, dataType, record), ...record };
}

/** JSON with object keys sorted recursively; `undefined` members are dropped as JSON does. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      return canonicalJson((value as { toJSON: () => unknown }).toJSON());
    }
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    // Fast path for flat records (what backdrop accepts): a key list sorts JSON.stringify's output.
    if (keys.every((key) => !isNested(object[key]))) return JSON.stringify(object, keys);
    const members = keys.flatMap((key) => {
      const member = object[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') return [];
      return [`${JSON.stringify(key)}:${canonicalJson(member)}`];
    });
    return `{${members.join(',')}}`;
  }
  const encoded = JSON.stringify(value);
  if (encoded === undefined) throw new TypeError(`cannot encode a ${typeof value} as JSON`);
  return encoded;
}

function isNested(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
