/**
 * Entry point of the `arqon` command line (see {@link runCli} for the commands).
 *
 * @remarks
 * Sets `process.exitCode` instead of calling `process.exit`, so buffered stdout is flushed
 * completely before the process ends (a pipe reader would otherwise get truncated JSON).
 */
import { processIo } from "./io.js";
import { runCli } from "./run-cli.js";

const io = processIo();
process.exitCode = await io.exitCode(await runCli(process.argv.slice(2), io));
