import { Agent, buildReport } from '../agent/agent.js';
import { BoxInfo } from '../agent/box-info.js';
import { login } from '../agent/login.js';
import { closePostConnections, postReport, type PostOutcome } from '../agent/post.js';
import { probeAll } from '../agent/probing.js';
import { describeQueue, DurableQueue } from '../agent/queue.js';
import { loadConfig } from '../agent/config.js';
import { createCliLogger, type CliLogOptions } from './logger.js';

export interface AgentCliOptions extends CliLogOptions {
  config: string;
}

/** `devstatus agent`: probe and report every interval until SIGTERM/SIGINT. */
export async function runAgent(opts: AgentCliOptions): Promise<void> {
  const config = loadConfig(opts.config);
  const logger = await createCliLogger(opts);
  const agent = new Agent({ config, logger });
  agent.start();
  let stopping = false;
  const stop = async (signal: string) => {
    // A second Ctrl-C: the operator does not want to wait at all (the queue is on disk).
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

export interface ReportCliOptions {
  config: string;
  json?: boolean;
}

/** `devstatus report --once`: one probe round, one POST, the result printed. Returns the exit code. */
export async function reportOnce(opts: ReportCliOptions): Promise<number> {
  const config = loadConfig(opts.config);
  const box = new BoxInfo({
    dataDir: config.queue.dir,
    ...(config.gatewaySn ? { gatewaySn: config.gatewaySn } : {}),
    ...(config.gatewayName ? { gatewayName: config.gatewayName } : {}),
    ...(config.mac ? { mac: config.mac } : {}),
    ...(config.sdkVersion ? { sdkVersion: config.sdkVersion } : {}),
  });
  const started = new Date();
  // With login_url: log in first (once, no retry) while the sub-devices are probed.
  const loggingIn =
    config.loginUrl === undefined
      ? null
      : box.mac
        ? login(config.loginUrl, config.devSno, box.mac, { timeoutMs: config.postTimeoutMs }).then(
            (a) => ({ ok: true as const, reportUrl: a.reportUrl, periodS: a.reportPeriodS }),
            (e: Error) => ({ ok: false as const, reason: e.message }),
          )
        : Promise.resolve({ ok: false as const, reason: 'no MAC address to log in with (no network interface has one); set mac' });
  const probed = await probeAll(config);
  const body = buildReport(
    config,
    probed.map(({ spec, result }) => ({ spec, status: result.online ? 'online' : 'offline', detail: result.detail })),
    started,
    config.dialect === 'rich' ? { gateway: box.gateway(), health: box.health() } : undefined,
  );
  const loggedIn = await loggingIn;
  const reportUrl = loggedIn === null ? config.reportUrl! : loggedIn.ok ? loggedIn.reportUrl : null;
  const outcome: PostOutcome =
    reportUrl === null ? { kind: 'retry', reason: 'not sent: the login failed' } : await postReport(reportUrl, body, config.postTimeoutMs);
  closePostConnections();
  const ok = outcome.kind === 'delivered';
  // The agent's queue as it is now (a running agent may be using it: read, not opened).
  const queue = DurableQueue.inspect(config.queue.dir);
  if (opts.json) {
    const answer = outcome.kind === 'delivered' ? { status: outcome.status, body: outcome.body } : { status: outcome.status ?? null, error: outcome.reason };
    const queueJson = {
      dir: config.queue.dir,
      reports: queue.reports,
      bytes: queue.bytes,
      oldest_queued_s: queue.oldestQueuedAt === null ? null : Math.round((Date.now() - queue.oldestQueuedAt) / 1000),
    };
    const loginJson = loggedIn === null ? undefined : loggedIn.ok ? { report_url: loggedIn.reportUrl, period_s: loggedIn.periodS } : { error: loggedIn.reason };
    process.stdout.write(
      `${JSON.stringify({ ok, ...(loginJson ? { login: loginJson } : {}), report: body, probes: probed.map(({ spec, result }) => ({ ep_id: spec.epId, ...result })), response: answer, queue: queueJson }, null, 2)}\n`,
    );
    return ok ? 0 : 1;
  }
  const lines = [`${config.devSno}: ${probed.length} sub-device(s) probed in ${Date.now() - started.getTime()} ms`];
  const width = Math.max(0, ...probed.map(({ spec }) => spec.label.length));
  for (const { spec, result } of probed) {
    lines.push(`  ${(result.online ? 'online' : 'offline').padEnd(8)}${spec.type.padEnd(9)}${spec.label.padEnd(width + 2)}${result.detail}`);
  }
  if (loggedIn !== null) {
    lines.push(
      loggedIn.ok
        ? `login ${config.loginUrl} -> reporting to ${loggedIn.reportUrl} every ${loggedIn.periodS} s`
        : `login ${config.loginUrl} -> failed: ${loggedIn.reason}`,
    );
  }
  const where = `POST ${reportUrl ?? '(no address)'}`;
  if (outcome.kind === 'delivered') lines.push(`${where} -> ${outcome.status}: report delivered`);
  else if (outcome.kind === 'rejected') lines.push(`${where} -> rejected by the platform: ${outcome.reason}`);
  else lines.push(`${where} -> failed: ${outcome.reason}`);
  lines.push(`agent queue ${config.queue.dir}: ${describeQueue(queue)}`);
  (ok ? process.stdout : process.stderr).write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}
