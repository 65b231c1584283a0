import { posix } from 'node:path';

/**
 * The relative modules an esbuild ESM bundle imports statically: `import{…}from"./x.mjs"` and
 * `import"./x.mjs"`. A dynamic `import("./x.mjs")` has a parenthesis and is left out: with
 * `splitting`, that is code a cold start does not parse unless it runs.
 */
export function staticImportsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom|\bimport)\s*["'](\.{1,2}\/[^"']+)["']/g)].map(
    (match) => match[1] as string,
  );
}

/** The relative modules an esbuild ESM bundle imports on demand: `import("./x.mjs")`. */
export function dynamicImportsOf(source: string): string[] {
  return [...source.matchAll(/\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)].map(
    (match) => match[1] as string,
  );
}

/**
 * The files a cold start loads: `entry` and, transitively, what it imports statically. Paths are
 * POSIX paths as `read` knows them (a folder on disk or a zip's entries); `read` gives a file's
 * text, or undefined when it is missing, which is returned in `missing`.
 */
export async function staticImportClosure(
  entry: string,
  read: (path: string) => Promise<string | undefined>,
): Promise<{ loaded: Set<string>; missing: string[] }> {
  const loaded = new Set<string>();
  const missing: string[] = [];
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (loaded.has(file) || missing.includes(file)) continue;
    const source = await read(file);
    if (source === undefined) {
      missing.push(file);
      continue;
    }
    loaded.add(file);
    for (const specifier of staticImportsOf(source)) pending.push(posix.join(posix.dirname(file), specifier));
  }
  return { loaded, missing };
}
