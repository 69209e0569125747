#!/usr/bin/env node
// The `devstatus` command. Each command's code is imported when that command runs, so that
// `devstatus agent` on a box does not load the receiver (Fastify, SQLite, PostgreSQL).
// First, before anything else loads: V8 settings of the agent (see agent-v8.ts).
import { leanV8ForAgent } from './agent-v8.js';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  ALERT_DEFAULTS,
  DEFAULT_AGENT_CONFIG,
  DEFAULT_DB_FILE,
  OFFLINE_DEFAULTS,
  PLATFORM_DEFAULTS,
  RETENTION_DEFAULTS,
  SERVER_DEFAULTS,
  SIM_DEFAULTS,
  SIM_DIALECTS,
} from '../defaults.js';
import { LOG_FORMATS, LOG_LEVELS } from './logger.js';
import { loadAgentCommands } from './agent-loader.js';

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function seconds(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be a number of seconds, at least ${min}`);
    }
    return n;
  };
}

function num(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Repeatable flag; the environment form takes a comma-separated list. */
function webhookUrls(value: string, previous: string[] = []): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new InvalidArgumentError(`webhook ${u} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new InvalidArgumentError(`webhook ${u} must be an http:// or https:// URL`);
    }
  }
  return [...previous, ...urls];
}

/** package.json seen from src/cli (tsx) and dist/cli (built): both two levels down. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const logLevelOption = (description = 'log level') =>
  new Option('--log-level <level>', description).env('LOG_LEVEL').choices(LOG_LEVELS).default('info');
const logFormatOption = () =>
  new Option('--log-format <format>', 'json: one JSON object a line; pretty: readable lines, local time (default: pretty at a terminal, else json)')
    .env('DEVSTATUS_LOG_FORMAT')
    .choices(LOG_FORMATS);

const program = new Command('devstatus')
  .description('Fleet status for edge AI boxes: receiver, edge agent and simulator')
  .version(version, '-V, --version', 'print the version')
  .showSuggestionAfterError();

program
  .command('serve')
  .description(`run the receiver (drop-in for the sample server: POST ${SERVER_DEFAULTS.path} on port ${SERVER_DEFAULTS.port})`)
  .addOption(new Option('--host <host>', 'address to listen on').env('DEVSTATUS_HOST').default(SERVER_DEFAULTS.host))
  .addOption(
    new Option('--port <port>', 'port to listen on').env('DEVSTATUS_PORT').default(SERVER_DEFAULTS.port).argParser(int('port', 0, 65535)),
  )
  .addOption(new Option('--path <path>', 'path boxes POST their report to').env('DEVSTATUS_PATH').default(SERVER_DEFAULTS.path))
  .addOption(new Option('--db <file>', 'SQLite database file').env('DEVSTATUS_DB').default(DEFAULT_DB_FILE))
  .addOption(
    new Option(
      '--database-url <url>',
      'PostgreSQL instead of SQLite (postgres://user[:password]@host[:port]/database); several receivers may share one',
    ).env('DATABASE_URL'),
  )
  .addOption(
    new Option('--body-limit <bytes>', 'largest accepted report body')
      .env('DEVSTATUS_BODY_LIMIT')
      .default(SERVER_DEFAULTS.bodyLimit)
      .argParser(int('body limit', 1, 1024 * 1024 * 1024)),
  )
  .addOption(
    new Option('--body-budget <bytes>', 'memory for report bodies in flight, all connections together (more: 503, retry later)')
      .env('DEVSTATUS_BODY_BUDGET')
      .default(SERVER_DEFAULTS.bodyBudgetBytes)
      .argParser(int('body budget', 1024, 64 * 1024 * 1024 * 1024)),
  )
  .addOption(
    new Option('--body-timeout <seconds>', 'drop a request whose headers or body make no progress for this long (408)')
      .env('DEVSTATUS_BODY_TIMEOUT')
      .default(SERVER_DEFAULTS.bodyTimeoutMs / 1000)
      .argParser(num('body timeout', 1, 3600)),
  )
  .addOption(
    new Option('--retention-days <days>', 'history and delivered alerts older than this are deleted (0: keep for ever)')
      .env('DEVSTATUS_RETENTION_DAYS')
      .default(RETENTION_DEFAULTS.days)
      .argParser(num('retention days', 0, 100 * 365)),
  )
  .addOption(
    new Option('--admin-token <token>', 'token for the dashboard and /api/* (default: generated once and kept in --admin-token-file)').env(
      'DEVSTATUS_ADMIN_TOKEN',
    ),
  )
  .addOption(
    new Option('--admin-token-file <file>', 'where the generated admin token is kept (default: admin-token next to the database)').env(
      'DEVSTATUS_ADMIN_TOKEN_FILE',
    ),
  )
  .addOption(logLevelOption())
  .addOption(logFormatOption())
  .addOption(
    new Option('--report-interval <seconds>', 'how often boxes report')
      .env('DEVSTATUS_REPORT_INTERVAL')
      .default(OFFLINE_DEFAULTS.reportIntervalMs / 1000)
      .argParser(seconds('report interval', 0.01)),
  )
  .addOption(
    new Option('--offline-misses <n>', 'reports missed in a row before a box is offline')
      .env('DEVSTATUS_OFFLINE_MISSES')
      .default(OFFLINE_DEFAULTS.misses)
      .argParser(int('offline misses', 1, 1000)),
  )
  .addOption(
    new Option('--login-path <path>', 'where boxes log in (GET ?dev_sno=&hex_mac=) to learn where and how often to report')
      .env('DEVSTATUS_LOGIN_PATH')
      .default(PLATFORM_DEFAULTS.loginPath),
  )
  .addOption(
    new Option('--public-url <url>', "this receiver's URL as boxes and people reach it (behind a proxy): the report URL handed out at login, links in alert messages (default: the login's Host header; http://<host>:<port> in messages)").env(
      'DEVSTATUS_PUBLIC_URL',
    ),
  )
  .addOption(
    new Option('--report-period <seconds>', 'report period boxes are told at login unless their own or their group\'s is set')
      .env('DEVSTATUS_REPORT_PERIOD')
      .default(PLATFORM_DEFAULTS.reportPeriodS)
      .argParser(int('report period', 1, 86_400)),
  )
  .addOption(
    new Option('--registry-mode <mode>', 'open: unknown dev_sno are registered on first report; strict: refused (403)')
      .env('DEVSTATUS_REGISTRY_MODE')
      .choices(['open', 'strict'])
      .default('open'),
  )
  .addOption(
    new Option('--webhook <url>', 'POST an alert here on every status transition (repeatable; env: comma-separated)')
      .env('DEVSTATUS_WEBHOOKS')
      .argParser(webhookUrls)
      .default([]),
  )
  .addOption(
    new Option('--webhook-secret <secret>', 'sign webhook bodies: X-Devstatus-Signature: sha256=<HMAC>').env(
      'DEVSTATUS_WEBHOOK_SECRET',
    ),
  )
  .addOption(
    new Option('--alert-dedup-s <seconds>', 'per box / sub-device, at most one alert per this many seconds (0: no de-duplication)')
      .env('DEVSTATUS_ALERT_DEDUP_S')
      .default(ALERT_DEFAULTS.dedupMs / 1000)
      .argParser(seconds('alert dedup window', 0)),
  )
  .addOption(
    new Option(
      '--webhook-max-attempts <n>',
      `delivery attempts (exponential backoff from ${ALERT_DEFAULTS.retryBaseMs / 1000} s, at most ${ALERT_DEFAULTS.retryMaxMs / 60_000} min apart) before an alert is marked failed`,
    )
      .env('DEVSTATUS_WEBHOOK_MAX_ATTEMPTS')
      .default(ALERT_DEFAULTS.maxAttempts)
      .argParser(int('webhook max attempts', 1, 100)),
  )
  .action(async (opts) => {
    const { serve } = await import('./serve.js');
    await serve(opts);
  });

// Agent commands load their code only when they run (src/cli/agent-loader.ts): a box running
// the agent must not carry the receiver's and simulator's code in memory.
const configOption = () =>
  new Option('-c, --config <file>', 'agent config file, YAML or JSON (see examples/agent.yaml)')
    .env('DEVSTATUS_AGENT_CONFIG')
    .default(DEFAULT_AGENT_CONFIG);

program
  .command('agent')
  .description('run the edge agent: probe the sub-devices and POST a status report every interval')
  .addOption(configOption())
  .addOption(logLevelOption('log level (debug logs every report sent or queued)'))
  .addOption(logFormatOption())
  .action(async (opts) => {
    // Before the agent's code loads: its start-up is when the young generation would grow.
    leanV8ForAgent();
    const { runAgent } = await loadAgentCommands();
    await runAgent(opts);
  });

program
  .command('report')
  .description('probe the sub-devices once, POST one report and print the result (exit 1 if the POST fails)')
  .addOption(configOption())
  .option('--once', 'one probe round and one POST (the only mode; the periodic loop is `devstatus agent`)', true)
  .option('--json', 'print the report, the probe results and the answer as JSON')
  .action(async (opts) => {
    const { reportOnce } = await loadAgentCommands();
    process.exitCode = await reportOnce(opts);
  });

program
  .command('simulate')
  .description('simulate a fleet of boxes sending reports to a receiver (load and demo tool)')
  .addOption(new Option('--url <url>', 'where the boxes POST their reports').env('DEVSTATUS_SIM_URL').default(SIM_DEFAULTS.url))
  .addOption(new Option('--boxes <n>', 'number of boxes').default(SIM_DEFAULTS.boxes).argParser(int('boxes', 1, 10_000_000)))
  .addOption(
    new Option('--subdevices <m>', 'sub-devices per box').default(SIM_DEFAULTS.subDevices).argParser(int('subdevices', 0, 4096)),
  )
  .addOption(
    new Option('--interval <seconds>', 'seconds between two reports of a box (jittered by ±10%)')
      .default(SIM_DEFAULTS.intervalS)
      .argParser(num('interval', 0.01, 86_400)),
  )
  .addOption(new Option('--seed <n>', 'seed of the fleet and its behaviour').default(SIM_DEFAULTS.seed).argParser(int('seed', 0, 2 ** 31)))
  .addOption(
    new Option('--flap <p>', 'chance that a sub-device changes status in a report').default(SIM_DEFAULTS.flap).argParser(num('flap', 0, 1)),
  )
  .addOption(
    new Option('--silence <p>', 'chance, at each of its report times, that a box goes silent')
      .default(SIM_DEFAULTS.silence)
      .argParser(num('silence', 0, 1)),
  )
  .addOption(
    new Option('--silence-for <seconds>', 'mean length of a silence (each lasts 0.5x to 1.5x this)')
      .default(SIM_DEFAULTS.silenceForS)
      .argParser(num('silence-for', 0, 86_400 * 30)),
  )
  .addOption(
    new Option('--offline-share <p>', 'share of sub-devices offline in the long run (an offline one mostly comes back)')
      .default(SIM_DEFAULTS.offlineShare)
      .argParser(num('offline-share', 0, 1)),
  )
  .addOption(
    new Option('--dialect <name>', 'report dialect: current, or rich (box health, stream addresses, offline reasons)')
      .choices([...SIM_DIALECTS])
      .default(SIM_DEFAULTS.dialect),
  )
  .addOption(
    new Option('--login-url <url>', 'log each box in here first (GET ?dev_sno=&hex_mac=), then report where and as often as the answer says')
      .env('DEVSTATUS_SIM_LOGIN_URL'),
  )
  .addOption(
    new Option('--queue-max <n>', 'reports a box keeps for sending again while the receiver is away')
      .default(SIM_DEFAULTS.queueMax)
      .argParser(int('queue-max', 1, 1_000_000)),
  )
  .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(num('duration', 0.01, 86_400 * 365)))
  .addOption(new Option('--reports <n>', 'stop after sending this many reports').argParser(int('reports', 1, Number.MAX_SAFE_INTEGER)))
  .addOption(
    new Option('--concurrency <n>', 'most requests in flight at once (keep-alive connections)')
      .default(SIM_DEFAULTS.concurrency)
      .argParser(int('concurrency', 1, 100_000)),
  )
  .addOption(new Option('--timeout <seconds>', 'request timeout').default(SIM_DEFAULTS.timeoutS).argParser(num('timeout', 0.01, 3600)))
  .addOption(
    new Option('--progress-every <seconds>', 'seconds between progress lines when stderr is not a terminal')
      .default(5)
      .argParser(num('progress-every', 0.05, 3600)),
  )
  .option('--json', 'print the summary as JSON', false)
  .option('--quiet', 'no progress display, only the summary', false)
  .action(async (opts) => {
    const { runSimulate } = await import('./simulate.js');
    process.exitCode = await runSimulate({
      url: opts.url,
      boxes: opts.boxes,
      subDevices: opts.subdevices,
      intervalS: opts.interval,
      seed: opts.seed,
      flap: opts.flap,
      silence: opts.silence,
      silenceForS: opts.silenceFor,
      offlineShare: opts.offlineShare,
      dialect: opts.dialect,
      loginUrl: opts.loginUrl,
      queueMax: opts.queueMax,
      durationS: opts.duration,
      maxReports: opts.reports,
      concurrency: opts.concurrency,
      timeoutS: opts.timeout,
      json: opts.json,
      quiet: opts.quiet,
      progressEvery: opts.progressEvery,
    });
  });

const dbOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--db <file>', 'SQLite database file').env('DEVSTATUS_DB').default(DEFAULT_DB_FILE))
    .addOption(new Option('--database-url <url>', 'PostgreSQL instead of SQLite').env('DATABASE_URL'));

const user = program
  .command('user')
  .description('operator accounts (roles: admin, operator, viewer); passwords from DEVSTATUS_PASSWORD, standard input or a prompt');
dbOptions(
  user
    .command('add <username>')
    .description('add a user')
    .addOption(new Option('--role <role>', 'admin, operator or viewer').default('viewer')),
).action(async (username: string, opts) => {
  const { userAdd } = await import('./user.js');
  await userAdd(opts, username, opts.role);
});
dbOptions(
  user
    .command('passwd <username>')
    .description("set a user's password (ends their sessions)")
    .addOption(new Option('--role <role>', 'also change the role to admin, operator or viewer')),
).action(async (username: string, opts) => {
  const { userPasswd } = await import('./user.js');
  await userPasswd(opts, username, opts.role);
});
dbOptions(user.command('remove <username>').description('remove a user, their sessions and API keys')).action(async (username: string, opts) => {
  const { userRemove } = await import('./user.js');
  await userRemove(opts, username);
});
dbOptions(user.command('list').description('list users').option('--json', 'as JSON', false)).action(async (opts) => {
  const { userList } = await import('./user.js');
  await userList(opts, opts.json);
});

dbOptions(
  program
    .command('backup <file>')
    .description('write a consistent copy of a live SQLite store to <file> (SQLite online backup); PostgreSQL: use pg_dump'),
).action(async (file: string, opts) => {
  const { backup } = await import('./backup.js');
  await backup(opts, file);
});

// A usage error is its one line and where to read more, not the whole help.
const hintAtHelp = (cmd: Command) =>
  cmd.configureOutput({
    outputError: (str, write) => {
      const name = cmd === program ? 'devstatus' : `devstatus ${cmd.name()}`;
      write(`${str.trimEnd()}\nRun '${name} --help' for the options.\n`);
    },
  });
for (const cmd of [program, ...program.commands, ...user.commands]) hintAtHelp(cmd);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`devstatus: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
