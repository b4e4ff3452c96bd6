import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { ARCHIVE_COLUMN_NAMES, ARCHIVE_ROW_GROUP_ROWS, type ArchiveRow } from '../archive';
import { ARCHIVE_COLUMNS, ARCHIVE_SCHEMA } from '../archive/columns';
import type { RawScope } from './raw/filter';
import { rawOldestFirst } from './raw/ordered';
import type { RawSource } from './raw/source';

/** A ByteWriter that hands each finished row group's bytes on and forgets them: the file is never whole in memory. */
class ChunkWriter extends ByteWriter {
  readonly chunks: Uint8Array[] = [];
  flush(): void {
    if (this.index === 0) return;
    this.chunks.push(new Uint8Array(this.getBuffer()));
    this.index = 0;
  }
  override finish(): void {
    this.flush();
  }
  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

/** Bytes of a string statistic kept in the footer (enough to skip row groups by any short key). */
const STATS_TRUNCATE_CHARS = 64;

function columnData(rows: Partial<ArchiveRow>[]): ColumnSource[] {
  return ARCHIVE_COLUMNS.map((c) => {
    const data = rows.map((r) => {
      const v = r[c.name] ?? null;
      return c.kind === 'int64' && v !== null ? BigInt(v as number) : v;
    });
    return {
      name: c.name, data, nullable: c.required !== true,
      ...(c.kind === 'timestamp' ? { encoding: 'DELTA_BINARY_PACKED' as const } : {}),
    };
  });
}

/**
 * The scope's raw events as ONE Parquet file with the archive's columns and schema, oldest first:
 * each row group (ARCHIVE_ROW_GROUP_ROWS rows) is encoded and sent as the client pulls, and the
 * footer (the row groups' metadata) at the end. Memory: one row group and its encoding.
 */
export function exportParquetStream(src: RawSource, scope: RawScope): ReadableStream<Uint8Array> {
  let rows: AsyncGenerator<Partial<ArchiveRow>[]> | undefined;
  let writer: ChunkWriter | undefined;
  let parquet: ParquetWriter | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!writer || !parquet || !rows) {
          writer = new ChunkWriter();
          // Truncated min/max: the footer keeps every row group's statistics until the end, so long strings (properties) must not pile up.
          parquet = new ParquetWriter({ writer, schema: ARCHIVE_SCHEMA, codec: 'SNAPPY', createdBy: 'edgepulse export', statisticsTruncateLength: STATS_TRUNCATE_CHARS });
          rows = rawOldestFirst(src, scope, ARCHIVE_COLUMN_NAMES, ARCHIVE_ROW_GROUP_ROWS);
        }
        const next = await rows.next();
        if (next.done) {
          await parquet.finish();
        } else {
          await parquet.write({ columnData: columnData(next.value), rowGroupSize: ARCHIVE_ROW_GROUP_ROWS });
          writer.flush();
        }
        for (const chunk of writer.take()) controller.enqueue(chunk);
        if (next.done) controller.close();
      },
      async cancel() {
        await rows?.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
