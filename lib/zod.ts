/**
 * zod for every schema of govpub: `zod/mini`, the same package's tree-shakable functional API
 * (`z.optional(s)`, `s.check(z.minLength(1))`, …). Classic zod (`import { z } from 'zod'`) cannot
 * be tree-shaken: it was 444 KiB of each handler bundle and about 45 ms of each cold start.
 *
 * zod/mini loads no locale, so every issue would read "Invalid input": the English one is loaded
 * here, once, before any schema module (they all import z from this module) builds a schema.
 * Imported by name from `zod/locales`: through `z.locales` every locale would be bundled.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';
import { _parse, $constructor, $ZodError, type $ZodType, type output } from 'zod/v4/core';

config(en());

export * from 'zod/mini';

/**
 * The error `z.parse` throws, named `ZodError` as classic zod's is (zod/mini's own is `$ZodError`):
 * a Lambda reports the name as its errorType, which Step Functions records as the task's Error.
 */
export const ZodError: $constructor<$ZodError> = $constructor(
  'ZodError',
  (inst, issues) => {
    $ZodError.init(inst, issues);
    inst.name = 'ZodError';
  },
  undefined,
  { Parent: Error },
);

/**
 * `z.parse(schema, data)`: the parsed data, or a thrown {@link ZodError}, as classic zod's
 * `schema.parse(data)`. (It replaces zod/mini's `parse`; a mini schema's own `.parse` method
 * throws a `$ZodError`.)
 */
export const parse: <T extends $ZodType>(schema: T, data: unknown) => output<T> = _parse(ZodError);
