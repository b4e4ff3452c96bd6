// The R2 Parquet archive of raw events (API.md "The archive"): what the drain and the readers use.
export { ARCHIVE_COLUMN_NAMES, ARCHIVE_ROW_GROUP_ROWS, type ArchiveColumn } from './columns';
export { ARCHIVE_ROOT } from './layout';
export { archiveKeys, hourPrefix, hourStart, keyHour, partKey, workspacePrefix } from './layout';
export { archiveRowToEvent, readArchiveEvents, readArchiveFile, r2AsyncBuffer, type ArchiveReadOptions, type ArchiveRow, type ArchiveRowGroup } from './parquet-read';
export { encodeArchiveFile, sortForArchive, type ArchiveWriteOptions } from './parquet-write';
export { COMPACTED_PART, listArchiveHour, listArchiveParts, partName, writeArchiveBatch, PARQUET_CONTENT_TYPE, type ArchiveBucket, type ArchiveHour, type ArchivePart, type WrittenPart } from './store';
export { readArchiveRange } from './read-range';
export { ArchiveObjectChanged } from './parquet-read';
export { COVERS_METADATA_KEY } from './parquet-write';
export { archiveDeletionJob, eraseWorkspaceArchive, runArchiveJobs, type ArchiveJobsResult } from './archive-jobs';
export { compactHour } from './compaction';
