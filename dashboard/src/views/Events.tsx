import { useState } from 'preact/hooks';
import { qs, wsPath } from '../api';
import type { EventPage, StoredEvent } from '../api-types';
import { FilterBar, RangeBar } from '../components/ReportControls';
import { ErrorNote, FirstEvent, Loading } from '../components/Ui';
import { bytes, dateTime, ms } from '../format';
import { apiParams, parseQuery, toSearch, type ReportQuery } from '../report-query';
import { href, navigate, query, type Route } from '../router';
import { useApi } from './Reports';

const PAGE = 50;

function EventRow({ e, ws }: { e: StoredEvent; ws: string }) {
  const [open, setOpen] = useState(false);
  const ctx = e.context ?? {};
  return (
    <>
      <tr data-id={e.id}>
        <td style={{ whiteSpace: 'nowrap' }}>{dateTime(e.timestamp)}</td>
        <td>
          <button type="button" class="btn small" style={{ border: 0, background: 'none', padding: 0, fontWeight: 600 }} aria-expanded={open} onClick={() => setOpen(!open)}>
            {e.type}
          </button>
          {e.error && <span class="pill bad" style={{ marginLeft: '6px' }}>{e.error}</span>}
        </td>
        <td>{e.userId ? <a href={href.user(ws, e.userId)}>{e.userId}</a> : '–'}</td>
        <td>{e.room ? <a href={href.room(ws, e.room)}>{e.room}</a> : '–'}</td>
        <td class="num">{ms(e.durationMs)}</td>
        <td class="num">{e.bytesOut !== null || e.bytesIn !== null ? `${bytes(e.bytesIn ?? 0)} / ${bytes(e.bytesOut ?? 0)}` : '–'}</td>
        <td>{[ctx.platform, ctx.browser, ctx.country].filter(Boolean).join(' · ') || '–'}</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={7}>
            <pre class="code">{JSON.stringify(e, null, 2)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}

/** The raw event log, newest first, with cursor paging; the filters and the page live in the URL. */
export default function Events({ route }: { route: Route }) {
  const ws = (route as { ws: string }).ws;
  const search = query.value;
  const q = parseQuery(search);
  const cursor = search.get('cursor') ?? undefined;
  const errorsOnly = search.get('errorsOnly') === 'true';
  const extra = (more: Record<string, string> = {}) => ({ ...(errorsOnly ? { errorsOnly: 'true' } : {}), ...more });
  const set = (next: ReportQuery) => navigate(href.events(ws, toSearch(next, extra())), true);
  const page = useApi<EventPage>(`${wsPath(ws)}/events${qs({ ...apiParams(q), limit: PAGE, cursor, errorsOnly: errorsOnly || undefined })}`);
  const first = !cursor;

  return (
    <>
      <div class="page-head">
        <h1>Events</h1>
        <span class="sub">The raw log, newest first</span>
      </div>
      <RangeBar q={q} set={set} ws={ws} granularity={false} />
      <div class="row" style={{ alignItems: 'center', marginBottom: '8px' }}>
        <FilterBar q={q} set={set} />
        <label class="row" style={{ alignItems: 'center', gap: '6px', marginBottom: '14px' }}>
          <input type="checkbox" checked={errorsOnly} onChange={(e) => navigate(href.events(ws, toSearch(q, e.currentTarget.checked ? { errorsOnly: 'true' } : {})), true)} />
          Errors only
        </label>
      </div>
      <ErrorNote error={page.error} />
      <section class="panel" aria-label="Event log">
        {!page.data ? (
          <Loading />
        ) : page.data.events.length === 0 ? (
          first && !Object.keys(q.filters).length && !errorsOnly ? <FirstEvent ws={ws} /> : <p class="empty-small">No events match</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="event-log">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Type</th>
                  <th>User</th>
                  <th>Room</th>
                  <th class="num">Duration</th>
                  <th class="num">In / out</th>
                  <th>Context</th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((e) => (
                  <EventRow key={e.id} e={e} ws={ws} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="row" style={{ justifyContent: 'flex-end', marginTop: '10px' }}>
          <button type="button" class="btn small" disabled={first} onClick={() => history.back()}>
            ← Newer
          </button>
          <button type="button" class="btn small" disabled={!page.data?.nextCursor} onClick={() => navigate(href.events(ws, toSearch(q, extra({ cursor: page.data!.nextCursor! }))))}>
            Older →
          </button>
        </div>
      </section>
    </>
  );
}
