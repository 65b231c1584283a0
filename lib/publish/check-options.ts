import type { CsvCheckOptions } from '../csv-check/types.js';
import type { DataGovSgClient } from '../datagovsg/client.js';
import type { PublishMode } from '../drop-key.js';

/**
 * The in-flight check's options for a dataset: its columns from the public metadata endpoint,
 * or, when that cannot be read, the reason, which the report gives while the rest is checked.
 */
export async function checkOptionsFor(
  dgs: Pick<DataGovSgClient, 'metadata'>,
  datasetId: string,
  mode: PublishMode,
  maxProblems: number,
  newColumns = false,
): Promise<CsvCheckOptions> {
  try {
    const metadata = await dgs.metadata(datasetId);
    return {
      mode,
      newColumns,
      maxProblems,
      expectedColumns: metadata.columns.map((column) => ({ name: column.name, dataType: column.dataType })),
    };
  } catch (error) {
    return { mode, maxProblems, metadataUnavailable: error instanceof Error ? error.message : String(error) };
  }
}
