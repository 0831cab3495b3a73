/** One problem with a chart's options input, as the charts' option checkers report it. */
export interface OptionProblem {
  /** The option at fault (a known option or an unknown key); `""` for the input as a whole. */
  readonly field: string;
  /** What is wrong, without the value (e.g. "must be a whole number ≥ 1"). */
  readonly reason: string;
}
