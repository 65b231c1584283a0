import { open } from 'node:fs/promises';

/** A dataset column as data.gov.sg describes it (name and type). */
export interface Column {
  name: string;
  dataType: string;
}

const WORDS = ['female', 'male', 'total', 'residents', 'citizens', 'permanent residents'];
/** Rows are generated until this many bytes are left, then one padded row ends the file exactly. */
const TAIL_BYTES = 100;
/** Rows are written in blocks of about this size. */
const BLOCK_BYTES = 1024 * 1024;

function value(column: Column, row: number, index: number): string {
  if (column.dataType.toUpperCase() === 'NUMERIC') {
    return String((row * 7919 + index * 104_729) % 10_000_000);
  }
  return WORDS[(row + index) % WORDS.length] as string;
}

function rowOf(columns: readonly Column[], row: number): string {
  return `${columns.map((column, index) => value(column, row, index)).join(',')}\n`;
}

/**
 * The last row, padded to exactly `bytes` (newline included): a NUMERIC value gets leading zeros
 * (still a number), otherwise a text value gets trailing letters.
 */
function paddedRow(columns: readonly Column[], row: number, bytes: number): string {
  const values = columns.map((column, index) => value(column, row, index));
  const base = `${values.join(',')}\n`.length;
  const padding = bytes - base;
  if (padding < 0) throw new Error(`cannot end the file in ${bytes} bytes`);
  const numeric = columns.findIndex((column) => column.dataType.toUpperCase() === 'NUMERIC');
  const at = numeric === -1 ? 0 : numeric;
  values[at] = numeric === -1 ? `${values[at]}${'x'.repeat(padding)}` : `${'0'.repeat(padding)}${values[at]}`;
  return `${values.join(',')}\n`;
}

/**
 * Writes a valid CSV of exactly `bytes` bytes for the given columns: the header row, then data
 * rows whose NUMERIC values are numbers, so the in-flight check passes it for `append`. Returns
 * the number of data rows.
 */
export async function writeCsv(path: string, bytes: number, columns: readonly Column[]): Promise<number> {
  const header = `${columns.map((column) => column.name).join(',')}\n`;
  if (bytes < header.length + TAIL_BYTES * 2) throw new Error(`a CSV of ${bytes} bytes is too small`);
  const file = await open(path, 'w');
  try {
    await file.write(header);
    let remaining = bytes - header.length;
    let row = 0;
    while (remaining > TAIL_BYTES) {
      let block = '';
      while (block.length < BLOCK_BYTES) {
        const next = rowOf(columns, row);
        if (remaining - block.length - next.length <= TAIL_BYTES) break;
        block += next;
        row += 1;
      }
      if (block === '') break;
      await file.write(block);
      remaining -= block.length;
    }
    await file.write(paddedRow(columns, row, remaining));
    return row + 1;
  } finally {
    await file.close();
  }
}
