// The live windows keep the same sketches as the history rollups: one HyperLogLog (p=14, sparse
// while small) and one DDSketch encoding (1% relative accuracy), so both answer alike.
import { decodeDurations, HyperLogLog } from '../history/sketches';
export { acceptDuration, encodeDurations, hash53, HyperLogLog, newDurations } from '../history/sketches';

/** A stored user sketch; one in an older live-state format starts afresh rather than failing the hub. */
export function decodeUsers(text: string | undefined): HyperLogLog {
  return text && 'SRPD'.includes(text[0]) ? HyperLogLog.decode(text) : new HyperLogLog();
}

/** A stored latency sketch; an older live-state format (an object) is dropped: it covers 5 minutes at most. */
export function decodeLatency(stored: unknown) {
  return typeof stored === 'string' ? decodeDurations(stored) : null;
}
