export async function benchIngest(): Promise<number> { throw new Error('todo'); }
