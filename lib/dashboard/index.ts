// Entry of the "nestjs-breaker/dashboard" subpath: a page and an event stream served by the
// application itself. The root entry never imports this folder.
export { CircuitBreakerDashboardModule } from './circuit-breaker-dashboard.module.js';
export type { CircuitBreakerDashboardOptions } from './circuit-breaker-dashboard.options.js';
export { SAMPLE_FIELDS } from './dashboard-events.js';
export type {
  DashboardBreakerView,
  DashboardFamilyView,
  DashboardHistory,
  DashboardInstanceView,
  DashboardSampleEvent,
  DashboardSamplePoint,
  DashboardSnapshotEvent,
  DashboardThresholds,
  DashboardTransition,
} from './dashboard-events.js';
