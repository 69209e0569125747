import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.json')).length, 3);
    assert.deepEqual(drain(q), [{ n: 3 }, { n: 4 }, { n: 5 }]);
    q.close();
  });

  it('ignores a half-written temp file and skips a corrupt report', () => {
    writeFileSync(join(dir, '.tmp-0000000000000001.json'), '{"n":');
    writeFileSync(join(dir, '0000000000000002.json'), '{"n": 2');
    writeFileSync(join(dir, '0000000000000003.json'), '{"n": 3}\n');
    const q = DurableQueue.open(dir, { maxReports: 10 });
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.tmp-')));
    const corrupt: number[] = [];
    assert.deepEqual(q.peek((seq) => corrupt.push(seq))?.body, { n: 3 });
    assert.deepEqual(corrupt, [2]);
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
