// The bench's fleet: every box's report body as a template with its eight ep_status slots, and
// what each box last had acknowledged. Building a body is one string join (no JSON.stringify per
// request), so the generator can rotate over 100,000 boxes without becoming the bottleneck, and
// the loss check knows exactly which state every box must show afterwards.
import { toWire, type EpStatus } from '../src/protocol/index.js';
import { buildFleet, reportFor } from '../src/sim/fleet.js';

export const SUB_DEVICES = 8;

const ONLINE_SLOT = '"ep_status":"online"';
const OFFLINE_SLOT = '"ep_status":"offline"';

/** rest: a box repeats its last report byte for byte, except a status flip in `flip` of them; storm: every report flips one. */
export type Scenario = 'rest' | 'storm';

export interface Box {
  dev_sno: string;
  ep_ids: string[];
  /** The body split at its ep_status members: SUB_DEVICES + 1 parts. */
  parts: string[];
  /** Bytes of the body with every sub-device online. */
  onlineBytes: number;
}

export class BenchFleet {
  readonly boxes: Box[];
  /** Status bits of the report each box sends next: bit j set = sub-device j offline. */
  readonly nextMask: Uint8Array;
  /** Status bits of each box's last acknowledged report. */
  readonly ackedMask: Uint8Array;
  /** Reports acknowledged per box, fill and warm-up rounds included. */
  readonly ackedCount: Uint32Array;
  /** Whether the box has a report on the wire: a box never has two, so its last state is certain. */
  readonly inFlight: Uint8Array;
  /** Rotation position per lane (a lane: the boxes that report to one receiver). */
  private cursors: number[] = [];
  private rng = 12345;

  constructor(count: number, seed = 2024) {
    const sims = buildFleet({ boxes: count, subDevices: SUB_DEVICES, seed });
    this.boxes = sims.map((box) => {
      // Written out in the wire's field order rather than through the protocol module (that takes
      // seconds for 100,000 boxes); samples are compared with the protocol module's output below.
      const body = JSON.stringify({
        dev_sno: box.dev_sno,
        sub_devices: box.subDevices.map((d) => ({
          ep_id: d.ep_id,
          ep_ip: d.ep_ip,
          ep_status: 'online',
          ep_location: d.ep_location,
          ep_type: d.ep_type,
          ep_name: d.ep_name,
        })),
      });
      const parts = body.split(ONLINE_SLOT);
      if (parts.length !== SUB_DEVICES + 1) throw new Error(`cannot template the body of ${box.dev_sno}`);
      return { dev_sno: box.dev_sno, ep_ids: box.subDevices.map((s) => s.ep_id), parts, onlineBytes: Buffer.byteLength(body) };
    });
    this.nextMask = new Uint8Array(count);
    this.ackedMask = new Uint8Array(count);
    this.ackedCount = new Uint32Array(count);
    this.inFlight = new Uint8Array(count);
    this.reset();
    // The template must give exactly what the protocol module would serialize.
    for (const i of [0, Math.floor(count / 2), count - 1]) {
      const box = sims[i]!;
      const mask = 0b10100101;
      const statuses = box.subDevices.map((_, j): EpStatus => (mask & (1 << j) ? 'offline' : 'online'));
      if (this.body(i, mask) !== JSON.stringify(toWire(reportFor(box, statuses, true)))) {
        throw new Error('bench body template differs from the protocol module\'s serialization');
      }
    }
  }

  /** Back to a fleet that has never reported, for the next server. */
  reset(): void {
    this.nextMask.fill(0);
    // As in the field (and the earlier bench): one box in ten has a sub-device down for good.
    for (let i = 0; i < this.nextMask.length; i += 10) this.nextMask[i] = 1 << 7;
    this.ackedMask.fill(0);
    this.ackedCount.fill(0);
    this.inFlight.fill(0);
    this.cursors = [];
    this.rng = 12345;
  }

  get size(): number {
    return this.boxes.length;
  }

  /** Everything a round changes, so that a round against another server can be undone (restore). */
  snapshot(): () => void {
    const saved = {
      nextMask: this.nextMask.slice(),
      ackedMask: this.ackedMask.slice(),
      ackedCount: this.ackedCount.slice(),
      cursors: [...this.cursors],
      rng: this.rng,
    };
    return () => {
      this.nextMask.set(saved.nextMask);
      this.ackedMask.set(saved.ackedMask);
      this.ackedCount.set(saved.ackedCount);
      this.inFlight.fill(0);
      this.cursors = [...saved.cursors];
      this.rng = saved.rng;
    };
  }

  body(index: number, mask: number): string {
    const p = this.boxes[index]!.parts;
    let s = p[0]!;
    for (let j = 0; j < SUB_DEVICES; j++) s += (mask & (1 << j) ? OFFLINE_SLOT : ONLINE_SLOT) + p[j + 1]!;
    return s;
  }

  bodyBytes(index: number, mask: number): number {
    let offline = 0;
    for (let m = mask; m; m &= m - 1) offline++;
    return this.boxes[index]!.onlineBytes + offline;
  }

  /**
   * Picks the next box in rotation that has nothing on the wire and sets the status its report
   * carries: `fillOnly` stops after every box has sent once (returns -1 then). With several
   * lanes (receivers), box i always goes to lane i % lanes, as a box keeps reporting to the
   * receiver its keep-alive connection goes to.
   */
  next(scenario: Scenario, flip: number, fillOnly: boolean, lane = 0, lanes = 1): number {
    const inLane = Math.ceil((this.boxes.length - lane) / lanes);
    for (let tries = 0; tries < inLane; tries++) {
      const c = this.cursors[lane] ?? 0;
      if (fillOnly && c >= inLane) return -1;
      this.cursors[lane] = c + 1;
      const i = lane + lanes * (c % inLane);
      if (this.inFlight[i]) continue;
      if (this.ackedCount[i]! > 0) {
        if (scenario === 'storm') {
          // Every report changes one sub-device, a different one each time round.
          this.nextMask[i] = this.nextMask[i]! ^ (1 << (this.ackedCount[i]! % SUB_DEVICES));
        } else {
          this.rng = (this.rng * 1103515245 + 12345) & 0x7fffffff;
          if (this.rng / 0x7fffffff < flip) this.nextMask[i] = this.nextMask[i]! ^ (1 << (i % SUB_DEVICES));
        }
      }
      this.inFlight[i] = 1;
      return i;
    }
    return -1;
  }

  acknowledged(index: number, mask: number): void {
    this.inFlight[index] = 0;
    this.ackedMask[index] = mask;
    this.ackedCount[index] = this.ackedCount[index]! + 1;
  }

  /** A report that failed: the box's state on the server is no longer certain. */
  failed(index: number): void {
    this.inFlight[index] = 0;
  }

  totalAcked(): number {
    let n = 0;
    for (const c of this.ackedCount) n += c;
    return n;
  }
}
