import type { ParamValue } from "../space/params.js";

/** Environment variable that carries the trial id to an objective command. */
export const TRIAL_ID_VARIABLE = "ARQON_TRIAL_ID";

/**
 * The environment variable that carries parameter `name` to an objective command:
 * `ARQON_` + the name upper-cased with every character other than A–Z and 0–9 replaced by `_`
 * (`learning-rate` → `ARQON_LEARNING_RATE`).
 */
export function parameterVariable(name: string): string {
  return `ARQON_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * Problems that would make the variables ambiguous: two parameter names mapping to the same
 * variable (`lr` and `LR`), or a parameter mapping onto {@link TRIAL_ID_VARIABLE}. Empty when fine.
 */
export function variableClashes(names: readonly string[]): string[] {
  const owner = new Map<string, string>([[TRIAL_ID_VARIABLE, "the trial id"]]);
  const problems: string[] = [];
  for (const name of names) {
    const variable = parameterVariable(name);
    const previous = owner.get(variable);
    if (previous === undefined) owner.set(variable, `parameter ${JSON.stringify(name)}`);
    else problems.push(`bounds.${name}: its variable ${variable} is also used by ${previous}`);
  }
  return problems;
}

/**
 * The variables of one trial: {@link TRIAL_ID_VARIABLE} and one variable per parameter present in
 * the trial. Numbers are in JavaScript's shortest round-trip number text; a categorical's choice
 * is passed as is when it is a string (`adam`), as JSON otherwise (`true`, `null`, `[1,2]`,
 * `{"a":1}`); an inactive conditional parameter gets no variable at all.
 */
export function trialVariables(
  id: number,
  params: Readonly<Record<string, ParamValue>>,
): Record<string, string> {
  const variables: Record<string, string> = { [TRIAL_ID_VARIABLE]: String(id) };
  for (const [name, value] of Object.entries(params)) {
    variables[parameterVariable(name)] =
      typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value);
  }
  return variables;
}
