/**
 * A Redis URL may carry its password as userinfo (`redis://:pw@host`) or, as ioredis also reads
 * it, as a `password` query parameter: messages that show the URL hide both.
 */
import { describe, expect, it, vi } from "vitest";
import { openSharedStudy } from "../src/study/index.js";
import { freePort } from "./support/redis-server.js";

const config = { seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } };

async function openFailure(url: string): Promise<Error | undefined> {
  const printed = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    return await openSharedStudy(config, { redis: url, study: "password" }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
  } finally {
    printed.mockRestore();
  }
}

describe("a Redis URL's password in messages", () => {
  it("hides a password given as a query parameter", async () => {
    const port = await freePort(); // nothing listens there
    const failure = await openFailure(`redis://127.0.0.1:${port}?password=s3cret&db=0`);
    expect(failure?.message).toMatch(
      new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}\\?password=\\*\\*\\*&db=0: `),
    );
    expect(failure?.message).not.toContain("s3cret");
  });

  it("hides a password given both ways", async () => {
    const port = await freePort();
    const failure = await openFailure(`redis://user:first-secret@127.0.0.1:${port}/2?password=second-secret`);
    expect(failure?.message).toMatch(
      new RegExp(
        `^cannot reach Redis at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}/2\\?password=\\*\\*\\*: `,
      ),
    );
    expect(failure?.message).not.toMatch(/first-secret|second-secret/);
  });
});
