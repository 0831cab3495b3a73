import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalCommandBytes, type FleetCommand } from "../src/fleet/command.js";
import { NonceLedger } from "../src/fleet/nonce-ledger.js";
import {
  type CommandRejection,
  CommandSigner,
  CommandVerifier,
  type Keyring,
  rotateKeyring,
  type SignedCommand,
  type VerifierOptions,
} from "../src/fleet/signing.js";

const secret = (fill: number) => new Uint8Array(32).fill(fill);
const RING: Keyring = { active: "k1", keys: [{ id: "k1", secret: secret(1) }] };
const T0 = 1_700_000_000_000;

function command(overrides: Partial<FleetCommand> = {}): FleetCommand {
  return {
    kind: "apply",
    commandId: "c-1",
    runId: "run-a",
    issuedAt: T0,
    epoch: 3,
    generation: 12,
    values: { batch: 64, timeout: 250.5 },
    ...overrides,
  };
}

function verifier(overrides: Partial<VerifierOptions> = {}) {
  const clock = { now: T0 };
  const rejections: CommandRejection[] = [];
  const v = new CommandVerifier({
    keyring: RING,
    runId: "run-a",
    now: () => clock.now,
    onRejected: (r) => rejections.push(r),
    ...overrides,
  });
  return { v, clock, rejections };
}

describe("canonical command encoding", () => {
  it("gives the same bytes for the same command whatever the key order", () => {
    const a = command({ values: { batch: 64, timeout: 250.5 } });
    const b: FleetCommand = {
      values: { timeout: 250.5, batch: 64 },
      generation: 12,
      epoch: 3,
      issuedAt: T0,
      runId: "run-a",
      commandId: "c-1",
      kind: "apply",
    };
    expect(Buffer.from(canonicalCommandBytes(a)).equals(Buffer.from(canonicalCommandBytes(b)))).toBe(true);
    const signer = new CommandSigner(RING);
    expect(signer.sign(a).mac).toBe(signer.sign(b).mac);
  });

  it("length-prefixes fields so that moving a boundary changes the bytes", () => {
    const a = canonicalCommandBytes(command({ commandId: "ab", runId: "c" }));
    const b = canonicalCommandBytes(command({ commandId: "a", runId: "bc" }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe("command verification", () => {
  it("accepts a fresh, correctly signed command once", () => {
    const { v } = verifier();
    const signed = new CommandSigner(RING).sign(command());
    const verdict = v.verify(JSON.stringify(signed));
    expect(verdict.ok).toBe(true);
    expect(v.rejectedTotal).toBe(0);
  });

  it("refuses every single flipped byte of the wire envelope", () => {
    const signed = new CommandSigner(RING).sign(command());
    const wire = Buffer.from(JSON.stringify(signed));
    let accepted = 0;
    for (let i = 0; i < wire.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const forged = Buffer.from(wire);
        forged[i] = forged[i]! ^ mask;
        // A fresh verifier each time, so a refusal is never just the ledger seeing a replay.
        const { v } = verifier();
        if (v.verify(forged.toString("latin1")).ok) accepted++;
      }
    }
    expect(accepted).toBe(0);
  });

  it("refuses every flipped byte of the MAC and of the canonical bytes' fields", () => {
    const signer = new CommandSigner(RING);
    const signed = signer.sign(command());
    const mac = Buffer.from(signed.mac, "base64");
    for (let i = 0; i < mac.length; i++) {
      const forged = Buffer.from(mac);
      forged[i] = forged[i]! ^ 0xff;
      const { v } = verifier();
      const verdict = v.verify({ ...signed, mac: forged.toString("base64") });
      expect(verdict.ok ? "accepted" : verdict.rejection.reason).toBe("bad-mac");
    }
    const tampered: FleetCommand[] = [
      command({ commandId: "c-2" }),
      command({ runId: "run-b" }),
      command({ issuedAt: T0 + 1 }),
      command({ epoch: 4 }),
      command({ generation: 13 }),
      command({ values: { batch: 65, timeout: 250.5 } }),
      command({ values: { batch: 64, timeout: 250.5, extra: 1 } }),
    ];
    for (const changed of tampered) {
      const { v } = verifier();
      const verdict = v.verify({ ...signed, command: changed });
      expect(verdict.ok ? "accepted" : verdict.rejection.reason).toBe("bad-mac");
    }
  });

  it("refuses a replay, counts it and audits it", () => {
    const { v, rejections } = verifier();
    const signed = new CommandSigner(RING).sign(command());
    expect(v.verify(signed).ok).toBe(true);
    const again = v.verify(signed);
    expect(again.ok).toBe(false);
    expect(v.rejected.replay).toBe(1);
    expect(rejections).toEqual([expect.objectContaining({ reason: "replay", commandId: "c-1" })]);
  });

  it("refuses stale and future-dated commands", () => {
    const signer = new CommandSigner(RING);
    const { v, clock } = verifier({ maxAgeMs: 1000, maxFutureSkewMs: 100 });
    clock.now = T0 + 1001;
    expect(v.verify(signer.sign(command({ commandId: "old" })))).toMatchObject({
      ok: false,
      rejection: { reason: "stale" },
    });
    clock.now = T0 - 101;
    expect(v.verify(signer.sign(command({ commandId: "future" })))).toMatchObject({
      ok: false,
      rejection: { reason: "from-future" },
    });
    clock.now = T0 + 1000;
    expect(v.verify(signer.sign(command({ commandId: "edge" }))).ok).toBe(true);
    expect(v.rejected.stale).toBe(1);
    expect(v.rejected["from-future"]).toBe(1);
  });

  it("accepts an old key only inside its overlap window after a rotation", () => {
    const oldSigner = new CommandSigner(RING);
    const rotated = rotateKeyring(RING, { id: "k2", secret: secret(2) }, 5_000, T0);
    const { v, clock } = verifier({ keyring: rotated, maxAgeMs: 60_000 });
    clock.now = T0 + 4_000;
    expect(v.verify(oldSigner.sign(command({ commandId: "in-window" }))).ok).toBe(true);
    clock.now = T0 + 5_001;
    expect(v.verify(oldSigner.sign(command({ commandId: "late" })))).toMatchObject({
      ok: false,
      rejection: { reason: "key-expired" },
    });
    expect(v.verify(new CommandSigner(rotated).sign(command({ commandId: "new-key" }))).ok).toBe(true);
  });

  it("rotates only with a finite overlap and time, and refuses a key end that is not a time", () => {
    const next = { id: "k2", secret: secret(2) };
    // A NaN end (an unset environment variable as overlapMs) never came: the old key verified for ever.
    expect(() => rotateKeyring(RING, next, Number(undefined), T0)).toThrow(
      "rotateKeyring: overlapMs must be a finite number of ms ≥ 0, got NaN",
    );
    expect(() =>
      (rotateKeyring as (r: Keyring, k: typeof next, o: number) => Keyring)(RING, next, 5_000),
    ).toThrow("rotateKeyring: now must be a wall-clock time in ms (Date.now()), got undefined");
    const ended = (validUntil: unknown) => ({ active: "k2", keys: [{ ...RING.keys[0]!, validUntil }, next] });
    for (const bad of [Number.NaN, "2020-01-01", null])
      expect(() => verifier({ keyring: ended(bad) as never })).toThrow(
        `keys[0].validUntil: must be a wall-clock time in ms (Date.now() + overlap) or absent, got ${bad === null ? "null" : typeof bad === "string" ? JSON.stringify(bad) : "NaN"}`,
      );
  });

  it("refuses an unknown key id and a command of another run", () => {
    const { v } = verifier();
    const stranger = new CommandSigner({ active: "kx", keys: [{ id: "kx", secret: secret(9) }] });
    expect(v.verify(stranger.sign(command()))).toMatchObject({
      ok: false,
      rejection: { reason: "unknown-key" },
    });
    const sameIdOtherSecret = new CommandSigner({ active: "k1", keys: [{ id: "k1", secret: secret(9) }] });
    expect(v.verify(sameIdOtherSecret.sign(command()))).toMatchObject({
      ok: false,
      rejection: { reason: "bad-mac" },
    });
    const otherRun = new CommandSigner(RING).sign(command({ runId: "run-b" }));
    expect(v.verify(otherRun)).toMatchObject({ ok: false, rejection: { reason: "wrong-run" } });
  });

  it("fails closed when the nonce ledger is full, and makes room only from expired ids", () => {
    const signer = new CommandSigner(RING);
    const { v, clock } = verifier({ ledgerCapacity: 3, maxAgeMs: 1_000 });
    for (const id of ["a", "b", "c"]) expect(v.verify(signer.sign(command({ commandId: id }))).ok).toBe(true);
    expect(v.verify(signer.sign(command({ commandId: "d" })))).toMatchObject({
      ok: false,
      rejection: { reason: "ledger-full" },
    });
    // The held ids are still needed: the replays are refused as replays, not evicted.
    expect(v.verify(signer.sign(command({ commandId: "a" })))).toMatchObject({
      ok: false,
      rejection: { reason: "replay" },
    });
    // Once the held commands are past their freshness, their ids may go and new ones fit.
    clock.now = T0 + 1_001;
    expect(v.verify(signer.sign(command({ commandId: "e", issuedAt: T0 + 1_001 }))).ok).toBe(true);
    expect(v.rejected["ledger-full"]).toBe(1);
  });

  it("names the field of a malformed envelope, and never throws", () => {
    const { v } = verifier();
    const signed = new CommandSigner(RING).sign(command());
    const cases: [unknown, string][] = [
      ["{not json", "envelope: not valid JSON"],
      [null, "envelope: must be an object"],
      [{ ...signed, v: 2 }, "v: must be 1"],
      [{ ...signed, mac: "***" }, "mac: must be base64"],
      [{ ...signed, command: { ...signed.command, epoch: -1 } }, "command.epoch: must be a whole number ≥ 0"],
      [
        { ...signed, command: { ...signed.command, values: { batch: Number.NaN } } },
        "command.values.batch: must be a finite number",
      ],
    ];
    for (const [input, detail] of cases) {
      expect(v.verify(input)).toMatchObject({ ok: false, rejection: { reason: "malformed", detail } });
    }
    expect(v.rejected.malformed).toBe(cases.length);
  });

  it("rejects weak or inconsistent keyrings at construction", () => {
    expect(() => new CommandSigner({ active: "k", keys: [{ id: "k", secret: new Uint8Array(8) }] })).toThrow(
      /keys\[0\]\.secret: must be at least 32 bytes/,
    );
    expect(() => new CommandSigner({ active: "nope", keys: RING.keys })).toThrow(
      /active: no key has id "nope"/,
    );
  });

  it("compares MACs only with timingSafeEqual (no === on MACs in src/fleet)", () => {
    const source = readFileSync(new URL("../src/fleet/signing.ts", import.meta.url), "utf8");
    expect(source).toContain("timingSafeEqual(");
    // Type checks of the envelope's fields are not MAC comparisons.
    const comparisons = source.replace(/typeof [\w.]+ [!=]== "string"/g, "");
    expect(comparisons).not.toMatch(/(mac|given|expected)\w*\s*[!=]==|[!=]==\s*\w*(mac|given|expected)\b/i);
    expect(comparisons).not.toMatch(/\.equals\(/);
  });
});

describe("nonce ledger", () => {
  it("refuses a capacity that is not a whole number ≥ 1", () => {
    expect(() => new NonceLedger(0)).toThrow(/capacity/);
  });

  it("reports a replay of a held id and re-admits an id only after it expired", () => {
    const ledger = new NonceLedger(2);
    expect(ledger.register("x", 100, 0)).toBe("registered");
    expect(ledger.register("x", 100, 50)).toBe("replay");
    // Held through its expiry instant (a command is still fresh then), free just after.
    expect(ledger.register("x", 100, 100)).toBe("replay");
    expect(ledger.register("x", 300, 101)).toBe("registered");
  });
});

// Keep the wire type honest: a signed command round-trips through JSON unchanged.
it("a signed command survives JSON transport and still verifies", () => {
  const signed: SignedCommand = new CommandSigner(RING).sign(command());
  const { v } = verifier();
  expect(v.verify(JSON.parse(JSON.stringify(signed))).ok).toBe(true);
});
