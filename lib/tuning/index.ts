// nestjs-breaker/tuning: choose a breaker's options from recorded traffic (docs/tuning.md). The
// trace format (for recorders and readers), the replay of a trace through candidate
// configurations, and the search for the best trade-off. The command line is `npx nestjs-breaker`.
export { TRACE_OUTCOMES, TraceError, formatTraceRecord, parseTraceRecord } from './trace-record.js';
export type { NumberedTraceRecord, TraceOutcome, TraceRecord } from './trace-record.js';
export { DEFAULT_REORDER_WINDOW_MS, TraceReader, readTrace } from './trace-reader.js';
export type { TraceInput, TraceReadSummary, TraceReaderOptions } from './trace-reader.js';
export { REJECTED_INFERENCE_RULE, RejectedCallInference } from './rejected-inference.js';
export type { CallOutcome, InferenceCounts, ReplayCall } from './rejected-inference.js';
export { CandidateConfigError, candidateConfig, loadCandidateConfig } from './candidate-config.js';
export type { CandidateConfig, ReplaySettings } from './candidate-config.js';
export { ReplayRun } from './replay-run.js';
export type { CallDecision, ReplayRunOptions } from './replay-run.js';
export { FLAP_WINDOW_MS } from './replay-result.js';
export type { FamilyKeys, ReplayEpisode, ReplayResult, RunSeries, RunTimeline } from './replay-result.js';
export { replayTrace } from './replay.js';
export type { BreakerCharts, ReplayOptions, ReplayOutcome, ReplayReport, TraceBreakerSummary, TraceSeries, TraceSummary } from './replay.js';
export { DEFAULT_SUGGEST_GRID, gridConfigs, paretoFront, suggestConfigs } from './suggest.js';
export type { BreakerSuggestions, SuggestGrid, SuggestOptions, SuggestReport, Suggestion } from './suggest.js';
export { SYNTHETIC_SCENARIOS, syntheticCalls, syntheticTrace } from './synthetic-trace.js';
export type { SyntheticScenario, SyntheticTraceOptions } from './synthetic-trace.js';
export { Timeline } from './timeline.js';
// The recorder lives in the root layer (the module's recordCalls option uses it); published here.
export { CallRecorder, DEFAULT_RECORD_MAX_BYTES, recordCalls } from '../call-recorder.js';
export type { RecordCallsOptions, RecordingEnd } from '../call-recorder.js';
