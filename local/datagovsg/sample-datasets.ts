import type { LocalDatasetConfig } from './types.js';

export const SAMPLE_DATASETS: LocalDatasetConfig[] = [
  {
    datasetId: 'd_3c55210de27fcccda2ed0c63fdd2b352',
    name: 'Annual Resident Population by Sex',
    columns: [
      { name: 'year', dataType: 'NUMERIC' },
      { name: 'sex', dataType: 'TEXT' },
      { name: 'population', dataType: 'NUMERIC' },
    ],
  },
  {
    datasetId: 'd_8b84c4ee58e3cfc0ece0d773c8ca6abc',
    name: 'Annual Government Operating Expenditure by Ministry',
    columns: [
      { name: 'financial_year', dataType: 'NUMERIC' },
      { name: 'ministry', dataType: 'TEXT' },
      { name: 'expenditure_sgd_million', dataType: 'NUMERIC' },
    ],
  },
  {
    datasetId: 'd_5f2a6e1b9c0d4e7f8a3b2c1d0e9f8a7b',
    name: 'Monthly Service Transactions Completed Online',
    columns: [
      { name: 'month', dataType: 'TEXT' },
      { name: 'service', dataType: 'TEXT' },
      { name: 'transactions', dataType: 'NUMERIC' },
      { name: 'digital_share_pct', dataType: 'NUMERIC' },
    ],
  },
];
