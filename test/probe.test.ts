// The probes against real peers on loopback: GStreamer's RTSP server (open, Basic, Digest),
// kamailio answering SIP OPTIONS, a listening / closed TCP port, real files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeAuthorizer, parseChallenges, parseRtspUrl, probe as probeRtsp, probeServer, stripCredentials } from '../src/probe/rtsp.js';
import { probe as probeSip } from '../src/probe/sip.js';
import { probe as probeTcp } from '../src/probe/tcp.js';
import { probe as probeFile } from '../src/probe/file.js';
import { resolveConfig } from '../src/agent/config.js';
import { probeAll } from '../src/agent/probing.js';
import { freeTcpPort, freeUdpPort, RTSP_PASSWORD, RTSP_USER, startRtspServer, startSipServer, type Peer, type RtspPeer } from './support/peers.js';

const opts = { timeoutMs: 3000 };
const good = { user: RTSP_USER, password: RTSP_PASSWORD };
const bad = { user: RTSP_USER, password: 'wrong-password' };

describe('rtsp probe (GStreamer RTSP server)', () => {
  let digest: RtspPeer;
  let basic: RtspPeer;
  before(async () => {
    [digest, basic] = await Promise.all([startRtspServer('digest'), startRtspServer('basic')]);
  });
  after(async () => {
    await Promise.all([digest?.stop(), basic?.stop()]);
  });

  it('is online for a stream that answers DESCRIBE 200 with an SDP', async () => {
    const r = await probeRtsp({ url: digest.url('/live') }, opts);
    assert.equal(r.online, true, r.detail);
    assert.match(r.detail, /DESCRIBE 200, SDP with 1 media \(audio\)/);
  });

  it('is offline for a path the server does not have (404)', async () => {
    const r = await probeRtsp({ url: digest.url('/no-such-stream') }, opts);
    assert.equal(r.online, false);
    assert.match(r.detail, /DESCRIBE 404/);
  });

  for (const scheme of ['digest', 'basic'] as const) {
    it(`answers a ${scheme} challenge with the credentials in the URL`, async () => {
      const server = scheme === 'digest' ? digest : basic;
      const ok = await probeRtsp({ url: server.url('/secure', good) }, opts);
      assert.equal(ok.online, true, ok.detail);
      assert.match(ok.detail, new RegExp(`${scheme} auth`, 'i'));

      const none = await probeRtsp({ url: server.url('/secure') }, opts);
      assert.equal(none.online, false);
      assert.match(none.detail, /401 .*credentials needed/);

      const wrong = await probeRtsp({ url: server.url('/secure', bad) }, opts);
      assert.equal(wrong.online, false);
      assert.match(wrong.detail, /401 .*credentials rejected/);

      for (const r of [ok, none, wrong]) {
        assert.ok(!r.detail.includes(RTSP_PASSWORD) && !r.detail.includes('wrong-password'), `password leaked: ${r.detail}`);
        assert.ok(!r.detail.includes(encodeURIComponent(RTSP_PASSWORD)), `password leaked: ${r.detail}`);
      }
    });
  }

  it('probes many URLs of one server over shared connections, each with its own credentials', async () => {
    for (const server of [digest, basic]) {
      const urls = [
        server.url('/live'),
        server.url('/secure', good),
        server.url('/secure'),
        server.url('/secure', bad),
        server.url('/no-such-stream'),
        server.url('/secure', good),
        server.url('/live'),
      ];
      const rs = await probeServer(urls, { timeoutMs: 3000, deadline: Date.now() + 3000, connections: 2 });
      assert.deepEqual(
        rs.map((r) => r.online),
        [true, true, false, false, false, true, true],
        rs.map((r) => r.detail).join('\n'),
      );
      assert.match(rs[2]!.detail, /401 .*credentials needed/);
      assert.match(rs[3]!.detail, /401 .*credentials rejected/);
      assert.match(rs[4]!.detail, /DESCRIBE 404/);
    }
  });

  it('is offline, fast, when nothing listens on the port', async () => {
    const port = await freeTcpPort();
    const started = Date.now();
    const r = await probeRtsp({ url: `rtsp://127.0.0.1:${port}/live` }, opts);
    assert.equal(r.online, false);
    assert.match(r.detail, /ECONNREFUSED/);
    assert.ok(Date.now() - started < 1000);
  });

  it('is offline when the server stops', async () => {
    const server = await startRtspServer('digest');
    const url = server.url('/live');
    try {
      assert.equal((await probeRtsp({ url }, opts)).online, true);
    } finally {
      await server.stop();
    }
    const r = await probeRtsp({ url }, opts);
    assert.equal(r.online, false);
    assert.match(r.detail, /ECONNREFUSED/);
  });

  it('is offline when a TCP peer accepts but never speaks RTSP, within the timeout', async () => {
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const r = await probeRtsp({ url: `rtsp://127.0.0.1:${port}/live` }, { timeoutMs: 300 });
      const took = Date.now() - started;
      assert.equal(r.online, false);
      assert.match(r.detail, /no answer within 300 ms/);
      assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    } finally {
      silent.close();
    }
  });
});

describe('rtsp URL and auth helpers', () => {
  it('strips credentials and finds host and port', () => {
    assert.equal(stripCredentials('rtsp://admin:pa%3Ass@192.0.2.10:8554/ch1?subtype=0'), 'rtsp://192.0.2.10:8554/ch1?subtype=0');
    const p = parseRtspUrl('rtsp://admin:pa%3Ass@[::1]/x');
    assert.deepEqual([p.host, p.port, p.username, p.password], ['::1', 554, 'admin', 'pa:ss']);
    assert.throws(() => parseRtspUrl('http://x/y'), /rtsp:\/\//);
  });

  it('computes the RFC 2617 Digest example (qop=auth)', () => {
    const challenges = parseChallenges([
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    ]);
    const auth = makeAuthorizer(challenges, 'Mufasa', 'Circle Of Life', () => '0a4f113b');
    assert.ok(auth);
    const header = auth.authorize('GET', '/dir/index.html');
    assert.match(header, /response="6629fae49393a05397450978507c4ef1"/);
    assert.match(header, /qop=auth, nc=00000001, cnonce="0a4f113b"/);
    assert.match(header, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
  });

  it('prefers Digest when a server offers both, on one line or two', () => {
    const one = parseChallenges(['Basic realm="cam", Digest realm="cam", nonce="abc", algorithm=SHA-256']);
    assert.deepEqual(one.map((c) => c.scheme), ['basic', 'digest']);
    assert.equal(makeAuthorizer(one, 'u', 'p')?.scheme, 'Digest');
    assert.equal(makeAuthorizer(parseChallenges(['Basic realm="cam"']), 'u', 'p')?.authorize('DESCRIBE', 'x'), 'Basic dTpw');
  });
});

describe('gb28181 probe (kamailio answering SIP OPTIONS)', () => {
  let sip: Peer;
  before(async () => {
    sip = await startSipServer();
  });
  after(async () => {
    await sip?.stop();
  });

  it('is online when the device answers SIP OPTIONS', async () => {
    const r = await probeSip({ host: '127.0.0.1', port: sip.port, sipId: '34020000001320000001' }, opts);
    assert.equal(r.online, true, r.detail);
    assert.match(r.detail, /200 OK \(kamailio/);
  });

  it('is offline, fast, when nothing listens on the UDP port', async () => {
    const port = await freeUdpPort();
    const started = Date.now();
    const r = await probeSip({ host: '127.0.0.1', port }, opts);
    assert.equal(r.online, false);
    assert.match(r.detail, /ECONNREFUSED/);
    assert.ok(Date.now() - started < 1500);
  });

  it('is offline when a peer receives but never answers, and ignores non-SIP replies', async () => {
    const mute = createSocket('udp4');
    mute.bind(0, '127.0.0.1');
    await once(mute, 'listening');
    let received = 0;
    mute.on('message', (_msg, rinfo) => {
      received++;
      mute.send('hello, not SIP', rinfo.port, rinfo.address);
    });
    try {
      const r = await probeSip({ host: '127.0.0.1', port: mute.address().port }, { timeoutMs: 1200 });
      assert.equal(r.online, false);
      assert.match(r.detail, /no SIP response within 1200 ms/);
      assert.ok(received >= 2, `the request is retransmitted over UDP (got ${received})`);
    } finally {
      mute.close();
    }
  });
});

describe('photo probe (TCP connect)', () => {
  it('is online when the port accepts, offline when closed', async () => {
    const server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const r = await probeTcp({ host: '127.0.0.1', port }, opts);
      assert.equal(r.online, true, r.detail);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const closed = await probeTcp({ host: '127.0.0.1', port }, opts);
    assert.equal(closed.online, false);
    assert.match(closed.detail, /ECONNREFUSED/);
  });
});

describe('file probe', () => {
  it('is online only for a readable regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devstatus-probe-'));
    try {
      const file = join(dir, 'video.mp4');
      writeFileSync(file, 'x'.repeat(10));
      const ok = await probeFile({ path: file }, opts);
      assert.equal(ok.online, true, ok.detail);
      assert.match(ok.detail, /10 bytes/);

      assert.equal((await probeFile({ path: join(dir, 'missing.mp4') }, opts)).online, false);
      const directory = await probeFile({ path: dir }, opts);
      assert.equal(directory.online, false);
      assert.match(directory.detail, /not a regular file/);
      const fifo = join(dir, 'pipe');
      execFileSync('mkfifo', [fifo]);
      assert.equal((await probeFile({ path: fifo }, opts)).online, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('probe round (probeAll)', () => {
  it('has at most probe_connections_per_host probes in flight to one host:port, and finds them all', async () => {
    // A SIP device (one address, many GB28181 channels) that answers each OPTIONS after 100 ms:
    // the requests it holds unanswered at once are the agent's probes in flight.
    const device = createSocket('udp4');
    device.bind(0, '127.0.0.1');
    await once(device, 'listening');
    let pending = 0;
    let most = 0;
    let answered = 0;
    device.on('message', (msg, rinfo) => {
      const callId = /^Call-ID:\s*(.*)$/im.exec(msg.toString())?.[1]?.trim();
      if (!callId) return;
      most = Math.max(most, ++pending);
      setTimeout(() => {
        pending--;
        answered++;
        device.send(`SIP/2.0 200 OK\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, rinfo.port, rinfo.address);
      }, 100);
    });
    try {
      const config = resolveConfig(
        {
          dev_sno: 'BOX1',
          report_url: 'http://127.0.0.1:1/DeviceStatus',
          probe_connections_per_host: 3,
          sub_devices: Array.from({ length: 12 }, (_, i) => ({
            type: 'gb28181',
            ip: '127.0.0.1',
            port: device.address().port,
            sip_id: `340200000013200000${String(i + 1).padStart(2, '0')}`,
            ep_location: 'L',
          })),
        },
        '/tmp',
      );
      const probed = await probeAll(config);
      assert.deepEqual(probed.filter((p) => !p.result.online).map((p) => p.result.detail), []);
      assert.ok(answered >= 12);
      assert.ok(most <= 3, `${most} probes in flight at once`);
      assert.ok(new Set(probed.map((p) => p.spec.epId)).size === 12);
    } finally {
      device.close();
    }
  });
});
