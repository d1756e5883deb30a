/** A step's and the run's outcome, in words on stderr; the report itself on stdout. */
import { log } from './ingest-log';
import type { IngestReport, StepResult } from './ingest-result';

/** A step's outcome in one line: rates, backlog, catch-up, and the cores of every process. */
export function logStep(step: StepResult): void {
  const p = step.processes;
  log(
    `  → achieved ${step.achieved_points_per_s.toLocaleString('en')} points/s (steady ${step.steady_state_points_per_s?.toLocaleString('en')}), ` +
      `backlog ${step.backlog_s_at_window_end} s, catch-up ${step.catch_up_s ?? 'timed out'} s, ${step.sustained ? 'SUSTAINED' : 'NOT sustained'}; ` +
      `cores kafka ${p.kafka.cpu_cores} temporal ${p.temporal.cpu_cores} herodotus ${p.herodotus.cpu_cores} bench ${p.bench.cpu_cores} ` +
      `(machine ${step.machine_cpu_cores}, other ${step.other_cpu_cores}); herodotus threads ${JSON.stringify(step.herodotus_threads)}; ` +
      `new parts/s at most ${step.parts.max_new_parts_per_s} per table`,
  );
}

/** The run's outcome on stderr, then the report as the last line of stdout. */
export function printReport(report: IngestReport): void {
  log(
    `max sustained ${report.max_sustained_points_per_s.toLocaleString('en')} points/s (target ${report.target_points_per_s.toLocaleString('en')}): ${report.target_met ? 'met' : 'NOT met'}; ` +
      `verification ${JSON.stringify(report.verified)}`,
  );
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
