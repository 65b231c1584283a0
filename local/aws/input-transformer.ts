import type { InputTransformer } from '../wiring.js';

/**
 * A rule target's input transformer: each `<name>` of the template is replaced by the value the
 * InputPathsMap path picks from the event. Inside the quoted string templates govpub uses, a
 * string value is inserted JSON-escaped (so a quote in a file name cannot break the message); a
 * path that picks nothing inserts nothing (the local run's reading of EventBridge's behaviour).
 */
export function transformInput(transformer: InputTransformer, event: Record<string, unknown>): string {
  const values = Object.fromEntries(
    Object.entries(transformer.InputPathsMap ?? {}).map(([name, path]) => [name, pick(event, path)]),
  );
  return transformer.InputTemplate.replace(/<([\w.-]+)>/g, (whole, name: string) => {
    if (name === 'aws.events.event.json') return JSON.stringify(event);
    if (!(name in values)) return whole;
    const value = values[name];
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
  });
}

/** `$.detail.error.code` -> event.detail.error.code, `$.detail.errors[0].message` into an array; `$.detail-type` is a plain key. */
function pick(event: Record<string, unknown>, path: string): unknown {
  if (path === '$') return event;
  if (!path.startsWith('$.')) return undefined;
  let current: unknown = event;
  for (const step of path.slice(2).split('.')) {
    // `errors[0]`: a key, then an index into the array it holds.
    const [, key = step, index] = /^(.*?)(?:\[(\d+)\])?$/.exec(step) ?? [];
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
    if (index !== undefined) current = Array.isArray(current) ? current[Number(index)] : undefined;
  }
  return current;
}
