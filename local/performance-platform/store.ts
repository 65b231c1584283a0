import { ClassicLevel } from 'classic-level';

/**
 * The stored records, in LevelDB: one key per record, `<group>/<type>\u0000<_id>`, so a data
 * set is one key range and a repeated `_id` overwrites (backdrop's upsert). Values are the
 * records' JSON text as written by our Python-style printer, so `1.0` stays a float.
 */
export class RecordStore {
  private constructor(private readonly db: ClassicLevel<string, string>) {}

  static async open(directory: string): Promise<RecordStore> {
    const db = new ClassicLevel<string, string>(directory, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    return new RecordStore(db);
  }

  /** Writes in order in one batch, so the last occurrence of an `_id` in a batch wins. */
  async put(dataSet: string, records: ReadonlyArray<{ id: string; json: string }>): Promise<void> {
    await this.db.batch(
      records.map(({ id, json }) => ({ type: 'put' as const, key: keyOf(dataSet, id), value: json })),
    );
  }

  async values(dataSet: string): Promise<string[]> {
    return this.db.values(rangeOf(dataSet)).all();
  }

  async clear(dataSet: string): Promise<void> {
    await this.db.clear(rangeOf(dataSet));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** `<group>/<type>`: group and type cannot contain "/" (stagecraft names). */
export function dataSetKey(dataGroup: string, dataType: string): string {
  return `${dataGroup}/${dataType}`;
}

function keyOf(dataSet: string, id: string): string {
  return `${dataSet}\u0000${id}`;
}

function rangeOf(dataSet: string): { gte: string; lt: string } {
  return { gte: `${dataSet}\u0000`, lt: `${dataSet}\u0001` };
}
