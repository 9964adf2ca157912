/** A parameter as networks list them: its name and values. */
export interface NamedValues {
  readonly name: string;
  readonly value: Float32Array;
}

/** The largest absolute difference between same-named params of two networks (every param of `a` must be in `b`). */
export function maxParamGap(a: readonly NamedValues[], b: readonly NamedValues[]): number {
  const byName = new Map(b.map((p) => [p.name, p.value]));
  return Math.max(...a.map((p) => Math.max(...p.value.map((v, i) => Math.abs(v - byName.get(p.name)![i]!)))));
}
