/**
 * ReportForwarder (arqon solve --storage): a command's report lines reach the study in order,
 * those that wait for a send go together, and nothing more is sent once the trials are aborted.
 * Driven against a stand-in study whose answers the test releases one by one.
 */
import { describe, expect, it } from "vitest";
import { ReportForwarder } from "../src/cli/report-forwarder.js";
import { REPORT_STEPS, type StepReports, type StepsOutcome } from "../src/study/report-steps.js";
import type { SharedStudy } from "../src/study/shared-study.js";

/** A study that records each batch it is sent and answers when the test says. */
function standIn() {
  const sent: StepReports[] = [];
  const answers: ((outcome: StepsOutcome) => void)[] = [];
  const study = {
    [REPORT_STEPS](_id: number, reports: StepReports): Promise<StepsOutcome> {
      sent.push(reports);
      return new Promise((resolve) => answers.push(resolve));
    },
  } as unknown as SharedStudy;
  /** Answers the oldest send, then lets the forwarder go on. */
  const answer = async (outcome: StepsOutcome = { prune: false }) => {
    answers.shift()!(outcome);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { study, sent, answer };
}

function forwarder(study: SharedStudy, aborted = new AbortController()) {
  const lost: unknown[] = [];
  const reports = new ReportForwarder(study, 1, {
    retryMs: () => 0,
    giveUp: new AbortController().signal,
    aborted: aborted.signal,
    onRetry: () => {},
    onLost: (error) => lost.push(error),
    onRecorded: () => {},
  });
  return { reports, aborted, lost };
}

const line = (step: number) => JSON.stringify({ step, value: 1 / step });

describe("ReportForwarder", () => {
  it("sends the lines that came during a send together, in order, and stops on a prune verdict", async () => {
    const { study, sent, answer } = standIn();
    const { reports } = forwarder(study);
    reports.line(line(1), 1, 1);
    reports.line(line(2), 2, 0.5);
    reports.line(line(3), 3, 1 / 3);
    expect(sent).toEqual([[[1, 1]]]);
    await answer();
    expect(sent).toEqual([
      [[1, 1]],
      [
        [2, 0.5],
        [3, 1 / 3],
      ],
    ]);
    await answer({ prune: true });
    await reports.settled();
    expect(reports.stop.signal.aborted).toBe(true);
    // Lines after the verdict still go (a command that then finishes keeps its whole curve).
    reports.line(line(4), 4, 0.25);
    expect(sent).toHaveLength(3);
  });

  it("names the refused line and sends nothing after it", async () => {
    const { study, sent, answer } = standIn();
    const { reports } = forwarder(study);
    reports.line(line(2), 2, 0.5);
    reports.line('{"step":1,"value":1}', 1, 1);
    await answer();
    const error = new Error(
      "report: step must be a whole number greater than trial 1's previous step 2, got 1",
    );
    await answer({ prune: false, refused: { index: 0, error: error as never } });
    await reports.settled();
    expect(reports.refused).toBe(
      'refused intermediate value {"step":1,"value":1}: step must be a whole number greater than trial 1\'s previous step 2, got 1',
    );
    reports.line(line(3), 3, 1 / 3);
    expect(sent).toHaveLength(2);
  });

  it("sends nothing more once the running trials are aborted", async () => {
    const { study, sent, answer } = standIn();
    const { reports, aborted, lost } = forwarder(study);
    reports.line(line(1), 1, 1);
    reports.line(line(2), 2, 0.5);
    aborted.abort();
    await answer();
    await reports.settled();
    reports.line(line(3), 3, 1 / 3);
    expect(sent).toEqual([[[1, 1]]]);
    expect(lost).toEqual([]);
  });
});
