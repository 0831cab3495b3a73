import { describe, expect, it } from "vitest";
import { withoutPassword } from "../src/study/without-password.js";

describe("withoutPassword", () => {
  it("hides a password in the userinfo and in a password query parameter", () => {
    expect(withoutPassword("redis://:s3cret@10.0.0.5:6379")).toBe("redis://:***@10.0.0.5:6379");
    expect(withoutPassword("redis://u:s3cret@h:1?password=s3cret&db=2")).toBe(
      "redis://u:***@h:1?password=***&db=2",
    );
  });

  it("leaves a URL without a password, or a text that is no URL and holds none, as it is", () => {
    expect(withoutPassword("redis://10.0.0.5:6379")).toBe("redis://10.0.0.5:6379");
    expect(withoutPassword("localhost")).toBe("localhost");
  });

  it("shows a text that is no URL but might hold a password as a placeholder", () => {
    expect(withoutPassword("//:s3cret@host")).toBe("the given URL");
  });

  it("shows as a placeholder any text with an @ that is not a redis:// or rediss:// URL", () => {
    // ioredis reads "default:s3cret" as the user and password of these.
    for (const text of [
      "default:s3cret@redis.internal:6379",
      "redis:s3cret@redis.internal:6379",
      "http://u:s3cret@h",
      " redis://:s3cret@h",
    ])
      expect(withoutPassword(text), text).toBe("the given URL");
  });

  it("hides every query parameter whose name says password, in a URL or not", () => {
    expect(withoutPassword("redis://h?sentinelPassword=s3cret&db=1")).toBe(
      "redis://h?sentinelPassword=***&db=1",
    );
    expect(withoutPassword("rediss://h/?Password=x")).toBe("rediss://h/?Password=***");
    expect(withoutPassword("redis://h?password=a&password=b")).toBe("redis://h?password=***&password=***");
    expect(withoutPassword("redis://h?pass%77ord=s3cret")).toBe("redis://h?pass%77ord=***");
    expect(withoutPassword("redis.internal:6379?password=s3cret&db=2")).toBe(
      "redis.internal:6379?password=***&db=2",
    );
    expect(withoutPassword("localhost:6379/0?sentinelPassword=s3cret")).toBe(
      "localhost:6379/0?sentinelPassword=***",
    );
    expect(withoutPassword("h:1?pass%77ord=s3cret")).toBe("h:1?pass%77ord=***");
  });

  it("hides the password of a userinfo holding an @", () => {
    expect(withoutPassword("redis://:p@ss@host:6379")).toBe("redis://:***@host:6379");
    expect(withoutPassword("redis://u:s%40cret@h")).toBe("redis://u:***@h");
  });
});
