// The receiver's in-process event bus: what it announces to the rest of the process (alerts,
// live views, metrics). Its own module so that those listeners need not import the composition root.
import { EventEmitter } from 'node:events';
import type { Report } from '../protocol/index.js';
import type { AlertStateChange, Transition } from '../store/types.js';

export type { AlertStateChange };

/**
 * What listeners learn of a stored report: its box and how many of its sub-devices are online
 * and offline; and the report itself when its body was parsed. A byte-for-byte repeat recognized
 * by its digest is stored without parsing its body again: it has no `report` (a receiver built
 * with repeatCacheBytes 0 parses every body).
 */
export interface StoredReport {
  dev_sno: string;
  online: number;
  offline: number;
  report?: Report;
}

export interface FleetEventMap {
  report: [report: StoredReport, receivedAt: number];
  transitions: [transitions: Transition[]];
  rejected: [reason: string];
  /** A report was stored and answered, `seconds` after it arrived. */
  ingested: [seconds: number];
  /** Alerts queued for delivery and transitions held back by de-duplication. */
  alerts: [queued: number, held: number];
  /** Outcome of one webhook delivery attempt. */
  delivery: [outcome: 'delivered' | 'retrying' | 'failed'];
  alertState: [change: AlertStateChange];
}

export class FleetEvents extends EventEmitter<FleetEventMap> {}
