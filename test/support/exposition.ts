/**
 * Reading a Prometheus scrape in tests.
 */

/** Parsed exposition text: `name{labels}` → value; comments and blank lines are skipped. */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** Scrapes `registry` (anything with prom-client's `metrics()`) into series by name. */
export async function scrape(registry: { metrics(): Promise<string> }): Promise<Map<string, number>> {
  return parseExposition(await registry.metrics());
}
