import { isUtf8 } from 'node:buffer';

/**
 * Validates UTF-8 across chunk boundaries without decoding: a multi-byte character split
 * between two chunks is carried over to the next one.
 */
export class Utf8Validator {
  #carry: Buffer = Buffer.alloc(0);

  /** False once an invalid sequence was seen in the bytes given so far. */
  push(chunk: Buffer): boolean {
    const bytes = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const cut = completeLength(bytes);
    this.#carry = Buffer.from(bytes.subarray(cut));
    return isUtf8(bytes.subarray(0, cut));
  }

  /** False when the input ended inside a multi-byte character. */
  end(): boolean {
    return this.#carry.length === 0;
  }
}

/** The length of the prefix that ends on a character boundary (at most 3 bytes are held back). */
function completeLength(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
