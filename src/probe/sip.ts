// gb28181 sub-devices (GB/T 28181 cameras and NVRs speak SIP over UDP): a SIP OPTIONS to the
// device; any SIP response (even 4xx/5xx: a SIP stack answered) means online.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { describeError, type ProbeOptions, type ProbeResult } from './types.js';

export const DEFAULT_SIP_PORT = 5060;

export interface SipTarget {
  host: string;
  port?: number;
  /** The device's 20-digit GB/T 28181 id, used as the user part of the request URI. */
  sipId?: string;
}

/** RFC 3261 timer T1: retransmit the request at T1, 2*T1, 4*T1... until the timeout. */
const T1_MS = 500;

function hostPart(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

export function buildOptions(target: Required<Pick<SipTarget, 'host' | 'port'>> & SipTarget, local: { address: string; port: number }, ids: { branch: string; tag: string; callId: string }): string {
  const uri = `sip:${target.sipId ? `${target.sipId}@` : ''}${hostPart(target.host)}:${target.port}`;
  const localHost = hostPart(local.address);
  return [
    `OPTIONS ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${localHost}:${local.port};rport;branch=${ids.branch}`,
    'Max-Forwards: 70',
    `From: <sip:devstatus@${localHost}:${local.port}>;tag=${ids.tag}`,
    `To: <${uri}>`,
    `Call-ID: ${ids.callId}`,
    'CSeq: 1 OPTIONS',
    `Contact: <sip:devstatus@${localHost}:${local.port}>`,
    'Accept: application/sdp',
    'User-Agent: devstatus-agent',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function header(message: string, name: string): string | undefined {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im');
  return message.match(re)?.[1]?.trim();
}

export function probe(target: SipTarget, opts: ProbeOptions): Promise<ProbeResult> {
  const port = target.port ?? DEFAULT_SIP_PORT;
  const where = `SIP ${hostPart(target.host)}:${port}`;
  const ids = {
    branch: `z9hG4bK${randomBytes(8).toString('hex')}`,
    tag: randomBytes(6).toString('hex'),
    callId: `${randomBytes(12).toString('hex')}@devstatus`,
  };
  return new Promise((resolve) => {
    const socket: Socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    let retransmit: NodeJS.Timeout | undefined;
    let finished = false;
    const done = (result: ProbeResult) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearTimeout(retransmit);
      socket.close();
      resolve(result);
    };
    const deadline = setTimeout(() => done({ online: false, detail: `${where}: no SIP response within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    socket.on('error', (err) => done({ online: false, detail: `${where}: ${describeError(err)}` }));
    socket.on('message', (msg) => {
      const text = msg.toString('utf8');
      const status = text.match(/^SIP\/2\.0 (\d{3})([^\r\n]*)/);
      // Only an answer to our own request counts (a stray datagram must not make a device online).
      if (!status || header(text, '(?:Call-ID|i)') !== ids.callId) return;
      const server = header(text, '(?:Server|User-Agent)');
      done({ online: true, detail: `${where}: ${status[1]}${status[2]}${server ? ` (${server})` : ''}` });
    });
    // connect() makes the kernel report ICMP port-unreachable as ECONNREFUSED: a fast offline.
    socket.connect(port, target.host, (err?: Error) => {
      if (err) return done({ online: false, detail: `${where}: ${describeError(err)}` });
      const local = socket.address();
      const request = Buffer.from(buildOptions({ ...target, port }, local, ids));
      let wait = T1_MS;
      const send = () => {
        if (finished) return;
        socket.send(request, (err) => {
          if (err) done({ online: false, detail: `${where}: ${describeError(err)}` });
        });
        retransmit = setTimeout(send, wait);
        wait *= 2;
      };
      send();
    });
  });
}
