import * as fs from "node:fs";
import { describe, expect, it, vi } from "vitest";
import type { InspectionEvent } from "xstate";
import { createSolver, type Solver, type SolverConfig } from "../src/index.js";
import {
  acquireLogLock,
  createSolverLog,
  type LoggedSolver,
  LogLockedError,
  openSolverLog,
  readDecisionLog,
} from "../src/log/index.js";
import type { SegmentIo } from "../src/log/segment-io.js";
import { tempLogDirs } from "./support/log-dir.js";

/**
 * The writer's file operations, failing on demand: `full` refuses writes with ENOSPC after writing
 * half their bytes (a full disk takes part of a write); `syncFails` refuses fdatasync with EIO after
 * the bytes were written; `failures` counts down the refusals before the disk works again.
 */
const disk = vi.hoisted(() => ({
  full: false,
  syncFails: false,
  failures: Number.POSITIVE_INFINITY,
  unreadable: false,
}));

vi.mock("../src/log/segment-io.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/log/segment-io.js")>();
  const refuse = (code: string, what: string): boolean => {
    if (disk.failures <= 0) return false;
    disk.failures--;
    throw Object.assign(new Error(`${code}: ${what}`), { code });
  };
  const io: SegmentIo = {
    ...actual.nodeSegmentIo,
    writeSync: ((fd: number, bytes: Uint8Array, offset: number, length: number, position: number) => {
      if (disk.full && disk.failures > 0) {
        fs.writeSync(fd, bytes, offset, Math.floor(length / 2), position);
        refuse("ENOSPC", "no space left on device, write");
      }
      return fs.writeSync(fd, bytes, offset, length, position);
    }) as SegmentIo["writeSync"],
    fdatasyncSync: ((fd: number) => {
      if (disk.syncFails) refuse("EIO", "i/o error, fdatasync");
      fs.fdatasyncSync(fd);
    }) as SegmentIo["fdatasyncSync"],
  };
  return { ...actual, nodeSegmentIo: io };
});

/** `unreadable` makes reading a log fail (an I/O error on the way back). */
vi.mock("../src/log/reader.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/log/reader.js")>();
  return {
    ...actual,
    readDecisionLog: (...args: Parameters<typeof actual.readDecisionLog>) => {
      if (disk.unreadable) throw new Error("EIO: i/o error, read");
      return actual.readDecisionLog(...args);
    },
  };
});

const newDir = tempLogDirs();

const CONFIG = {
  seed: 4,
  budget: 12,
  bounds: { x: { min: 0, max: 1 }, y: { min: -2, max: 2 } },
} satisfies SolverConfig;

/** One call of each kind that changes a solver's state, made after `setUp`. */
const CALLS = {
  ask: (s: Solver) => s.ask({ max: 1 }),
  tell: (s: Solver) => s.tell({ id: 1, value: 0.25 }),
  fail: (s: Solver) => s.fail(2, "crashed"),
  report: (s: Solver) => s.report(1, 0, 0.5),
} as const;
type CallKind = keyof typeof CALLS;
const KINDS = Object.keys(CALLS) as CallKind[];

function setUp(dir: string): { logged: LoggedSolver; twin: Solver } {
  const logged = createSolverLog(dir, createSolver(CONFIG));
  const twin = createSolver(CONFIG);
  // Two of the three probe trials: the third is the `ask` call's.
  expect(logged.ask({ max: 2 })).toEqual(twin.ask({ max: 2 }));
  return { logged, twin };
}

/** Tells every pending trial to both solvers and asks once more: the two must keep agreeing. */
function carryOn(logged: Solver, twin: Solver): void {
  for (const t of twin.pendingTrials()) {
    logged.tell({ id: t.id, value: Number(t.params.x) });
    twin.tell({ id: t.id, value: Number(t.params.x) });
  }
  expect(logged.ask({ max: 2 })).toEqual(twin.ask({ max: 2 }));
}

function healDisk(): void {
  disk.full = false;
  disk.syncFails = false;
  disk.failures = Number.POSITIVE_INFINITY;
  disk.unreadable = false;
}

describe("a logged solver's call whose write fails changes nothing", () => {
  for (const kind of KINDS) {
    it(`${kind}: refused while another writer holds the log's lock, then retried`, () => {
      const dir = newDir();
      const { logged, twin } = setUp(dir);
      logged.closeLog(); // the next call opens the log again
      const before = logged.toJSON();
      const other = acquireLogLock(dir);
      try {
        expect(() => CALLS[kind](logged)).toThrow(LogLockedError);
      } finally {
        other.release();
      }
      expect(logged.toJSON()).toEqual(before);
      expect(CALLS[kind](logged)).toEqual(CALLS[kind](twin));
      expect(logged.toJSON()).toEqual(twin.toJSON());
      carryOn(logged, twin);
      logged.closeLog();
      expect(openSolverLog(dir).toJSON()).toEqual(twin.toJSON());
    });

    it(`${kind}: refused when the disk is full mid-write, then retried once there is room`, () => {
      const dir = newDir();
      const { logged, twin } = setUp(dir);
      const before = logged.toJSON();
      disk.full = true;
      try {
        expect(() => CALLS[kind](logged)).toThrow(/ENOSPC/);
      } finally {
        healDisk();
      }
      expect(logged.toJSON()).toEqual(before);
      expect(CALLS[kind](logged)).toEqual(CALLS[kind](twin));
      carryOn(logged, twin);
      logged.closeLog();
      expect(openSolverLog(dir).toJSON()).toEqual(twin.toJSON());
    });
  }

  it("a write that fails once and succeeds when retried on closing completes the call", () => {
    const dir = newDir();
    const { logged, twin } = setUp(dir);
    disk.full = true;
    disk.failures = 1;
    try {
      logged.tell({ id: 1, value: 0.25 });
    } finally {
      healDisk();
    }
    twin.tell({ id: 1, value: 0.25 });
    expect(logged.toJSON()).toEqual(twin.toJSON());
    carryOn(logged, twin);
    logged.closeLog();
    expect(openSolverLog(dir).toJSON()).toEqual(twin.toJSON());
  });

  it("after a failed fsync the solver holds what the log holds, and later calls keep them equal", () => {
    const dir = newDir();
    const { logged } = setUp(dir);
    disk.syncFails = true;
    try {
      // The bytes reach the file though fdatasync refuses: whoever reads the log sees the tell.
      expect(() => logged.tell({ id: 1, value: 0.25 })).toThrow(/EIO/);
    } finally {
      healDisk();
    }
    expect(logged.toJSON()).toEqual(openSolverLog(dir).toJSON());
    expect(logged.trialStatus(1)).toBe("told");
    logged.tell({ id: 2, value: 0.5 });
    logged.ask({ max: 1 });
    logged.closeLog();
    expect(openSolverLog(dir).toJSON()).toEqual(logged.toJSON());
  });

  it("refuses every later change when the log cannot be read back after a failed write", () => {
    const dir = newDir();
    const { logged } = setUp(dir);
    disk.full = true;
    disk.unreadable = true;
    try {
      expect(() => logged.tell({ id: 1, value: 0.25 })).toThrow(/ENOSPC/);
    } finally {
      healDisk();
    }
    // The solver took the tell and its log did not: writing more would make the log diverge.
    expect(() => logged.fail(2)).toThrow(
      /solver log .*: a failed write left this solver ahead of its log \(.*ENOSPC.*reading the log back: EIO.*\); reopen it with openSolverLog/,
    );
    const reopened = openSolverLog(dir);
    expect(reopened.trialStatus(1)).toBe("pending");
    reopened.tell({ id: 1, value: 0.25 });
    reopened.closeLog();
  });

  it("a solver put back after a failed write still reports to its inspection sink", () => {
    const dir = newDir();
    const events: string[] = [];
    const inspect = (event: InspectionEvent) => {
      if (event.type === "@xstate.event") events.push(event.event.type);
    };
    const logged = createSolverLog(dir, createSolver({ ...CONFIG, inspect }));
    const trials = logged.ask({ max: 3 })!;
    logged.tell({ id: trials[0]!.id, value: 1 });
    logged.tell({ id: trials[1]!.id, value: 2 });
    disk.full = true;
    try {
      expect(() => logged.tell({ id: trials[2]!.id, value: 3 })).toThrow(/ENOSPC/);
    } finally {
      healDisk();
    }
    events.length = 0;
    logged.tell({ id: trials[2]!.id, value: 3 }); // the last probe result: the probe completes
    expect(events).toContain("probe.completed");
    logged.closeLog();
  });

  it("a refused call writes nothing and leaves the log unlocked", () => {
    const dir = newDir();
    const { logged } = setUp(dir);
    logged.closeLog();
    const records = readDecisionLog(dir).records.length;
    expect(() => logged.tell({ id: 99, value: 1 })).toThrow(/trial 99/);
    acquireLogLock(dir).release();
    expect(readDecisionLog(dir).records.length).toBe(records);
  });
});
