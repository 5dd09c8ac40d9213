/**
 * Per-session state inside a client IP's state: one IP may carry several sessions at once (a
 * NAT, a browser and an app), so a detector keeps a few, the most recently active, and drops
 * the others. Bounded, pure (returns copies).
 */
export interface Slot<T> {
  id: string;
  lastTs: number;
  data: T;
}

export function withSlot<T>(
  slots: readonly Slot<T>[] | undefined,
  id: string,
  ts: number,
  init: () => T,
  update: (data: T) => T,
  max = 4,
): { slots: Slot<T>[]; slot: Slot<T> } {
  const existing = slots?.find((s) => s.id === id);
  const slot: Slot<T> = {
    id,
    lastTs: Math.max(ts, existing?.lastTs ?? ts),
    data: update(existing ? existing.data : init()),
  };
  const others = (slots ?? []).filter((s) => s.id !== id);
  const next = [...others, slot].sort((a, b) => a.lastTs - b.lastTs).slice(-max);
  if (!next.includes(slot)) next.push(slot); // the current session always survives
  return { slots: next, slot };
}
