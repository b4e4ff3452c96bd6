// The R2 Parquet archive of raw events (API.md "The archive"): what the drain and the readers use.
export { ARCHIVE_COLUMN_NAMES, ARCHIVE_ROW_GROUP_ROWS, type ArchiveColumn } from './columns';
export { ARCHIVE_ROOT } from './layout';
export { archiveKeys, hourPrefix, hourStart, keyHour, partKey, workspacePrefix } from './layout';
export { archiveRowToEvent, readArchiveEvents, readArchiveFile, r2AsyncBuffer, type ArchiveReadOptions, type ArchiveRow, type ArchiveRowGroup } from './parquet-read';
export { encodeArchiveFile, sortForArchive, type ArchiveWriteOptions } from './parquet-write';
export { listArchiveParts, readArchiveRange, writeArchiveBatch, PARQUET_CONTENT_TYPE, type ArchiveBucket, type ArchivePart, type WrittenPart } from './store';
