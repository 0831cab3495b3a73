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
});
