export { type EngineMonitor, type MonitorEngineOptions, monitorEngine } from "./monitor-engine.js";
export { checkTrailOffline, type FirstFailures } from "./offline-check.js";
export {
  FREEZE_REASONS,
  ROLLBACK_REASONS,
  SAFETY_PROPERTIES,
  SAFETY_PROPERTY_IDS,
  type SafetyPropertyId,
  type SafetyReport,
  type SafetyViolation,
} from "./properties.js";
export { SafetyMonitor } from "./safety-monitor.js";
export {
  DEFAULT_TRIP_WINDOW_EVENTS,
  type SafetySpec,
  type SafetySpecOptions,
  safetySpecOf,
} from "./safety-spec.js";
