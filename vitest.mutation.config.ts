import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests StrykerJS runs against each mutant (npm run mutation): the unit tests and the
 * publish end-to-end tests, which hold the rules of the mutated modules. The fault schedules and
 * the slow suites (packaging, memory, the CLI in child processes) are left to npm test.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/unit/**/*.test.ts',
      'test/e2e/publish-*.test.ts',
      'test/e2e/exactly-once.test.ts',
      'test/e2e/csv-check.test.ts',
    ],
  },
});
