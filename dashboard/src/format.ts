const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en');

export const num = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : Math.abs(n) >= 10_000 ? compact.format(n) : whole.format(Math.round(n * 10) / 10);

export const exact = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : whole.format(n));

export const pct = (r: number | null | undefined): string =>
  r === null || r === undefined || !Number.isFinite(r) ? '–' : `${(r * 100).toFixed(r > 0 && r < 0.001 ? 2 : r < 0.1 ? 1 : 0)}%`;

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
}

export function bytes(v: number | null | undefined, suffix = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}${suffix}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.round((seconds % 3600) / 60)}m`;
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'narrow' });
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(s) < 5) return 'just now';
  if (Math.abs(s) < 60) return rtf.format(s, 'second');
  if (Math.abs(s) < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (Math.abs(s) < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const dateTime = (iso: string | null | undefined): string => (iso ? dtf.format(new Date(iso)) : '–');
const tf = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
export const time = (iso: string | null | undefined): string => (iso ? tf.format(new Date(iso)) : '–');

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' });
  } catch {
    return null;
  }
})();
export function country(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  const flag = String.fromCodePoint(...[...code].map((c) => 0x1f1a5 + c.charCodeAt(0)));
  return `${flag} ${regionNames?.of(code) ?? code}`;
}

const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
/** A feed's time: the clock for today, the day for anything older (late or back-filled events). */
export function feedTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  return d.toDateString() === now.toDateString() ? tf.format(d) : shortDay.format(d);
}
