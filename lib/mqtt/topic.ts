/**
 * MQTT topic filters (MQTT 3.1.1 §4.7): levels split by `/`, `+` matches
 * one whole level, `#` (last) matches its parent level and every level
 * below. Topics beginning with `$` are matched only by filters that name
 * that first level, so `#` does not see `$SYS/…`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
