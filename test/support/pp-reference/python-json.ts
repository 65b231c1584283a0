/**
 * ORACLE FOR TESTS ONLY: local/performance-platform/python-json.ts as it was at fda60b2, before
 * its fast paths, kept verbatim (but for the import path, this note and the export of its key
 * comparison at the end) so property tests can compare the fast code with it.
 *
 * JSON as backdrop's Python 2.7 saw it: a parser that keeps what JSON.parse loses (ints beyond
 * 2^53 as bigint, integral floats like `1.0` as PythonFloat) and fails with Python 2.7's `json`
 * messages and positions, and a printer in Flask 0.10 `jsonify` style.
 */
import { PythonFloat, pythonRepr } from '../../../lib/performance-platform/records.js';

/** The message is Python 2.7's `json` ValueError text, e.g. "Expecting ',' delimiter: line 1 column 4 (char 3)". */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** Python raised StopIteration where no value starts; the top level turns it into a message. */
class NoValueHere extends Error {}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
/** Python's recursion limit made deeper documents a RuntimeError (a 500); this answers 400. */
const MAX_DEPTH = 900;

/**
 * Parses like Python 2.7 `json.loads` on unicode text (the C scanner). Deviations, each a 400
 * here where Python would have accepted the text or crashed later: NaN, Infinity and numbers
 * that overflow a double are refused, as is nesting deeper than 900 levels.
 */
export function parsePythonJson(text: string): unknown {
  const parser = new Parser(text);
  const start = parser.skipWhitespace(0);
  let value: unknown;
  let end: number;
  try {
    [value, end] = parser.scanOnce(start, 0);
  } catch (error) {
    if (error instanceof NoValueHere) throw new JsonSyntaxError('No JSON object could be decoded');
    throw error;
  }
  end = parser.skipWhitespace(end);
  if (end !== text.length) parser.fail('Extra data', end, text.length);
  return value;
}

class Parser {
  constructor(private readonly text: string) {}

  skipWhitespace(index: number): number {
    let at = index;
    while (at < this.text.length && WHITESPACE.has(this.text.charAt(at))) at += 1;
    return at;
  }

  fail(message: string, position: number, end?: number): never {
    throw new JsonSyntaxError(errorMessage(this.text, message, position, end));
  }

  scanOnce(index: number, depth: number): [unknown, number] {
    const { text } = this;
    if (index >= text.length) throw new NoValueHere();
    const char = text.charAt(index);
    if (char === '"') return this.scanString(index + 1);
    if (char === '{') return this.parseObject(index + 1, depth + 1);
    if (char === '[') return this.parseArray(index + 1, depth + 1);
    for (const [word, value] of [
      ['null', null],
      ['true', true],
      ['false', false],
    ] as const) {
      if (text.startsWith(word, index)) return [value, index + word.length];
    }
    for (const word of ['NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(word, index)) this.fail(`${word} is not a JSON number`, index);
    }
    return this.matchNumber(index);
  }

  private enter(depth: number, what: string, index: number): void {
    if (depth > MAX_DEPTH) this.fail(`maximum recursion depth exceeded while decoding a JSON ${what}`, index);
  }

  private parseObject(start: number, depth: number): [Record<string, unknown>, number] {
    this.enter(depth, 'object', start - 1);
    const { text } = this;
    const last = text.length - 1;
    const entries: Array<[string, unknown]> = [];
    let index = this.skipWhitespace(start);
    if (index <= last && text.charAt(index) !== '}') {
      while (index <= last) {
        if (text.charAt(index) !== '"') this.fail('Expecting property name enclosed in double quotes', index);
        const [key, afterKey] = this.scanString(index + 1);
        index = this.skipWhitespace(afterKey);
        if (index > last || text.charAt(index) !== ':') this.fail("Expecting ':' delimiter", index);
        index = this.skipWhitespace(index + 1);
        const [value, afterValue] = this.scanOnce(index, depth);
        entries.push([key, value]);
        index = this.skipWhitespace(afterValue);
        if (index <= last && text.charAt(index) === '}') break;
        if (index > last || text.charAt(index) !== ',') this.fail("Expecting ',' delimiter", index);
        index = this.skipWhitespace(index + 1);
      }
    }
    if (index > last || text.charAt(index) !== '}') this.fail('Expecting object', last);
    // fromEntries defines own properties, so a "__proto__" key stays data (it fails validation later).
    return [Object.fromEntries(entries), index + 1];
  }

  private parseArray(start: number, depth: number): [unknown[], number] {
    this.enter(depth, 'array', start - 1);
    const { text } = this;
    const last = text.length - 1;
    const items: unknown[] = [];
    let index = this.skipWhitespace(start);
    if (index <= last && text.charAt(index) !== ']') {
      while (index <= last) {
        const [value, afterValue] = this.scanOnce(index, depth);
        items.push(value);
        index = this.skipWhitespace(afterValue);
        if (index <= last && text.charAt(index) === ']') break;
        if (index > last || text.charAt(index) !== ',') this.fail("Expecting ',' delimiter", index);
        index = this.skipWhitespace(index + 1);
      }
    }
    if (index > last || text.charAt(index) !== ']') this.fail('Expecting object', last);
    return [items, index + 1];
  }

  private matchNumber(start: number): [unknown, number] {
    const { text } = this;
    const last = text.length - 1;
    const isDigit = (at: number): boolean =>
      at <= last && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57;
    let index = start;
    if (text.charAt(index) === '-') {
      index += 1;
      if (index > last) throw new NoValueHere();
    }
    const first = text.charAt(index);
    if (first >= '1' && first <= '9') {
      index += 1;
      while (isDigit(index)) index += 1;
    } else if (first === '0') {
      index += 1;
    } else {
      throw new NoValueHere();
    }
    let isFloat = false;
    if (index < last && text.charAt(index) === '.' && isDigit(index + 1)) {
      isFloat = true;
      index += 2;
      while (isDigit(index)) index += 1;
    }
    if (index < last && (text.charAt(index) === 'e' || text.charAt(index) === 'E')) {
      const exponentStart = index;
      index += 1;
      if (index < last && (text.charAt(index) === '-' || text.charAt(index) === '+')) index += 1;
      while (isDigit(index)) index += 1;
      if (isDigit(index - 1)) isFloat = true;
      else index = exponentStart;
    }
    const literal = text.slice(start, index);
    return [isFloat ? this.floatValue(literal, start) : intValue(literal), index];
  }

  private floatValue(literal: string, start: number): number | PythonFloat {
    const value = Number(literal);
    if (!Number.isFinite(value)) this.fail('Number out of range', start);
    return Number.isInteger(value) ? new PythonFloat(value) : value;
  }

  /** `begin` is just past the opening quote. */
  scanString(begin: number): [string, number] {
    const { text } = this;
    const length = text.length;
    let out = '';
    let end = begin;
    for (;;) {
      let next = end;
      let char = '';
      for (; next < length; next += 1) {
        char = text.charAt(next);
        if (char === '"' || char === '\\') break;
        if (text.charCodeAt(next) <= 0x1f) this.fail('Invalid control character at', next);
      }
      if (next >= length) this.fail('Unterminated string starting at', begin - 1);
      out += text.slice(end, next);
      next += 1;
      if (char === '"') return [out, next];
      if (next === length) this.fail('Unterminated string starting at', begin - 1);
      const escapeChar = text.charAt(next);
      if (escapeChar !== 'u') {
        const simple = SIMPLE_ESCAPES[escapeChar];
        if (simple === undefined) this.fail('Invalid \\escape', next - 1);
        out += simple;
        end = next + 1;
        continue;
      }
      next += 1;
      end = next + 4;
      if (end >= length) this.fail('Invalid \\uXXXX escape', next - 1);
      const hex = text.slice(next, end);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Invalid \\uXXXX escape', end - 5);
      // Lone surrogates are kept, as Python 2.7 kept them; pairs combine by themselves in UTF-16.
      out += String.fromCharCode(Number.parseInt(hex, 16));
    }
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function intValue(literal: string): number | bigint {
  const big = BigInt(literal);
  if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
  return big;
}

/** Python's `errmsg`: positions count code points (a wide build), lines and columns from 1. */
function errorMessage(text: string, message: string, position: number, end?: number): string {
  const [line, column, char] = lineColumn(text, position);
  if (end === undefined) return `${message}: line ${line} column ${column} (char ${char})`;
  const [endLine, endColumn, endChar] = lineColumn(text, end);
  return `${message}: line ${line} column ${column} - line ${endLine} column ${endColumn} (char ${char} - ${endChar})`;
}

function lineColumn(text: string, position: number): [number, number, number] {
  const before = [...text.slice(0, position)];
  const char = before.length;
  const lastNewline = before.lastIndexOf('\n');
  const line = before.filter((c) => c === '\n').length + 1;
  return [line, line === 1 ? char + 1 : char - lastNewline, char];
}

/**
 * Flask 0.10 `jsonify` on Python 2.7: indent 2, keys sorted, ASCII only, and Python 2's item
 * separator ", " left at the end of each line. Floats print as Python repr, so `1.0` stays 1.0.
 */
export function flaskJson(value: unknown): string {
  return encode(value, '');
}

function encode(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return quoteAscii(value);
  if (typeof value === 'bigint') return String(value);
  if (value instanceof PythonFloat) return pythonRepr(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'null';
    return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : pythonRepr(value);
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + encode(item, inner)).join(', \n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    compareCodePoints(a, b),
  );
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, item]) => `${inner}${quoteAscii(key)}: ${encode(item, inner)}`).join(', \n')}\n${indent}}`;
}

function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const diff = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** Python's `encode_basestring_ascii`: everything outside space..tilde as \uXXXX (lower-case hex). */
function quoteAscii(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charAt(i);
    const code = text.charCodeAt(i);
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) out += short;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** For the tests: the key order the printer used. */
export { compareCodePoints as compareCodePointsOf };
