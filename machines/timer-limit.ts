/**
 * The longest delay a Node timer keeps, 2³¹ − 1 ms (about 24.8 days): a longer one fires after
 * 1 ms instead, with a `TimeoutOverflowWarning`. Every duration the engine or a chart turns into a
 * timer is refused above it, rather than silently cut to nothing.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Whether `x` is a duration a timer can wait: ≥ 0 (or > 0 when `positive`) and at most {@link MAX_TIMER_MS}. */
export function isTimerMs(x: number, positive: boolean): boolean {
  return (positive ? x > 0 : x >= 0) && x <= MAX_TIMER_MS;
}

/** What {@link isTimerMs} accepts, in words: "> 0 and at most 2147483647 (about 24.8 days, …)". */
export function timerMsRange(positive: boolean): string {
  return `${positive ? "> 0" : "≥ 0"} and at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer Node keeps)`;
}

/** An option rule for such a duration: the check and the message when it fails. */
export function timerMsRule(positive: boolean): readonly [accepts: (x: number) => boolean, message: string] {
  return [(x) => isTimerMs(x, positive), `must be a number of milliseconds ${timerMsRange(positive)}`];
}
