// photo sub-devices (gates, snapshot cameras): online when their service port accepts a TCP connection.
import { connect } from 'node:net';
import { describeError, type ProbeOptions, type ProbeResult } from './types.js';

export interface TcpTarget {
  host: string;
  port: number;
}

export function probe(target: TcpTarget, opts: ProbeOptions): Promise<ProbeResult> {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ online: false, detail: `TCP ${where}: no answer within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    socket.once('connect', () => done({ online: true, detail: `TCP ${where}: connected` }));
    socket.once('error', (err) => done({ online: false, detail: `TCP ${where}: ${describeError(err)}` }));
  });
}
