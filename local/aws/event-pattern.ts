/**
 * EventBridge event patterns, as the local bus matches them against the envelope a rule sees
 * (`source`, `detail-type`, `account`, `detail`, …). Supported: exact values (strings, numbers,
 * booleans, null), and the content filters `prefix`, `suffix`, `anything-but` (values or a prefix),
 * `exists`, `numeric` and `equals-ignore-case`. Any other filter is refused when the rule is read,
 * so that a pattern the local run cannot honour fails loudly rather than matching wrongly.
 */

export class UnsupportedPatternError extends Error {
  override name = 'UnsupportedPatternError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Throws UnsupportedPatternError for what matches() cannot honour. */
export function checkPattern(pattern: unknown, path = ''): void {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new UnsupportedPatternError(`the pattern${path ? ` at ${path}` : ''} must be an object`);
  }
  for (const [key, value] of Object.entries(pattern)) {
    const where = path ? `${path}.${key}` : key;
    if (Array.isArray(value)) {
      for (const condition of value) checkCondition(condition, where);
    } else {
      checkPattern(value, where);
    }
  }
}

const FILTERS = new Set(['prefix', 'suffix', 'anything-but', 'exists', 'numeric', 'equals-ignore-case']);

function checkCondition(condition: unknown, where: string): void {
  if (typeof condition !== 'object' || condition === null) return;
  const refuse = (): never => {
    throw new UnsupportedPatternError(
      `${where}: the filter ${JSON.stringify(condition)} is not supported locally`,
    );
  };
  const [filter, ...more] = Object.keys(condition);
  if (more.length > 0 || !filter || !FILTERS.has(filter)) refuse();
  const argument = (condition as Record<string, unknown>)[filter ?? ''];
  // anything-but takes values or a prefix; its other forms (suffix, wildcard, …) are not matched here.
  const isObject = typeof argument === 'object' && argument !== null && !Array.isArray(argument);
  if (filter === 'anything-but' && isObject && Object.keys(argument).join() !== 'prefix') refuse();
  if (Array.isArray(argument) && argument.length === 0) refuse();
}

/** Whether an event (the envelope, `detail` parsed) matches the pattern. */
export function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key] as Json | undefined;
    if (Array.isArray(expected)) return matchesField(expected, actual);
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    return matches(expected as Record<string, unknown>, actual as Record<string, unknown>);
  });
}

function matchesField(conditions: unknown[], actual: Json | undefined): boolean {
  const existence = conditions.find(
    (condition) => typeof condition === 'object' && condition !== null && 'exists' in condition,
  ) as { exists: boolean } | undefined;
  if (existence) return existence.exists === (actual !== undefined);
  if (actual === undefined) return false;
  // An array in the event matches when any of its values does.
  const values = Array.isArray(actual) ? actual : [actual];
  return values.some((value) => conditions.some((condition) => matchesValue(condition, value)));
}

function matchesValue(condition: unknown, value: Json): boolean {
  if (typeof condition !== 'object' || condition === null) return condition === value;
  const [[filter, argument]] = Object.entries(condition) as [[string, unknown]];
  switch (filter) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(String(argument));
    case 'suffix':
      return typeof value === 'string' && value.endsWith(String(argument));
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(argument).toLowerCase();
    case 'anything-but': {
      if (typeof argument === 'object' && argument !== null && !Array.isArray(argument)) {
        const { prefix } = argument as { prefix?: string };
        return !(typeof value === 'string' && prefix !== undefined && value.startsWith(prefix));
      }
      const excluded = Array.isArray(argument) ? argument : [argument];
      return !excluded.includes(value);
    }
    case 'numeric':
      return typeof value === 'number' && numericHolds(argument as unknown[], value);
    default:
      return false;
  }
}

function numericHolds(comparisons: unknown[], value: number): boolean {
  for (let index = 0; index + 1 < comparisons.length; index += 2) {
    const bound = Number(comparisons[index + 1]);
    const holds = {
      '=': value === bound,
      '<': value < bound,
      '<=': value <= bound,
      '>': value > bound,
      '>=': value >= bound,
    }[String(comparisons[index]) as '=' | '<' | '<=' | '>' | '>='];
    if (!holds) return false;
  }
  return true;
}
