/** bench-ingest's progress lines go to stderr, so that stdout holds only the JSON report. */
export const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
