import { stripVTControlCharacters } from "node:util";
import { visit } from "jsonc-parser";

/** The objective value read from a command's output, or why none could be read. */
export type ObjectiveReading =
  | {
      readonly ok: true;
      readonly value: number;
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
  if (parsed === undefined || Object.keys(parsed).length !== 2 || doubledReportKey(line)) return undefined;
  return numericStepAndValue(parsed);
}

/** Whether `step` or `value` is given twice in a JSON line (JSON.parse would keep the last). */
function doubledReportKey(line: string): boolean {
  return topLevelKeyCount(line, "step") > 1 || topLevelKeyCount(line, "value") > 1;
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
    if (keys.includes("step") && keys.includes("value") && doubledReportKey(line))
      return 'its "step" or "value" is given twice (which one was meant is unknown)';
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

/** How many times `key` is a key of the outermost object of the JSON line `text` (colours aside). */
function topLevelKeyCount(text: string, key: string): number {
  let depth = 0;
  let count = 0;
  visit(stripVTControlCharacters(text), {
    onObjectBegin: () => {
      depth++;
    },
    onObjectEnd: () => {
      depth--;
    },
    onArrayBegin: () => {
      depth++;
    },
    onArrayEnd: () => {
      depth--;
    },
    onObjectProperty: (name) => {
      if (depth === 1 && name === key) count++;
    },
  });
  return count;
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

/** A number a token of the last line holds: bare (`0.42`) or after a label (`loss=0.42`). */
interface LineNumber {
  readonly text: string;
  readonly labelled: boolean;
}

/**
 * The number a whitespace-separated token of the last line holds alone, or undefined: the token
 * is a number (`0.42`), or a label, `=` or `:` and a number (`loss=0.42`, `loss:-1e-3`,
 * `INFO:root:loss=0.42`: the number after the last separator), the label one name holding a
 * letter (`12:00` is a time, `loss=0.42,acc` two pairs). One `,`, `;` or `.` ending the token ends a clause, not the number
 * (`loss: 0.42.`), and closing brackets may end a labelled one (`(loss=0.42)`, `loss=0.42],`).
 * A number glued to anything else (`3.2s`, `ckpt-12.pt`, `gpu-0`,
 * `12:00:01,123`) is none: log text holds such numbers.
 */
function standaloneNumber(token: string): LineNumber | undefined {
  const word = /[,;.]$/.test(token) && token.length > 1 ? token.slice(0, -1) : token;
  if (NUMBER_TOKEN.test(word)) return { text: word, labelled: false };
  const separator = Math.max(word.lastIndexOf("="), word.lastIndexOf(":"));
  if (separator <= 0) return undefined;
  const label = word.slice(0, separator);
  // A bracket may close a labelled number as one may open its label (`(acc=0.9, loss=0.38)`,
  // tqdm's `…, val_loss=0.38]`): either way the pair counts, so that a line of two pairs is
  // refused as several numbers rather than read as its first.
  const number = word.slice(separator + 1).replace(/[)\]}]+[,;.]?$/, "");
  // One name (`INFO:root:loss` counts as one), not several pairs run together (`loss=0.42,acc`).
  const name = /\p{L}/u.test(label) && !/[=,;]/.test(label);
  return NUMBER_TOKEN.test(number) && name ? { text: number, labelled: true } : undefined;
}

/**
 * The `value` of an object printed as Python or Node print one, which is no JSON
 * (`{'value': 0.42}` from Python's `print`, `{ value: 0.42, acc: 0.9 }` from `console.log`): its
 * text, or "" when the line is such an object without one, or undefined when it is none.
 */
function printedObjectValue(line: string): string | undefined {
  if (!line.startsWith("{") || !line.endsWith("}")) return undefined;
  const match = /[{,]\s*(['"]?)value\1\s*:\s*([^,}\s][^,}]*?)\s*[,}]/.exec(line);
  return match?.[2] ?? "";
}

/**
 * Reads the objective value from the standard output of an objective command: the one number on
 * the last non-empty line, or its `value` when that line is an object with one.
 *
 * @remarks
 * The line must hold exactly one number standing alone (see {@link standaloneNumber}), and a bare
 * one must end it: `"RESULT=0.99"` gives 0.99, `"loss: 1.5e-2"` and `"loss:1.5e-2"` 0.015,
 * `"  0.75 "` 0.75, `"0.1\n0.2\n0.3"` 0.3, `"epoch 3/3 loss 0.42"` 0.42 (`3/3` is no number alone),
 * `"val_loss=0.31 saved to ckpt-12.pt"` 0.31. `{"value": 0.24, "acc": 0.9}` gives 0.24, and so do
 * `{'value': 0.24}` (Python's print) and `{ value: 0.24 }` (Node's console.log). Refused, so that no
 * log line's number is told as the value: several numbers (`"loss 0.42 lr 0.001"`, which is the
 * value cannot be told), a bare number with words after it (`"took 12 ms"`), none alone
 * (`"Done in 3.2s"`, `"run-7"`: a `-` after a letter, digit, `_` or `.` is a hyphen). The minus
 * sign U+2212 reads as `-`. A line redrawn with carriage returns reads as a terminal shows it
 * (`"epoch 1\repoch 2\rloss 0.5"` gives 0.5). Empty output, an object without `value`, a number
 * that is not finite once parsed (`1e999`), a `NaN`, `inf` or `Infinity` word (a diverged value,
 * whatever number comes before it), or a last line that is an intermediate value
 * ({@link readReport}) is a failure with a short reason too. Terminal control sequences (colours,
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
    // JSON.parse keeps the last of two "value" keys: which one the command meant is unknown.
    if (topLevelKeyCount(last, "value") > 1)
      return { ok: false, reason: `"value" is given twice on the last output line: ${quote(last)}` };
    const { value } = object as { value: unknown };
    if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
    return { ok: false, reason: `"value" on the last output line is not a finite number: ${quote(last)}` };
  }
  // {'value': 0.42} (Python's print of a dict), { value: 0.42 } (Node's console.log).
  const printed = object === undefined ? printedObjectValue(last) : undefined;
  if (printed !== undefined && printed !== "") {
    const value = NUMBER_TOKEN.test(printed) ? Number(printed) : Number.NaN;
    if (Number.isFinite(value)) return { ok: true, value };
    // np.float64(0.38), tensor(0.38): a scalar's repr, not its number.
    const scalar = /^[\w.]+\(/.test(printed) ? " (a numpy or torch scalar: print float(x) or x.item())" : "";
    return {
      ok: false,
      reason: `'value' on the last output line is not a finite number${scalar}: ${quote(last)}`,
    };
  }
  // The minus sign U+2212 (what Intl.NumberFormat writes in some locales, and typeset text) is a
  // minus: skipped, it would turn a negative value positive.
  const text = last.replaceAll(MINUS_SIGN, "-");
  // "loss: nan" after "epoch 3": the last number would be the epoch. A diverged value is no value.
  if (NON_FINITE_WORD.test(text))
    return { ok: false, reason: `value on the last output line is not finite: ${quote(last)}` };
  // Without "value" an object's numbers are other metrics ({"epoch": 3, "loss": 0.5}), none
  // named as the one to minimise.
  if (object !== undefined || printed === "")
    return {
      ok: false,
      reason: `the last output line is a JSON object without "value": ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  const tokens = text.match(/\S+/g) ?? [];
  const numbers = tokens.map(standaloneNumber);
  const found = numbers.filter((n) => n !== undefined);
  // Which of several numbers is the value cannot be told ("loss 0.42 lr 0.001", "val_loss 0.38
  // step 3"), and a guess would be told for every trial: the line is refused.
  if (found.length > 1)
    return {
      ok: false,
      reason: `the last output line holds several numbers, and which is the value cannot be told: ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  const only = found[0];
  if (only === undefined)
    return {
      ok: false,
      reason: `no number stands alone on the last output line ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  // A bare number with words after it is a count or a measure ("took 12 ms", "Synced 5 files").
  if (!only.labelled && numbers[numbers.length - 1] !== only)
    return {
      ok: false,
      reason: `the number on the last output line is followed by words (a count or a measure?): ${quote(last)}; ${PRINT_VALUE_ALONE}`,
    };
  const value = Number(only.text);
  if (!Number.isFinite(value))
    return { ok: false, reason: `value on the last output line is not finite: ${quote(last)}` };
  return { ok: true, value };
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
