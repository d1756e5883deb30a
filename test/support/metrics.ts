/** A counter of GET /metrics summed over all its label sets (0 before anything counted it). */
export async function counterTotal(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}
