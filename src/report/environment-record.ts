/** The environment of one measured run, as the report shows it (its own file so that input readers can name it without importing types.ts). */
export interface Environment {
  gpu: string;
  driver?: string;
  torch?: string;
  cuda?: string;
  cudnn?: string;
  commit?: string;
  /** ISO date the run was created. */
  date?: string;
  command?: string;
  computeCapability?: string;
  /** The run this environment belongs to (its id in results/). */
  runId?: string;
  /** The report's name for this environment block ("E1"), set by buildReport; captions cite it. */
  ref?: string;
}
