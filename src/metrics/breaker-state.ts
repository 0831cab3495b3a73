/**
 * The value a circuit breaker's state is exported as, by the engine's and a replica's metrics.
 */

/** Value of `arqon_breaker_state` (and `arqon_replica_telemetry_breaker_state`) for each breaker state. */
export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;
