/**
 * JSON texts packed into as few JSON arrays as fit `maxChars` each (one oversized item alone still
 * makes an array): the size limits of a SQLite value and of a D1 parameter, met without
 * serializing twice.
 */
export function packJsonArrays(items: Iterable<string>, maxChars: number): string[] {
  const arrays: string[] = [];
  let current: string[] = [];
  let chars = 2;
  for (const json of items) {
    if (current.length && chars + json.length + 1 > maxChars) {
      arrays.push(`[${current.join(',')}]`);
      current = [];
      chars = 2;
    }
    current.push(json);
    chars += json.length + 1;
  }
  if (current.length) arrays.push(`[${current.join(',')}]`);
  return arrays;
}
