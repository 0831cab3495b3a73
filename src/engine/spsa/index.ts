/**
 * SPSA numerics of the online engine (Tier 2): gains, the iteration core, move budgets, "auto"
 * step-gain calibration and the noise model. Pure TypeScript over typed arrays.
 */
export { noiseRuleGain, StepGainCalibration } from "./calibration.js";
export {
  CONSTANT_EXPONENTS,
  DECAYING_EXPONENTS,
  type GainExponents,
  perturbationGain,
  stepGain,
} from "./gains.js";
export { balancedHalfWidth, NoiseModel } from "./noise-model.js";
export {
  type GainSchedule,
  type ResolvedSpsaOptions,
  resolveSpsaOptions,
  SPSA_DEFAULTS,
  type SpsaOptions,
  spsaOptionProblems,
} from "./options.js";
export { CommitResult, type CommitResultCode, SpsaCore, type SpsaCoreState } from "./spsa-core.js";
export { STEP_LIMIT_MARGIN, StepLimits } from "./step-limits.js";
