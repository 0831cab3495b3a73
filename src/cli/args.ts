import { parseArgs } from "node:util";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { errorMessage } from "../errors.js";
import { didYouMean } from "../suggest.js";
import { type CliError, usageError } from "./cli-error.js";

/** The flags of one command, in the shape `node:util` `parseArgs` expects. */
export type FlagSpec = Record<string, { readonly type: "string" | "boolean" }>;

/** Parsed flag values: strings for string flags, `true` for boolean flags, absent when not given. */
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses `argv` (the arguments after the command name) against `flags`, strictly: unknown flags,
 * missing flag values and stray positional arguments are usage errors naming the command.
 * Every command also accepts `--help` / `-h`.
 */
export function parseFlags(command: string, argv: readonly string[], flags: FlagSpec): FlagValues {
  return parseCommandLine(command, argv, flags, false).values;
}

/**
 * {@link parseFlags}, optionally allowing positional arguments (returned in order); unknown flags
 * and missing flag values are usage errors naming the command.
 */
export function parseCommandLine(
  command: string,
  argv: readonly string[],
  flags: FlagSpec,
  allowPositionals: boolean,
): { readonly values: FlagValues; readonly positionals: readonly string[] } {
  let parsed: {
    readonly values: unknown;
    readonly positionals: readonly string[];
    readonly tokens: readonly { kind: string; name?: string; value?: string | undefined }[];
  };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...flags, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (error) {
    throw flagError(command, argv, flags, error);
  }
  refuseRepeatedValues(command, parsed.tokens);
  return { values: parsed.values as FlagValues, positionals: parsed.positionals };
}

/**
 * A flag that takes a value, given twice, is a usage error: `--generation 5 --generation 6`
 * would otherwise take the last one without a word. (A repeated boolean flag says the same thing
 * twice, and is taken.)
 */
function refuseRepeatedValues(
  command: string,
  tokens: readonly { kind: string; name?: string; value?: string | undefined }[],
): void {
  const seen = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined || token.value === undefined) continue;
    const earlier = seen.get(token.name);
    if (earlier !== undefined)
      throw usageError(
        `arqon ${command}: --${token.name} given twice (${JSON.stringify(earlier)}, then ${JSON.stringify(token.value)}); give it once (see arqon help ${command})`,
      );
    seen.set(token.name, token.value);
  }
}

/**
 * A `parseArgs` failure as a sentence naming the flag, with a suggestion for a misspelt flag
 * (`unknown flag --confg; did you mean --config?`) and where to read the command's flags.
 */
function flagError(command: string, argv: readonly string[], flags: FlagSpec, error: unknown): CliError {
  const message = errorMessage(error);
  const code = (error as { code?: unknown }).code;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.split(" ")[0] ?? quoted;
  const help = `see arqon help ${command}`;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const known = [...Object.keys(flags), "help"];
    const hint = didYouMean(flag.replace(/^-+/, ""), known, (name) => `--${name}`);
    return usageError(
      `arqon ${command}: unknown flag ${flag}${hint === undefined ? "" : `; ${hint}`} (${help})`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("argument missing"))
      return usageError(`arqon ${command}: ${flag} needs a value (${help})`);
    // A string flag followed by something that starts with a dash (`--port -1`): Node calls the
    // value ambiguous; it may be a value (write `--port=-1`) or the next flag (a value is missing).
    if (message.includes("argument is ambiguous")) {
      const next = argv[argv.indexOf(flag) + 1];
      const dashed =
        next === undefined || /^--[^-]/.test(next)
          ? ""
          : `; a value that starts with a dash is written ${flag.startsWith("--") ? `${flag}=${next}` : `${flag}${next}`}`;
      return usageError(`arqon ${command}: ${flag} needs a value${dashed} (${help})`);
    }
    return usageError(`arqon ${command}: ${flag} takes no value (${help})`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return usageError(`arqon ${command}: unexpected argument ${JSON.stringify(quoted)} (${help})`);
  }
  return usageError(`arqon ${command}: ${message}`);
}

/** `text` as a whole number (digits only; surrounding spaces allowed), or NaN when it is not one. */
export function wholeNumberOf(text: string): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Splits `argv` at the first `--`: flags before it, a command line after it (`undefined` without `--`). */
export function splitAtDoubleDash(argv: readonly string[]): { flags: string[]; rest: string[] | undefined } {
  const at = argv.indexOf("--");
  if (at < 0) return { flags: [...argv], rest: undefined };
  return { flags: argv.slice(0, at), rest: argv.slice(at + 1) };
}

/** The string value of flag `name`, or a usage error saying it is required. */
export function requiredString(command: string, values: FlagValues, name: string): string {
  const value = values[name];
  if (value === "") throw usageError(`arqon ${command}: --${name} is empty (an unset variable?)`);
  if (typeof value !== "string") throw usageError(`arqon ${command}: --${name} is required`);
  return value;
}

/** The string value of flag `name`, or `undefined` when it was not given. */
export function optionalString(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The value of flag `name` (a path, a URL, a name), `undefined` when it was not given, or a usage
 * error when it was given empty: `--state "$STATE"` with the variable unset must not become the
 * current directory.
 */
export function optionalNonEmpty(command: string, values: FlagValues, name: string): string | undefined {
  const value = optionalString(values, name);
  if (value === "") throw usageError(`arqon ${command}: --${name} is empty (an unset variable?)`);
  return value;
}

/** The value of flag `name` as a whole number ≥ 1, `undefined` when not given, else a usage error. */
export function optionalPositiveInt(command: string, values: FlagValues, name: string): number | undefined {
  const text = optionalString(values, name);
  if (text === undefined) return undefined;
  const value = wholeNumberOf(text);
  if (!(value >= 1)) {
    throw usageError(`arqon ${command}: --${name} must be a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The value of flag `name` if it is one of `choices`, `fallback` when not given, else a usage error. */
export function optionalChoice<const T extends string>(
  command: string,
  values: FlagValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const text = optionalString(values, name);
  if (text === undefined) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw usageError(
    `arqon ${command}: --${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(text)}`,
  );
}

/**
 * `--<flag>` of `arqon <command>`, a whole number of ms a Node timer can wait (ioredis's timeouts
 * and the trial timeout are timers), or `undefined` when not given.
 */
export function optionalTimerMs(command: string, values: FlagValues, flag: string): number | undefined {
  const text = optionalString(values, flag);
  if (text === undefined) return undefined;
  const value = wholeNumberOf(text);
  if (!(value >= 1 && value <= MAX_TIMER_MS))
    throw usageError(
      `arqon ${command}: --${flag} must be a whole number in [1, ${MAX_TIMER_MS}], got ${JSON.stringify(text)}`,
    );
  return value;
}
