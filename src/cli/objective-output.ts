import { stripVTControlCharacters } from "node:util";

/** The objective value read from a command's output, or why none could be read. */
export type ObjectiveReading =
  | {
      readonly ok: true;
      readonly value: number;
      /**
       * The last line, when it held several standalone numbers and the value was taken to be the
       * last of them ("epoch 3 loss 0.42" gives 0.42): the caller says so, since it may be the
       * wrong one.
       */
      readonly ambiguousLine?: string;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly interrupted?: true;
      readonly stopped?: true;
      /**
       * The command died of a signal that may have been sent to every process of the service
       * (systemd's stop): an interrupt if this process got it too.
       */
      readonly killedBy?: "SIGTERM" | "SIGHUP";
    };

/** An intermediate value a command printed (see {@link readReport}). */
export interface ReportLine {
  readonly step: number;
  readonly value: number;
}

/**
 * Reads an intermediate-value line: a JSON object with exactly the keys `step` and `value`, both
 * numbers, e.g. `{"step": 10, "value": 0.42}`. Anything else (log text, other JSON) is not a
 * report and gives undefined, so a command's ordinary output never turns into one by accident:
 * a metrics log (`{"key": "acc", "step": 3, "value": 0.9}`) holds other values than the one
 * minimised (see {@link unreadReport}).
 * A bare `NaN`, `Infinity` or `-Infinity` as either number (how Python's `json.dumps` writes a
 * diverged loss) reads as that number. Whether the numbers are acceptable (a whole step after
 * the previous one, a finite value) is for the solver to say.
 */
export function readReport(line: string): ReportLine | undefined {
  const parsed = jsonLine(line);
  if (parsed === undefined || Object.keys(parsed).length !== 2) return undefined;
  return numericStepAndValue(parsed);
}

/**
 * Why a line that is no report (see {@link readReport}) looks meant as one, so that the caller can
 * say so rather than prune nothing without a word; undefined for ordinary output. It looks meant
 * when it is a JSON object with a numeric `step` and `value` and other keys beside them, a JSON
 * object of just `step` and `value` with a value that is not a number (a quoted one), or Python's
 * own print of such a dict (single quotes, which JSON does not take).
 */
export function unreadReport(line: string): string | undefined {
  const parsed = jsonLine(line);
  if (parsed !== undefined) {
    const keys = Object.keys(parsed);
    if (numericStepAndValue(parsed) !== undefined)
      return keys.length > 2 ? 'it has "step" and "value" among other keys' : undefined;
    if (keys.length === 2 && keys.includes("step") && keys.includes("value"))
      return 'its "step" and "value" must both be numbers, unquoted';
    return undefined;
  }
  return isPythonDictReport(stripVTControlCharacters(line).trim())
    ? "it is no JSON (single quotes: a Python dict printed as it is; print json.dumps(...) instead)"
    : undefined;
}

/**
 * Whether a (trimmed) line is a Python dict holding a step and a value, as
 * `print({"step": 1, "value": 0.5})` writes it. A report is short: a long line is never taken
 * for one, and nothing here backtracks, so a long line of log costs one pass at most.
 */
function isPythonDictReport(line: string): boolean {
  return (
    line.length <= 200 &&
    line.startsWith("{'") &&
    line.endsWith("}") &&
    /'step'\s*:/.test(line) &&
    /'value'\s*:/.test(line)
  );
}

function numericStepAndValue(parsed: object): ReportLine | undefined {
  const { step, value } = parsed as { step?: unknown; value?: unknown };
  return typeof step === "number" && typeof value === "number" ? { step, value } : undefined;
}

/** A line that is a JSON object (bare `NaN` and `Infinity` values read as numbers), else undefined. */
function jsonLine(line: string): object | undefined {
  const trimmed = stripVTControlCharacters(line).trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return undefined;
  return parseObject(trimmed) ?? parseObject(markBareNonFinite(trimmed), numberOfMarked);
}

/** A bare non-finite number as a JSON value (`: NaN,`), which JSON.parse refuses. */
const BARE_NON_FINITE = /(:\s*)(NaN|-?Infinity)(\s*[,}])/g;

/** An escaped NUL: starts the string {@link markBareNonFinite} makes of a bare non-finite number. */
const MARK = "\\u0000";

/** `{"value": NaN}` as `{"value": "<NUL>NaN"}`: JSON that {@link parseObject} reads back as NaN. */
function markBareNonFinite(text: string): string {
  return text.replace(BARE_NON_FINITE, `$1"${MARK}$2"$3`);
}

/** JSON.parse's reviver for {@link markBareNonFinite}'s output: the marked strings as numbers. */
function numberOfMarked(_key: string, value: unknown): unknown {
  if (typeof value !== "string" || !value.startsWith("\0")) return value;
  const text = value.slice(1);
  return text === "NaN" || text === "Infinity" || text === "-Infinity" ? Number(text) : value;
}

function parseObject(text: string, reviver?: (key: string, value: unknown) => unknown): object | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviver);
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
}

// NaN, inf or Infinity as a word of its own, in any case and with any sign: what Python, C and
// JavaScript print for a value that is not finite ("Infinity" or "nan" inside a word is not one).
const NON_FINITE_WORD = /(?<![\w.])[-+]?(?:nan|inf|infinity)(?![\w.])/i;

// A number alone, with optional sign, fraction and exponent, and nothing glued to it: "3", "-0.5",
// ".25", "1e-3", "+2.5E+4". Not "3.2s", "ckpt-12.pt", "12:00:01", "v2.1.0", "1_000" or "run-7".
const NUMBER_TOKEN = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** U+2212 MINUS SIGN. */
const MINUS_SIGN = "\u2212";

/** How to print a value that is read: said when none was. */
const PRINT_VALUE_ALONE = 'print the value alone on the last line (0.42, loss=0.42 or {"value": 0.42})';

/**
 * The number a token of the last line (split at white space and commas) holds alone, or undefined:
 * the token is a number (`0.42`), or a label, `=` or `:` and a number (`loss=0.42`, `loss:-1e-3`,
 * `INFO:root:loss=0.42`: the number after the last separator), the label holding a letter (`12:00`
 * is a time). A `;` or `.` ending the token ends a clause, not the number (`loss: 0.42.`). A number
 * glued to anything else (`3.2s`, `ckpt-12.pt`, `gpu-0`) is none: log text holds such numbers,
 * and one of them read as the value would be told without a word.
 */
function standaloneNumber(token: string): string | undefined {
  const word = /[;.]$/.test(token) && token.length > 1 ? token.slice(0, -1) : token;
  if (NUMBER_TOKEN.test(word)) return word;
  const separator = Math.max(word.lastIndexOf("="), word.lastIndexOf(":"));
  if (separator <= 0) return undefined;
  const label = word.slice(0, separator);
  const number = word.slice(separator + 1);
  return NUMBER_TOKEN.test(number) && /\p{L}/u.test(label) ? number : undefined;
}

/**
 * A Python dict's `'value'` as printed by `print({"value": 0.42})` (single quotes, `nan`, `inf`):
 * the number's text, or "" when the line is such a dict without one, or undefined when it is none.
 */
function pythonDictValue(line: string): string | undefined {
  if (!line.startsWith("{") || !line.endsWith("}") || !line.includes("'")) return undefined;
  const match = /[{,]\s*'value'\s*:\s*([^,}\s]+)\s*[,}]/.exec(line);
  return match?.[1] ?? "";
}

/**
 * Reads the objective value from the standard output of an objective command: the number that
 * stands alone on the last non-empty line, or its `value` when that line is a JSON object with one.
 *
 * @remarks
 * A number stands alone when a whitespace-separated token of the line is that number, or a label
 * and `=` or `:` and that number (see {@link standaloneNumber}); so `"RESULT=0.99"` gives 0.99,
 * `"loss: 1.5e-2"` and `"loss:1.5e-2"` give 0.015, `"  0.75 "` gives 0.75, `"0.1\n0.2\n0.3"` gives
 * 0.3, `{"value": 0.24, "acc": 0.9}` gives 0.24, `"loss=-0.5"` gives -0.5 and `"loss 0.42 on gpu-0"`
 * gives 0.42: `gpu-0`, `run-7`, `3.2s`, `ckpt-12.pt` or `12:00:01` hold no number that stands alone
 * (a `-` after a letter, digit, `_` or `.` is a hyphen, not a minus), and a last line with no other
 * number fails rather than give a log line's number as the value. The minus sign U+2212 reads as
 * `-` (`"score −0.2"` gives -0.2). A line redrawn with carriage returns reads as a terminal shows it
 * (`"epoch 1\repoch 2\rloss 0.5"` gives 0.5).
 * A last line with several standalone numbers gives its last one, marked `ambiguousLine`. Empty
 * output, a last line without a standalone number, a JSON object without `value`, a number that is
 * not finite once parsed (e.g. `1e999`), a last line holding `NaN`, `inf` or `Infinity` as a word (a
 * diverged value, whatever number comes before it), or a last line that is an intermediate value
 * ({@link readReport}) is a failure with a short reason. Terminal control sequences (colours,
 * cursor moves) are left out first, in reports too.
 */
export function readObjective(stdout: string): ObjectiveReading {
  // Colour codes are not printed text: the "39" of "\x1b[39m" is no value (FORCE_COLOR in CI).
  const lines = stripVTControlCharacters(stdout).split(/\r?\n/);
  let last: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const trimmed = lines[i]!.trim();
    if (trimmed !== "") {
      last = trimmed;
      break;
    }
  }
  if (last === undefined) return { ok: false, reason: "no output (expected a number on the last line)" };
  // A line redrawn with carriage returns (a progress bar) reads as a terminal shows it: from its
  // last one on. `last` is trimmed, so something follows that carriage return.
  last = last.slice(last.lastIndexOf("\r") + 1).trim();
  // A command that stopped after a report (its own early stop, a crash handled as exit 0) never
  // printed its value: the report's last number would be its step, or a partial value.
  if (readReport(last) !== undefined)
    return {
      ok: false,
      reason: `the last output line is an intermediate value, not a final one: ${quote(last)}`,
    };
  // {"value": 0.24, "acc": 0.9, "auc": NaN}: the value is named, whatever the other keys hold.
  const object = jsonLine(last);
  if (object !== undefined && "value" in object) {
    const { value } = object as { value: unknown };
    if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
    return { ok: false, reason: `"value" on the last output line is not a finite number: ${quote(last)}` };
  }
  // {'value': 0.42}: what Python's print writes for a dict.
  const fromDict = object === undefined ? pythonDictValue(last) : undefined;
  if (fromDict !== undefined && fromDict !== "") {
    const value = NUMBER_TOKEN.test(fromDict) ? Number(fromDict) : Number.NaN;
    if (Number.isFinite(value)) return { ok: true, value };
    return { ok: false, reason: `'value' on the last output line is not a finite number: ${quote(last)}` };
  }
  // The minus sign U+2212 (what Intl.NumberFormat writes in some locales, and typeset text) is a
  // minus: skipped, it would turn a negative value positive.
  const text = last.replaceAll(MINUS_SIGN, "-");
  // "loss: nan" after "epoch 3": the last number would be the epoch. A diverged value is no value.
  if (NON_FINITE_WORD.test(text))
    return { ok: false, reason: `value on the last output line is not finite: ${quote(last)}` };
  // Without "value" a JSON object's numbers are other metrics ({"epoch": 3, "loss": 0.5}), none
  // named as the one to minimise ("3," would stand alone).
  if (object !== undefined || fromDict === "")
    return {
      ok: false,
      reason: `the last output line is a JSON object without "value": ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  let found: string | undefined;
  let count = 0;
  for (const [token] of text.matchAll(/[^\s,]+/g)) {
    const number = standaloneNumber(token);
    if (number === undefined) continue;
    found = number;
    count++;
  }
  if (found === undefined)
    return {
      ok: false,
      reason: `no number stands alone on the last output line ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  const value = Number(found);
  if (!Number.isFinite(value))
    return { ok: false, reason: `value on the last output line is not finite: ${quote(last)}` };
  return count === 1 ? { ok: true, value } : { ok: true, value, ambiguousLine: last };
}

/**
 * The warning for a value read from a line of several standalone numbers (see `ambiguousLine`),
 * given once per run: the last number of "loss 0.42 lr 0.001" is the learning rate's, and a run
 * tuned on it is wasted.
 */
export function ambiguousValueWarning(trialId: number, line: string, value: number): string {
  return (
    `arqon solve: trial ${trialId}'s last output line ${quote(line)} holds several numbers; its value ` +
    `is taken to be the last, ${value}. If it is not, print the value alone on the last line (a label ` +
    `is fine: "loss=0.42") or as JSON {"value": 0.42}. (Said once per run.)\n`
  );
}

/**
 * The warning for a line that looks meant as a report but is none, and `why` (see
 * {@link unreadReport}), given once per run: it is not read as an intermediate value, so a pruner
 * never sees the trial.
 */
export function unreadReportWarning(trialId: number, line: string, why: string): string {
  return (
    `arqon solve: trial ${trialId} printed ${quote(line)}, which is not read as an intermediate ` +
    `value: ${why}. For pruning, print {"step": N, "value": X} alone on its line. (Said once per run.)\n`
  );
}

/** Quotes a line for an error message, shortened so the message stays one readable line. */
function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}
