/**
 * `arqon/testing`: standard black-box test functions with known minima, for checking an
 * optimisation loop or comparing settings in your own tests.
 * @packageDocumentation
 */
export {
  ackley,
  branin,
  hartmann6,
  type Interval,
  rastrigin,
  rosenbrock,
  sphere,
  type TestFunction,
} from "./functions.js";
