import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DurableQueue, QueueLockedError } from '../src/agent/queue.js';

describe('durable queue', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devstatus-queue-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const drain = (q: DurableQueue) => {
    const out: unknown[] = [];
    for (let item = q.peek(); item; item = q.peek()) {
      out.push(item.body);
      q.remove(item.seq);
    }
    return out;
  };

  it('keeps reports in order across a reopen', () => {
    const q = DurableQueue.open(dir, { maxReports: 100 });
    for (let i = 1; i <= 5; i++) q.put(q.reserve(), { n: i });
    q.close();
    const again = DurableQueue.open(dir, { maxReports: 100 });
    assert.equal(again.size, 5);
    assert.deepEqual(drain(again), [1, 2, 3, 4, 5].map((n) => ({ n })));
    // New numbers continue after what is on disk, even when it was emptied meanwhile.
    again.put(again.reserve(), { n: 6 });
    assert.deepEqual(drain(again), [{ n: 6 }]);
    again.close();
  });

  it('puts a report back in its place by its reserved number', () => {
    const q = DurableQueue.open(dir, { maxReports: 100 });
    const first = q.reserve();
    q.put(q.reserve(), { n: 2 });
    q.put(q.reserve(), { n: 3 });
    q.put(first, { n: 1 });
    assert.deepEqual(drain(q), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    q.close();
  });

  it('is bounded: the oldest are dropped and counted', () => {
    const q = DurableQueue.open(dir, { maxReports: 3 });
    const dropped = [1, 2, 3, 4, 5].map((n) => q.put(q.reserve(), { n }).dropped);
    assert.deepEqual(dropped, [0, 0, 0, 1, 1]);
    assert.equal(q.droppedTotal, 2);
    assert.equal(DurableQueue.inspect(dir).reports, 3);
    assert.deepEqual(drain(q), [{ n: 3 }, { n: 4 }, { n: 5 }]);
    q.close();
  });

  it('cuts off a half-written last record and skips a damaged one', () => {
    const q = DurableQueue.open(dir, { maxReports: 10 });
    for (let i = 1; i <= 3; i++) q.put(q.reserve(), { n: i });
    q.close();
    const [segment] = readdirSync(dir).filter((f) => f.endsWith('.log'));
    const file = join(dir, segment!);
    const whole = readFileSync(file);
    // A crash in the middle of the 4th write: its record is cut short.
    const again = DurableQueue.open(dir, { maxReports: 10 });
    again.put(again.reserve(), { n: 4 });
    again.close();
    const [, second] = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    const secondFile = join(dir, second!);
    const torn = readFileSync(secondFile);
    writeFileSync(secondFile, torn.subarray(0, torn.length - 5));
    // And a bit flipped inside the 2nd report (a bad sector): its checksum no longer matches.
    const damaged = Buffer.from(whole);
    const second2nd = damaged.indexOf(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x40]), 40); // the f64 2.0 of seq 2
    assert.ok(second2nd > 0);
    damaged[second2nd + 20]! ^= 0xff;
    writeFileSync(file, damaged);

    const opened = DurableQueue.open(dir, { maxReports: 10 });
    assert.ok(opened.openProblems.some((p) => /incomplete last write/.test(p)), opened.openProblems.join('; '));
    assert.ok(opened.openProblems.some((p) => /damaged/.test(p)), opened.openProblems.join('; '));
    // The 1st report is intact; what follows the damage in that segment cannot be trusted.
    assert.deepEqual(drain(opened), [{ n: 1 }]);
    opened.put(opened.reserve(), { n: 5 });
    assert.deepEqual(drain(opened), [{ n: 5 }]);
    opened.close();
  });

  it('imports a queue of one JSON file per report (earlier versions), skipping a corrupt one', () => {
    writeFileSync(join(dir, '.tmp-0000000000000001.json'), '{"n":');
    writeFileSync(join(dir, '0000000000000002.json'), '{"n": 2');
    writeFileSync(join(dir, '0000000000000003.json'), '{"n": 3}\n');
    writeFileSync(join(dir, '0000000000000004.json'), '{"n": 4}\n');
    const q = DurableQueue.open(dir, { maxReports: 10 });
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.tmp-') || f.endsWith('.json')));
    assert.ok(q.openProblems.some((p) => /report 2 is unreadable/.test(p)), q.openProblems.join('; '));
    assert.deepEqual(q.list(), [3, 4]);
    assert.equal(q.reserve(), 5);
    assert.deepEqual(drain(q), [{ n: 3 }, { n: 4 }]);
    q.close();
  });

  it('stores reports compactly and gives the space back once they are delivered', () => {
    const report = {
      dev_sno: 'ZKZCPI000120190807142601',
      sub_devices: Array.from({ length: 64 }, (_, i) => ({
        ep_id: `ZKZCPI000120190807142601__rtsp://192.168.1.${10 + i}:554/Streaming/Channels/101`,
        ep_ip: `192.168.1.${10 + i}`,
        ep_status: i % 7 ? 'online' : 'offline',
        ep_location: '95274d2c-0941-4d96-b032-ab200f81362c',
        ep_type: 'rtsp',
        ep_name: `camera ${i + 1}`,
      })),
      report_time: new Date().toISOString(),
    };
    const size = JSON.stringify(report).length;
    const q = DurableQueue.open(dir, { maxReports: 1000 });
    for (let i = 0; i < 200; i++) q.put(q.reserve(), { ...report, report_time: new Date(Date.now() + i).toISOString() });
    const stats = q.stats();
    assert.equal(stats.reports, 200);
    // One 4 KiB file system block per report was the old layout's floor; this is well under it.
    assert.ok(stats.bytes < 200 * size * 0.25, `${stats.bytes} bytes for 200 reports of ${size} bytes`);
    assert.equal(DurableQueue.inspect(dir).bytes, stats.bytes);
    assert.ok(stats.oldestQueuedAt !== null && Date.now() - stats.oldestQueuedAt < 60_000);
    assert.deepEqual(DurableQueue.read(dir).length, 200);
    assert.equal(drain(q).length, 200);
    assert.deepEqual(q.stats(), { reports: 0, bytes: 0, oldestQueuedAt: null });
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.log')), []);
    q.close();
  });

  it('can be open in one process only; a dead owner\'s lock is taken over', async () => {
    const q = DurableQueue.open(dir, { maxReports: 10 });
    assert.throws(() => DurableQueue.open(dir, { maxReports: 10 }), QueueLockedError);
    q.close();
    // A lock left by a process that is gone.
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    writeFileSync(join(dir, 'queue.lock'), String(child.pid));
    const taken = DurableQueue.open(dir, { maxReports: 10 });
    taken.close();
  });
});
