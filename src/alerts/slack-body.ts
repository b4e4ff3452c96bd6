import type { DeliveryJob } from './delivery-job';

/** Slack's incoming-webhook body: `text` is the notification's fallback, `blocks` what the channel shows. */
export interface SlackBody {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

type Payload = DeliveryJob['payload'];

const num = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '')) : 'n/a');
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** Slack mrkdwn: `&`, `<` and `>` are control characters; names and types come from users. */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function link(url: string, label: string): string {
  return url ? `<${url.replace(/[<>|]/g, encodeURIComponent)}|${label}>` : '';
}

function alertText(p: Payload): { headline: string; detail: string } {
  const d = p.data;
  const lead = p.type === 'alert.firing' ? ':rotating_light: Firing' : p.type === 'alert.resolved' ? ':white_check_mark: Resolved' : ':test_tube: Test';
  const headline = `${lead}: ${esc(str(d.name))} (${esc(str(d.workspace))})`;
  const detail = `${esc(str(d.metric))} is ${num(d.value)} (rule: ${esc(str(d.op))} ${num(d.threshold)})${d.since ? ` since ${esc(str(d.since))}` : ''}`;
  return { headline, detail };
}

function change(now: number, before: number): string {
  if (!before) return '';
  const pct = ((now - before) / before) * 100;
  return ` (${pct >= 0 ? '+' : ''}${pct.toFixed(0)}%)`;
}

function reportText(p: Payload): { headline: string; detail: string } {
  const d = p.data;
  const s = (d.summary ?? {}) as Record<string, number>;
  const prev = (d.previous ?? {}) as Record<string, number>;
  const headline = `:bar_chart: ${esc(str(d.workspace))}: report for ${esc(str(d.from))} – ${esc(str(d.to))}`;
  const top = (rows: unknown) => (Array.isArray(rows) ? rows.slice(0, 5).map((r) => `${esc(str((r as { key?: unknown }).key))} ${num((r as { events?: unknown }).events)}`).join(', ') : '');
  const lines = [
    `*Events* ${num(s.events)}${change(s.events, prev.events)} · *Users* ${num(s.users)}${change(s.users, prev.users)} · *Errors* ${num(s.errors)} (${num((s.errorRate ?? 0) * 100)}%)`,
    top(d.topTypes) && `*Top types* ${top(d.topTypes)}`,
    top(d.topRooms) && `*Top rooms* ${top(d.topRooms)}`,
  ].filter(Boolean);
  return { headline, detail: lines.join('\n') };
}

/** The Slack body of a delivery's payload (alert transitions, tests and scheduled reports). */
export function slackBody(p: Payload): SlackBody {
  const { headline, detail } = p.type === 'report.scheduled' ? reportText(p) : alertText(p);
  const open = link(str(p.data.dashboardUrl), 'Open the dashboard');
  const blocks: SlackBody['blocks'] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${detail}` } },
  ];
  if (open) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: open }] });
  return { text: `${headline}: ${detail.split('\n')[0]}`, blocks };
}
