import { useState } from 'preact/hooks';
import type { Schedule, ScheduleInput } from '../api-types';
import { LIMITS } from '../../../src/shared/limits';
import { DestinationFields, FieldError, OtherErrors, type DestinationValue } from './Webhooks';

/** Create or edit a scheduled report: daily or weekly, at an hour of the workspace's day, posted to a destination. */

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;

export function when(s: Pick<Schedule, 'every' | 'hour' | 'weekday'>): string {
  return s.every === 'day' ? `Every day at ${hh(s.hour)}` : `Every ${WEEKDAYS[s.weekday ?? 1]} at ${hh(s.hour)}`;
}

const SHOWN = ['name', 'every', 'hour', 'weekday', 'destination', 'destination.url', 'destination.format'];

export function ScheduleForm({
  schedule,
  timezone,
  errors,
  busy,
  onSubmit,
  onCancel,
}: {
  schedule?: Schedule;
  timezone?: string;
  errors: Record<string, string>;
  busy: boolean;
  onSubmit: (s: ScheduleInput) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(schedule?.name ?? '');
  const [every, setEvery] = useState<'day' | 'week'>(schedule?.every ?? 'day');
  const [hour, setHour] = useState(schedule?.hour ?? 8);
  const [weekday, setWeekday] = useState(schedule?.weekday ?? 1);
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const [destination, setDestination] = useState<DestinationValue>(schedule ? { ...schedule.destination } : { url: '', format: 'standard' });
  const id = schedule ? `schedule-${schedule.id}` : 'schedule-new';
  return (
    <form
      class="form-box"
      aria-label={schedule ? `Edit scheduled report ${schedule.name}` : 'Create a scheduled report'}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit({ name: name.trim(), every, hour, ...(every === 'week' ? { weekday } : {}), destination: { url: destination.url.trim(), format: destination.format }, enabled });
      }}
    >
      <div class="row">
        <div class="field" style={{ flex: 2, minWidth: '200px' }}>
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} required maxLength={LIMITS.alertNameMaxLength} placeholder="e.g. Morning summary" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-invalid={errors.name ? 'true' : undefined} />
          <FieldError id={`${id}-name`} error={errors.name} />
        </div>
        <div class="field">
          <label for={`${id}-every`}>Report</label>
          <select id={`${id}-every`} value={every} onChange={(e) => setEvery(e.currentTarget.value as 'day' | 'week')}>
            <option value="day">daily (the previous day)</option>
            <option value="week">weekly (the previous 7 days)</option>
          </select>
          <FieldError id={`${id}-every`} error={errors.every} />
        </div>
        {every === 'week' && (
          <div class="field">
            <label for={`${id}-weekday`}>On</label>
            <select id={`${id}-weekday`} value={weekday} onChange={(e) => setWeekday(Number(e.currentTarget.value))}>
              {WEEKDAYS.map((d, i) => (
                <option key={d} value={i}>
                  {d}
                </option>
              ))}
            </select>
            <FieldError id={`${id}-weekday`} error={errors.weekday} />
          </div>
        )}
        <div class="field">
          <label for={`${id}-hour`}>At{timezone ? ` (${timezone})` : ''}</label>
          <select id={`${id}-hour`} value={hour} onChange={(e) => setHour(Number(e.currentTarget.value))}>
            {Array.from({ length: 24 }, (_, h) => (
              <option key={h} value={h}>
                {hh(h)}
              </option>
            ))}
          </select>
          <FieldError id={`${id}-hour`} error={errors.hour} />
        </div>
        <label class="row" style={{ alignItems: 'center', gap: '6px', paddingBottom: '8px' }}>
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Enabled
        </label>
      </div>
      <DestinationFields id={id} value={destination} onChange={setDestination} errors={errors} />
      <p class="muted" style={{ margin: 0 }}>
        Posts the summary of the previous {every === 'day' ? 'day' : 'week'} beside the one before it, the top event types and rooms, and a link to the report.
      </p>
      <OtherErrors errors={errors} shown={SHOWN} />
      <div class="row">
        <button class="btn primary" type="submit" disabled={busy}>
          {schedule ? 'Save schedule' : 'Create schedule'}
        </button>
        <button class="btn" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
