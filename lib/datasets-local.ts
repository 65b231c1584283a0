import aliasFile from '../config/datasets.json' with { type: 'json' };
import localAliasFile from '../config/datasets-local.json' with { type: 'json' };
import { type DatasetDirectory, mergedDatasetDirectory } from './datasets.js';

/**
 * The agency's aliases and the local data.gov.sg stand-in's sample aliases: for the local run, the
 * tests, and the CLI aimed at a stand-in. Never imported by a function, so never deployed.
 */
export const localDatasetDirectory: DatasetDirectory = mergedDatasetDirectory(aliasFile, localAliasFile);
