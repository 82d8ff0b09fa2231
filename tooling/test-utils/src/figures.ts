// Figures for docs/reliability.md: appended as JSON lines to $RELIABILITY_OUT when it is set
// (`RELIABILITY_OUT=/tmp/figures.jsonl pnpm test`). Without the variable, nothing is written.
import { appendFileSync } from 'node:fs';

export function recordFigure(suite: string, figure: string, value: number | string, unit = ''): void {
  const out = process.env.RELIABILITY_OUT;
  if (!out) return;
  appendFileSync(out, `${JSON.stringify({ suite, figure, value, unit })}\n`);
}
