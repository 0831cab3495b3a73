/**
 * `arqon/testing`: standard black-box test functions with known minima, for checking an
 * optimisation loop or comparing settings in your own tests, and the seeded generator arqon draws
 * every random choice from, for simulations that must replay exactly, and a way to run a
 * virtual-time simulation whose actuator is asynchronous.
 * @packageDocumentation
 */

export { Prng } from "../random/prng.js";
export { advanceVirtualTime, type VirtualClock } from "./advance-virtual-time.js";
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
