import { METRICS } from '../alert-metrics';
import type { FiringAlert } from '../api-types';
import { ago, dateTime } from '../format';
import { href } from '../router';
import { isAdmin } from '../session';

/** The live view's banner: every firing rule with its value against the threshold, and since when. */
export function FiringAlerts({ alerts, ws }: { alerts: FiringAlert[] | undefined; ws: string }) {
  if (!alerts?.length) return null;
  return (
    <section class="firing" role="alert" aria-label="Firing alerts" data-testid="firing-alerts">
      <header>
        <strong>
          {alerts.length} alert{alerts.length === 1 ? '' : 's'} firing
        </strong>
        {isAdmin() && <a href={`${href.settings(ws)}#alerts`}>Manage alerts</a>}
      </header>
      <ul>
        {alerts.map((a) => (
          <li key={a.id} data-alert-id={a.id}>
            <span class="name">{a.name}</span>
            <span class="value">
              {METRICS[a.metric].label} is <b>{METRICS[a.metric].show(a.value)}</b>, threshold {a.op} {METRICS[a.metric].show(a.threshold)}
            </span>
            <time dateTime={a.since} title={dateTime(a.since)}>
              since {ago(a.since)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}
