import type { SchedulerLike } from "rxjs";

/** Whether `value` can serve as an RxJS scheduler: an object with `now()` and `schedule()`. */
export function isSchedulerLike(value: unknown): value is SchedulerLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as SchedulerLike).now === "function" &&
    typeof (value as SchedulerLike).schedule === "function"
  );
}
