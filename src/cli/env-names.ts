import { jsonKey, type ParamValue } from "../space/params.js";

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
 * Why `bounds` cannot be passed to a command as variables, as one line, or `undefined` when it can:
 * names sharing a variable ({@link variableClashes}), a string choice holding a NUL character or
 * a lone surrogate, which no environment variable can carry (other choices travel as JSON, where
 * both are escaped), or two choices whose variables would read the same (`"1"` and `1`).
 * `bounds` may be any value read from a config, valid or not: what is not a parameter object
 * names no variable, so `arqon validate` lists these problems beside the config's own.
 */
export function variableProblems(bounds: unknown): string | undefined {
  if (typeof bounds !== "object" || bounds === null || Array.isArray(bounds)) return undefined;
  const problems: string[] = [];
  const clashes = variableClashes(Object.keys(bounds));
  if (clashes.length > 0) problems.push(`ambiguous environment variables: ${clashes.join("; ")}`);
  for (const [name, spec] of Object.entries(bounds as Record<string, unknown>)) {
    const choices = (spec as { type?: unknown; choices?: unknown } | null)?.choices;
    if ((spec as { type?: unknown } | null)?.type !== "categorical" || !Array.isArray(choices)) continue;
    // A string choice travels as is, others as JSON: "1" and 1 would reach the command alike.
    const first = new Map<string, number>();
    choices.forEach((choice, i) => {
      if (typeof choice === "string" && choice.includes("\u0000")) {
        problems.push(
          `bounds.${name}.choices.${i}: contains a NUL character, which no environment variable can carry`,
        );
      }
      if (typeof choice === "string" && LONE_SURROGATE.test(choice)) {
        problems.push(
          `bounds.${name}.choices.${i}: contains a lone UTF-16 surrogate, which an environment variable carries as U+FFFD`,
        );
      }
      const text = choiceText(choice);
      const earlier = first.get(text);
      if (earlier === undefined) first.set(text, i);
      // Two equal choices (1 and 1.0) are refused as such by the config's own check.
      else if (jsonKey(choices[earlier]) !== jsonKey(choice))
        problems.push(
          `bounds.${name}.choices.${earlier} and ${i}: both pass as ${parameterVariable(name)}=${text}`,
        );
    });
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}

/**
 * The whole environment of one trial's command: `inherited` without the variable of any parameter
 * in `names` nor {@link TRIAL_ID_VARIABLE}, plus the trial's own ({@link trialVariables}). So a
 * conditional parameter left inactive is truly absent, even when the shell that started arqon set it.
 */
export function objectiveEnvironment(
  inherited: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
  trial: { readonly id: number; readonly params: Readonly<Record<string, ParamValue>> },
): Record<string, string | undefined> {
  const env = { ...inherited };
  delete env[TRIAL_ID_VARIABLE];
  for (const name of names) delete env[parameterVariable(name)];
  return Object.assign(env, trialVariables(trial.id, trial.params));
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
    variables[parameterVariable(name)] = choiceText(value);
  }
  return variables;
}

/** Half of a surrogate pair without the other half: UTF-8 (what a variable holds) cannot encode it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A parameter's value as its variable holds it: a string as is, a number's shortest text, else JSON. */
function choiceText(value: unknown): string {
  return typeof value === "string"
    ? value
    : typeof value === "number"
      ? String(value)
      : JSON.stringify(value);
}
