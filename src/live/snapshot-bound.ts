/** A part of the snapshot that may be cut: an array whose oldest entries come first. */
export interface TrimmablePart {
  name: string;
  get(): unknown[];
  set(kept: unknown[]): void;
}

/**
 * The snapshot as JSON text of at most `maxBytes` (ASCII-heavy JSON: characters ≈ bytes): while over,
 * the biggest trimmable part loses its oldest half. Returns the text and what was cut, by part.
 */
export function boundSnapshot(value: unknown, parts: TrimmablePart[], maxBytes: number): { text: string; trimmed: Record<string, number> } {
  const trimmed: Record<string, number> = {};
  let text = JSON.stringify(value);
  while (text.length > maxBytes) {
    let biggest: { part: TrimmablePart; size: number } | null = null;
    for (const part of parts) {
      const items = part.get();
      if (!items.length) continue;
      const size = JSON.stringify(items).length;
      if (!biggest || size > biggest.size) biggest = { part, size };
    }
    if (!biggest) break; // nothing left to cut: the fixed-size rest is what it is
    const items = biggest.part.get();
    const cut = Math.ceil(items.length / 2);
    biggest.part.set(items.slice(cut));
    trimmed[biggest.part.name] = (trimmed[biggest.part.name] ?? 0) + cut;
    text = JSON.stringify(value);
  }
  return { text, trimmed };
}
