// Watches the commands a redis-server runs (its MONITOR feed) over a plain socket. ioredis's own
// `monitor()` can take a feed line that arrives in the same packet as MONITOR's "+OK" for the
// reply to a command and fail with "Command queue state error" (seen on a loaded machine).
import { connect, type Socket } from "node:net";

/** The commands a server runs, as MONITOR reports them, each as its arguments. */
export interface RedisCommandWatch {
  /** Resolves once `count` commands (from the start of the watch) satisfied `matches`. */
  seen(count: number, matches?: (args: readonly string[]) => boolean): Promise<void>;
  /** Ends the watch (its connection closes). */
  close(): void;
}

/** Starts watching the server at `url` (`redis://host:port`); resolves once MONITOR is on. */
export async function watchRedisCommands(url: string): Promise<RedisCommandWatch> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  const commands: string[][] = [];
  const waiters: { count: number; matches: (args: readonly string[]) => boolean; done: () => void }[] = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (commands.filter(waiter.matches).length < waiter.count) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.done();
    }
  };
  let buffered = "";
  let monitoring: () => void = () => {};
  const on = new Promise<void>((resolve, reject) => {
    monitoring = resolve;
    socket.once("error", reject);
  });
  socket.setEncoding("utf8");
  socket.on("data", (text: string) => {
    buffered += text;
    for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === "+OK") monitoring();
      else if (line.startsWith("+")) commands.push(argumentsOf(line));
    }
    settle();
  });
  socket.on("error", () => {});
  socket.write("MONITOR\r\n");
  await on;
  return {
    seen: (count, matches = () => true) =>
      new Promise((done) => {
        waiters.push({ count, matches, done });
        settle();
      }),
    close: () => socket.destroy(),
  };
}

/** The arguments of a MONITOR line (`+<time> [<db> <client>] "arg" "arg" …`), unescaped. */
function argumentsOf(line: string): string[] {
  const args: string[] = [];
  let i = line.indexOf("] ");
  while (i >= 0 && i < line.length) {
    const open = line.indexOf('"', i);
    if (open < 0) break;
    let arg = "";
    let k = open + 1;
    for (; k < line.length && line[k] !== '"'; k++) {
      if (line[k] !== "\\") {
        arg += line[k];
        continue;
      }
      const next = line[++k];
      if (next === "x") {
        arg += String.fromCharCode(Number.parseInt(line.slice(k + 1, k + 3), 16));
        k += 2;
      } else arg += next === "n" ? "\n" : next === "r" ? "\r" : next === "t" ? "\t" : (next ?? "");
    }
    args.push(arg);
    i = k + 1;
  }
  return args;
}
