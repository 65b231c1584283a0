/**
 * JSON as backdrop's Python 2.7 saw it: a parser that keeps what JSON.parse loses (ints beyond
 * 2^53 as bigint, integral floats like `1.0` as PythonFloat) and fails with Python 2.7's `json`
 * messages and positions, and a printer in Flask 0.10 `jsonify` style.
 */
import { PythonFloat, pythonRepr } from '../../lib/performance-platform/records.js';

/** The message is Python 2.7's `json` ValueError text, e.g. "Expecting ',' delimiter: line 1 column 4 (char 3)". */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** Python raised StopIteration where no value starts; the top level turns it into a message. */
class NoValueHere extends Error {}

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
  try {
    value = parser.scanOnce(start, 0);
  } catch (error) {
    if (error instanceof NoValueHere) throw new JsonSyntaxError('No JSON object could be decoded');
    throw error;
  }
  const end = parser.skipWhitespace(parser.end);
  if (end !== text.length) parser.fail('Extra data', end, text.length);
  return value;
}

// Character codes the scanner looks for.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** `charCodeAt` is NaN past the end, which is no digit. */
function isDigitAt(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  return code >= 0x30 && code <= 0x39;
}

/**
 * Each scan returns its value and leaves in `end` the index just past it (no [value, end]
 * pair per value: this parser reads every record the stand-in receives).
 */
class Parser {
  end = 0;

  constructor(private readonly text: string) {}

  /** Python's whitespace for JSON: space, tab, line feed and carriage return. */
  skipWhitespace(index: number): number {
    const { text } = this;
    let at = index;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) break;
      at += 1;
    }
    return at;
  }

  fail(message: string, position: number, end?: number): never {
    throw new JsonSyntaxError(errorMessage(this.text, message, position, end));
  }

  scanOnce(index: number, depth: number): unknown {
    const { text } = this;
    if (index >= text.length) throw new NoValueHere();
    const code = text.charCodeAt(index);
    if (code === QUOTE) return this.scanString(index + 1);
    if (code === OPEN_BRACE) return this.parseObject(index + 1, depth + 1);
    if (code === OPEN_BRACKET) return this.parseArray(index + 1, depth + 1);
    // The words start with different letters, so at most one can match.
    if (text.startsWith('null', index)) return this.word(null, index + 4);
    if (text.startsWith('true', index)) return this.word(true, index + 4);
    if (text.startsWith('false', index)) return this.word(false, index + 5);
    for (const word of NOT_NUMBERS) {
      if (text.startsWith(word, index)) this.fail(`${word} is not a JSON number`, index);
    }
    return this.matchNumber(index);
  }

  private word<T>(value: T, end: number): T {
    this.end = end;
    return value;
  }

  private enter(depth: number, what: string, index: number): void {
    if (depth > MAX_DEPTH) this.fail(`maximum recursion depth exceeded while decoding a JSON ${what}`, index);
  }

  private parseObject(start: number, depth: number): Record<string, unknown> {
    this.enter(depth, 'object', start - 1);
    const { text } = this;
    const last = text.length - 1;
    const object: Record<string, unknown> = {};
    let index = this.skipWhitespace(start);
    if (index <= last && text.charCodeAt(index) !== CLOSE_BRACE) {
      while (index <= last) {
        if (text.charCodeAt(index) !== QUOTE)
          this.fail('Expecting property name enclosed in double quotes', index);
        const key = this.scanString(index + 1);
        index = this.skipWhitespace(this.end);
        if (index > last || text.charCodeAt(index) !== COLON) this.fail("Expecting ':' delimiter", index);
        index = this.skipWhitespace(index + 1);
        setOwn(object, key, this.scanOnce(index, depth));
        index = this.skipWhitespace(this.end);
        if (index <= last && text.charCodeAt(index) === CLOSE_BRACE) break;
        if (index > last || text.charCodeAt(index) !== COMMA) this.fail("Expecting ',' delimiter", index);
        index = this.skipWhitespace(index + 1);
      }
    }
    if (index > last || text.charCodeAt(index) !== CLOSE_BRACE) this.fail('Expecting object', last);
    this.end = index + 1;
    return object;
  }

  private parseArray(start: number, depth: number): unknown[] {
    this.enter(depth, 'array', start - 1);
    const { text } = this;
    const last = text.length - 1;
    const items: unknown[] = [];
    let index = this.skipWhitespace(start);
    if (index <= last && text.charCodeAt(index) !== CLOSE_BRACKET) {
      while (index <= last) {
        items.push(this.scanOnce(index, depth));
        index = this.skipWhitespace(this.end);
        if (index <= last && text.charCodeAt(index) === CLOSE_BRACKET) break;
        if (index > last || text.charCodeAt(index) !== COMMA) this.fail("Expecting ',' delimiter", index);
        index = this.skipWhitespace(index + 1);
      }
    }
    if (index > last || text.charCodeAt(index) !== CLOSE_BRACKET) this.fail('Expecting object', last);
    this.end = index + 1;
    return items;
  }

  private matchNumber(start: number): unknown {
    const { text } = this;
    const last = text.length - 1;
    let index = start;
    if (text.charCodeAt(index) === MINUS) {
      index += 1;
      if (index > last) throw new NoValueHere();
    }
    const first = text.charCodeAt(index);
    if (first >= 0x31 && first <= 0x39) {
      index += 1;
      while (isDigitAt(text, index)) index += 1;
    } else if (first === 0x30) {
      index += 1;
    } else {
      throw new NoValueHere();
    }
    let isFloat = false;
    if (index < last && text.charCodeAt(index) === 0x2e && isDigitAt(text, index + 1)) {
      isFloat = true;
      index += 2;
      while (isDigitAt(text, index)) index += 1;
    }
    if (index < last && (text.charCodeAt(index) === 0x65 || text.charCodeAt(index) === 0x45)) {
      const exponentStart = index;
      index += 1;
      if (index < last && (text.charCodeAt(index) === MINUS || text.charCodeAt(index) === 0x2b)) index += 1;
      while (isDigitAt(text, index)) index += 1;
      if (isDigitAt(text, index - 1)) isFloat = true;
      else index = exponentStart;
    }
    const literal = text.slice(start, index);
    this.end = index;
    return isFloat ? this.floatValue(literal, start) : intValue(literal);
  }

  private floatValue(literal: string, start: number): number | PythonFloat {
    const value = Number(literal);
    if (!Number.isFinite(value)) this.fail('Number out of range', start);
    return Number.isInteger(value) ? new PythonFloat(value) : value;
  }

  /** `begin` is just past the opening quote. */
  scanString(begin: number): string {
    const { text } = this;
    const length = text.length;
    let out = '';
    let end = begin;
    for (;;) {
      let next = end;
      let code = 0;
      for (; next < length; next += 1) {
        code = text.charCodeAt(next);
        if (code === QUOTE || code === BACKSLASH) break;
        if (code <= 0x1f) this.fail('Invalid control character at', next);
      }
      if (next >= length) this.fail('Unterminated string starting at', begin - 1);
      out += text.slice(end, next);
      next += 1;
      if (code === QUOTE) {
        this.end = next;
        return out;
      }
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
      if (!HEX4.test(hex)) this.fail('Invalid \\uXXXX escape', end - 5);
      // Lone surrogates are kept, as Python 2.7 kept them; pairs combine by themselves in UTF-16.
      out += String.fromCharCode(Number.parseInt(hex, 16));
    }
  }
}

const NOT_NUMBERS = ['NaN', 'Infinity', '-Infinity'] as const;

/**
 * An own data property even for "__proto__" (assigning that one would set the prototype), as
 * Object.fromEntries made it: such a key then fails validation like any other bad key.
 */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
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

/** Up to 15 characters (sign included) is exact as a double and safe: no bigint needed. */
const SHORT_INT_LENGTH = 15;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function intValue(literal: string): number | bigint {
  if (literal.length <= SHORT_INT_LENGTH) {
    const value = Number(literal);
    // "-0" is the int 0 (BigInt has no negative zero).
    return value === 0 ? 0 : value;
  }
  const big = BigInt(literal);
  if (big >= MIN_SAFE && big <= MAX_SAFE) return Number(big);
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
  switch (typeof value) {
    case 'string':
      return quoteAscii(value);
    case 'number':
      if (!Number.isFinite(value)) return 'null';
      return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : pythonRepr(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'null';
  }
  if (value === null) return 'null';
  if (value instanceof PythonFloat) return pythonRepr(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[\n';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) out += ', \n';
      // A hole printed as nothing at all, as map() and join() left it.
      if (i in value) out += inner + encode(value[i], inner);
    }
    return `${out}\n${indent}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = sortedKeys(object);
  if (keys.length === 0) return '{}';
  let out = '{\n';
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i] as string;
    if (i > 0) out += ', \n';
    out += `${inner}${quoteAscii(key)}: ${encode(object[key], inner)}`;
  }
  return `${out}\n${indent}}`;
}

/**
 * Own enumerable keys in code point order, as Python sorted unicode keys. Without surrogates
 * UTF-16 order (the default sort) is code point order; with them, the general comparison.
 */
export function sortedKeys(object: object): string[] {
  const keys = Object.keys(object);
  return keys.some(hasSurrogate) ? keys.sort(compareCodePoints) : keys.sort();
}

function hasSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) return true;
  }
  return false;
}

/** Code point order (a lone surrogate counts as its own value). */
export function compareCodePoints(a: string, b: string): number {
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

/**
 * Python's `encode_basestring_ascii`. Text of printable ASCII other than `"` and `\` (nearly
 * every key and value) is only quoted; anything else goes the general way.
 */
export function quoteAscii(text: string): string {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return quoteAsciiGeneral(text);
  }
  return `"${text}"`;
}

/** `encode_basestring_ascii` for any text: everything outside space..tilde as \uXXXX (lower-case hex). */
export function quoteAsciiGeneral(text: string): string {
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
