import { readFile } from 'node:fs/promises';
import type { ExpectedColumn } from '../csv-check/types.js';
import { metadataFromPayload, unwrapEnvelope } from '../datagovsg/client.js';
import { CliError, EXIT } from './exit.js';

/** A column named in a simple list: its type unknown, so only the header is compared. */
const UNTYPED = 'UNKNOWN';

/**
 * The dataset's columns from a local file, for checking offline: a saved answer of the public
 * metadata endpoint (`/v2/public/api/datasets/<id>/metadata`, with or without its `{code, data}`
 * envelope), a JSON array of names or of `{name, dataType}`, or names separated by commas or
 * lines. Only the metadata's types say which columns are NUMERIC.
 */
export async function readColumnsFile(path: string, datasetId: string): Promise<ExpectedColumn[]> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(EXIT.usage, `Cannot read the columns file ${path} (${code}).`, { cause: error });
  }
  const columns =
    text.startsWith('{') || text.startsWith('[') ? fromJson(path, text, datasetId) : fromList(text);
  if (columns.length === 0) throw new CliError(EXIT.usage, `The columns file ${path} names no column.`);
  return columns;
}

function fromJson(path: string, text: string, datasetId: string): ExpectedColumn[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(EXIT.usage, `The columns file ${path} starts like JSON but is not valid JSON.`, {
      cause: error,
    });
  }
  if (Array.isArray(json)) {
    return json.map((entry, index) => {
      if (typeof entry === 'string') return { name: entry, dataType: UNTYPED };
      if (typeof entry === 'object' && entry !== null && typeof entry.name === 'string') {
        return { name: entry.name, dataType: String(entry.dataType ?? UNTYPED).toUpperCase() };
      }
      throw new CliError(
        EXIT.usage,
        `The columns file ${path}: entry ${index + 1} is neither a name nor {"name": …, "dataType": …}.`,
      );
    });
  }
  try {
    return metadataFromPayload(datasetId, unwrapEnvelope('metadata', json)).columns.map((column) => ({
      name: column.name,
      dataType: column.dataType,
    }));
  } catch (error) {
    throw new CliError(
      EXIT.usage,
      `The columns file ${path} is not what the metadata endpoint answers (no columnMetadata), nor a list of columns.`,
      { cause: error },
    );
  }
}

function fromList(text: string): ExpectedColumn[] {
  return text
    .split(/[,\r\n]+/)
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => ({ name, dataType: UNTYPED }));
}
