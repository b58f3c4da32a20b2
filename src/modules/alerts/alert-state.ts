/** The alert lifecycle as a pure decision; the evaluation applies it under the device lock. */

export type AlertStatus = 'firing' | 'acknowledged' | 'resolved';

export type Transition = 'open' | 'resolve' | 'none';

export interface PairState {
  /** The open (firing or acknowledged) alert of this (rule, device), if any. */
  openAlertId: number | null;
  /** When the pair's most recent alert was triggered, however it ended. */
  lastTriggeredAt: Date | null;
}

/**
 * Opens when the condition holds, nothing is open and the cooldown since the last trigger
 * has passed; resolves an open alert when the condition no longer holds; else nothing.
 */
export function decide(state: PairState, holds: boolean, cooldownSeconds: number, now: Date): Transition {
  if (state.openAlertId !== null) return holds ? 'none' : 'resolve';
  if (!holds) return 'none';
  if (state.lastTriggeredAt && now.getTime() - state.lastTriggeredAt.getTime() < cooldownSeconds * 1000) return 'none';
  return 'open';
}
