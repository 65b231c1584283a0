/** Small numeric helpers for the benchmark: medians and unit conversions. */

export const MIB = 1024 * 1024;
/** Decimal megabyte, the unit of the memory targets (stricter than MiB). */
export const MB = 1_000_000;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Orders in which `n` paths run in repetition `rep`: a cyclic Latin square (each path takes each
 * position once every `n` repetitions), reversed on the second pass, so no path always runs first
 * or always runs after the same neighbour.
 */
export function rotation<T>(paths: readonly T[], rep: number): T[] {
  const n = paths.length;
  const shift = rep % n;
  const rotated = [...paths.slice(shift), ...paths.slice(0, shift)];
  return Math.floor(rep / n) % 2 === 1 ? rotated.reverse() : rotated;
}

/**
 * The median over repetitions of `ours ÷ baseline` taken within the same repetition: paths of one
 * repetition run back to back, so a change in the machine's load between repetitions cancels out.
 */
export function pairedRatio(
  ours: ReadonlyArray<{ rep: number; value: number }>,
  baseline: ReadonlyArray<{ rep: number; value: number }>,
): number {
  const byRep = new Map(baseline.map((sample) => [sample.rep, sample.value]));
  const ratios = ours.flatMap((sample) => {
    const base = byRep.get(sample.rep);
    return base === undefined ? [] : [sample.value / base];
  });
  return median(ratios);
}
