import { describe, expect, it } from "vitest";
import { LocalTurns } from "../src/solver/local-turns.js";

/** The next `n` turns, "R" for the trust region and "S" for the simplex, each told `improved(side)`. */
function play(turns: LocalTurns, n: number, improved: (region: boolean) => boolean): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const region = turns.next();
    turns.record(region, improved(region));
    out += region ? "R" : "S";
  }
  return out;
}

describe("local turns: the simplex and the trust region", () => {
  it("gives the trials to the side that keeps improving, yielding one turn after maxStreak", () => {
    // The region always improves, the simplex never: runs of 3 region turns, one simplex turn.
    expect(play(new LocalTurns(3), 12, (region) => region)).toBe("RRRSRRRSRRRS");
    // The other way round (the region goes first on the tie, then loses its lead).
    expect(play(new LocalTurns(3), 10, (region) => !region)).toBe("RSSSRSSSRS");
  });

  it("follows a change of landscape: a side that stops improving loses the lead", () => {
    const turns = new LocalTurns(8);
    const first = play(turns, 20, (region) => region);
    expect(first.split("S").length - 1).toBeLessThanOrEqual(3);
    // From now on only the simplex improves: within a few turns it takes most of them.
    const later = play(turns, 40, (region) => !region).slice(10);
    expect(later.split("").filter((c) => c === "S").length).toBeGreaterThanOrEqual(24);
  });

  it("keeps the lead with the side that has more evidence when both always improve", () => {
    // (wins + 1) / (tries + 2) grows with the tries: the region, first on the tie, keeps the lead,
    // and the simplex still gets one turn in every maxStreak + 1.
    expect(play(new LocalTurns(8), 27, () => true)).toBe("RRRRRRRRS".repeat(3));
  });

  it("round-trips through JSON and refuses a malformed state", () => {
    const turns = new LocalTurns(4);
    play(turns, 9, (region) => region);
    const copy = LocalTurns.restore(4, JSON.parse(JSON.stringify(turns.toJSON())));
    expect(copy.toJSON()).toEqual(turns.toJSON());
    const improved = (region: boolean) => !region;
    expect(play(copy, 12, improved)).toBe(play(turns, 12, improved));
    for (const bad of [null, [1, 2, 3], [0, 0, 0, 0, 0.5, 0], [0, -1, 0, 0, 0, 0], "x"]) {
      expect(() => LocalTurns.restore(4, bad)).toThrow(/turns/);
    }
  });
});
