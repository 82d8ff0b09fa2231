// Figures from the reliability suite (calls made, faults injected, inputs tried, recovery times,
// leaks), appended as JSON lines to $RELIABILITY_OUT when set, so docs/reliability.md can quote a
// run. Without the variable, nothing is written.
import { appendFileSync } from 'node:fs';

export function recordFigure(suite: string, figure: string, value: number | string, unit = ''): void {
  const out = process.env.RELIABILITY_OUT;
  if (!out) return;
  appendFileSync(out, `${JSON.stringify({ suite, figure, value, unit })}\n`);
}
