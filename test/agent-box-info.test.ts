// What the agent reads about its own box: the main interface (for the login MAC and gateway_ip)
// and the health it sends in the rich dialect, against this machine's real OS figures.
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BoxInfo, devstatusVersion, mainInterface } from '../src/agent/box-info.js';
import { tempDir } from './support/agent.js';

const MB = 1024 * 1024;

const addr = (over: Partial<NetworkInterfaceInfo>): NetworkInterfaceInfo =>
  ({ address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: 'aa:bb:cc:00:00:02', internal: false, cidr: '10.0.0.2/24', ...over }) as NetworkInterfaceInfo;

describe('the box the agent runs on', () => {
  it('takes the default route\'s interface, else the first with a MAC by name; never loopback', () => {
    const interfaces = {
      lo: [addr({ address: '127.0.0.1', mac: '00:00:00:00:00:00', internal: true })],
      eth1: [addr({ address: '10.0.1.5', mac: 'aa:bb:cc:00:01:05' })],
      eth0: [addr({ address: 'fe80::1', family: 'IPv6', mac: 'aa:bb:cc:00:00:05' }), addr({ address: '10.0.0.5', mac: 'aa:bb:cc:00:00:05' })],
      docker0: [addr({ address: '172.17.0.1', mac: '00:00:00:00:00:00' })],
    };
    assert.deepEqual(mainInterface(interfaces, 'eth1'), { name: 'eth1', mac: 'aa:bb:cc:00:01:05', ip: '10.0.1.5' });
    assert.deepEqual(mainInterface(interfaces, undefined), { name: 'eth0', mac: 'aa:bb:cc:00:00:05', ip: '10.0.0.5' });
    assert.deepEqual(mainInterface(interfaces, 'lo'), { name: 'eth0', mac: 'aa:bb:cc:00:00:05', ip: '10.0.0.5' });
    assert.equal(mainInterface({ lo: interfaces.lo }, undefined), undefined);
  });

  it('reads CPU, memory and the disk of its data folder from the OS, in whole MB', () => {
    const { dir, cleanup } = tempDir();
    try {
      // The queue folder need not exist yet: its nearest existing parent's file system counts.
      const info = new BoxInfo({ dataDir: join(dir, 'queue', 'not-yet'), sdkVersion: '3.0.0', mac: 'e0:a5:09:12:34:56' });
      // Some work between two readings, so the CPU figure covers a real interval.
      const until = Date.now() + 50;
      while (Date.now() < until);
      const h = info.health();
      assert.ok(h.cpu_pct !== undefined && h.cpu_pct >= 0 && h.cpu_pct <= 100, String(h.cpu_pct));
      assert.equal(h.mem_total_bytes, Math.round(totalmem() / MB) * MB);
      assert.ok(h.mem_pct! > 0 && h.mem_pct! < 100);
      const fs = statfsSync(dir);
      assert.equal(h.disk_total_bytes, Math.round((fs.blocks * fs.bsize) / MB) * MB);
      assert.ok(Math.abs(h.disk_free_bytes! - fs.bavail * fs.bsize) < 64 * MB, 'free space as statfs says (give or take writes meanwhile)');
      assert.equal(h.sw_version, devstatusVersion());
      assert.match(h.sw_version!, /^\d+\.\d+\.\d+/);
      assert.equal(h.sdk_version, '3.0.0');
      assert.equal(h.mac, 'e0:a5:09:12:34:56');
      assert.equal(info.gateway().status, 'online');
    } finally {
      cleanup();
    }
  });
});
