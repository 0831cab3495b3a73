/**
 * The control actions the dashboard accepts and the validation of their JSON bodies.
 */
import { isAcknowledgement } from "../../machines/safe-mode.machine.js";

/** The control actions, by the last segment of their path (`POST /control/<action>`). */
export type ControlAction = "halt" | "reset" | "rollback";

/** A valid control request. */
export type ControlRequest =
  | { readonly action: "halt"; readonly reason: string }
  | { readonly action: "reset"; readonly acknowledge: string }
  | { readonly action: "rollback"; readonly reason: string };

/** Why a body was refused: the field at fault and the reason (what a 400 response carries). */
export interface ControlBodyProblem {
  readonly field: string;
  readonly reason: string;
}

/** Longest free text accepted in a control request (it goes into the audit log). */
export const MAX_CONTROL_TEXT = 500;

const TEXT_FIELD: Record<ControlAction, "reason" | "acknowledge"> = {
  halt: "reason",
  reset: "acknowledge",
  rollback: "reason",
};

/** Whether `name` is a {@link ControlAction}. */
export function isControlAction(name: string): name is ControlAction {
  return Object.hasOwn(TEXT_FIELD, name);
}

/**
 * Parses the body of a control request: a JSON object with one non-empty string field (`reason`
 * for halt and rollback, `acknowledge` for reset) of at most {@link MAX_CONTROL_TEXT} characters
 * and no other fields.
 */
export function parseControlBody(action: ControlAction, body: string): ControlRequest | ControlBodyProblem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { field: "(body)", reason: "not valid JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { field: "(body)", reason: "expected a JSON object" };
  const field = TEXT_FIELD[action];
  const extra = Object.keys(parsed).find((key) => key !== field);
  if (extra !== undefined) return { field: extra, reason: "unknown field" };
  const text = (parsed as Record<string, unknown>)[field];
  if (typeof text !== "string") return { field, reason: "required, a string" };
  const trimmed = text.trim();
  if (trimmed === "") return { field, reason: "must not be empty" };
  // The engine would refuse it and leave the halt in place: said here, to the operator.
  if (action === "reset" && !isAcknowledgement(trimmed))
    return { field, reason: "must have a visible character (spaces and zero-width ones name nobody)" };
  if (trimmed.length > MAX_CONTROL_TEXT)
    return { field, reason: `at most ${MAX_CONTROL_TEXT} characters, got ${trimmed.length}` };
  return action === "reset" ? { action, acknowledge: trimmed } : { action, reason: trimmed };
}

/** Whether a parse result is a problem rather than a request. */
export function isBodyProblem(result: ControlRequest | ControlBodyProblem): result is ControlBodyProblem {
  return "field" in result;
}
