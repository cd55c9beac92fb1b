// nestjs-breaker/tuning: choose a breaker's options from recorded traffic (docs/tuning.md). The
// trace format (for recorders and readers), the replay of a trace through candidate
// configurations, and the search for the best trade-off. The command line is `npx nestjs-breaker`.
export { TRACE_OUTCOMES, TraceError, formatTraceRecord, parseTraceRecord } from './trace-record.js';
export type { NumberedTraceRecord, TraceOutcome, TraceRecord } from './trace-record.js';
export { DEFAULT_REORDER_WINDOW_MS, TraceReader, readTrace } from './trace-reader.js';
export type { TraceInput, TraceReadSummary, TraceReaderOptions } from './trace-reader.js';
