import { DDSketch } from '@datadog/sketches-js';

// One HyperLogLog for live windows and history rollups alike (p=14, sparse while small).
import { HyperLogLog } from '../history/sketches';
export { hash53, HyperLogLog } from '../history/sketches';

/** A stored user sketch; one in an older live-state format starts afresh rather than failing the hub. */
export function decodeUsers(text: string | undefined): HyperLogLog {
  return text && (text[0] === 'S' || text[0] === 'R') ? HyperLogLog.decode(text) : new HyperLogLog();
}

export const LATENCY_ACCURACY = 0.01;
export const newSketch = () => new DDSketch({ relativeAccuracy: LATENCY_ACCURACY });

/** A latency sketch as plain JSON: zero count and [key, count] pairs of its positive bins. */
export interface SketchJson {
  z: number;
  s: number;
  b: Array<[number, number]>;
}

export function sketchToJson(sketch: DDSketch): SketchJson {
  const store = sketch.store;
  const bins: Array<[number, number]> = [];
  for (let i = 0; i < store.bins.length; i++) if (store.bins[i] > 0) bins.push([i + store.offset, store.bins[i]]);
  return { z: sketch.zeroCount, s: sketch.sum, b: bins };
}

export function sketchFromJson(json: SketchJson): DDSketch {
  const sketch = newSketch();
  for (const [key, count] of json.b) {
    sketch.store.add(key, count);
    sketch.count += count;
  }
  sketch.zeroCount = json.z;
  sketch.count += json.z;
  sketch.sum = json.s;
  return sketch;
}
