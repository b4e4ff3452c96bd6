import { useState } from 'preact/hooks';
import { ConnectionFigures } from './ConnectionFigures';
import { Panel } from './Ui';
import { presetRange, type ViewerRange } from './viewer-range';
import { ViewerRangeBar, ViewerTimeline } from './ViewerTimeline';

/** Viewers over a chosen range (the live overview and a room); a room adds its connection figures over the same range. */
export function ViewersPanel({ ws, room }: { ws: string; room?: string }) {
  const [range, setRange] = useState<ViewerRange>(() => presetRange('24h'));
  return (
    <>
      <Panel title="Viewers" hint="most present at once" class="span-2" testid="viewers">
        <ViewerRangeBar range={range} set={setRange} />
        <ViewerTimeline ws={ws} room={room} range={range} />
      </Panel>
      {room !== undefined && (
        <Panel title="Connections" hint="same range" testid="connections">
          <ConnectionFigures ws={ws} room={room} range={range} />
        </Panel>
      )}
    </>
  );
}
