// What a selector is evaluated against: an endpoint's labels, as a plain object or a Map.
//
// A label is present when its value is a string. For plain objects that rule also keeps
// inherited Object.prototype members ("constructor", "toString", …) from counting as labels,
// without a hasOwnProperty call on the hot path: no prototype member is a string.

export type LabelRecord = Readonly<Record<string, string>>;
export type LabelMap = ReadonlyMap<string, string>;
export type Labels = LabelRecord | LabelMap;

/** The value of `label`, or undefined when the label is absent. */
export function labelValue(labels: Labels, label: string): string | undefined {
  if (labels instanceof Map) return labels.get(label);
  const value: unknown = (labels as LabelRecord)[label];
  return typeof value === 'string' ? value : undefined;
}
