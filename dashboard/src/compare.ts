/** Which way a figure should move: events up is good, errors or latency up is bad, bytes neither. */
export type Better = 'up' | 'down' | 'neither';
export type Verdict = 'good' | 'bad' | 'neutral';

/**
 * The change from the previous period as a ratio (0.25 = +25%): 0 when equal (0 and 0 too),
 * null when there is nothing to compare with (previous 0 or unknown).
 */
export function change(current: number | null | undefined, previous: number | null | undefined): number | null {
  if (current == null || previous == null || !Number.isFinite(current) || !Number.isFinite(previous)) return null;
  if (current === previous) return 0;
  return previous === 0 ? null : (current - previous) / Math.abs(previous);
}

export function verdict(ratio: number | null, better: Better): Verdict {
  if (ratio === null || ratio === 0 || better === 'neither') return 'neutral';
  return (ratio > 0) === (better === 'up') ? 'good' : 'bad';
}

/** ▲ 12.5% / ▼ 3% / 0%; "new" when the previous period had none. */
export function changeText(ratio: number | null, current: number | null | undefined): string {
  if (ratio === null) return current ? '▲ new' : '–';
  if (ratio === 0) return '0%';
  const p = Math.abs(ratio * 100);
  return `${ratio > 0 ? '▲' : '▼'} ${p < 10 ? p.toFixed(1) : Math.round(p).toLocaleString('en')}%`;
}
