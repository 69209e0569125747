#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DB_FILE } from '../store/index.js';
import { SIM_DEFAULTS } from '../sim/simulation.js';
import { DEFAULTS, serve } from './serve.js';
import { runSimulate } from './simulate.js';

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
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

const program = new Command('devstatus')
  .description('Fleet status for edge AI boxes: receiver, edge agent and simulator')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the receiver (drop-in for the sample server: POST /DeviceStatus on port 9528)')
  .addOption(new Option('--host <host>', 'address to listen on').env('DEVSTATUS_HOST').default(DEFAULTS.host))
  .addOption(new Option('--port <port>', 'port to listen on').env('DEVSTATUS_PORT').default(DEFAULTS.port).argParser(int('port', 0, 65535)))
  .addOption(new Option('--path <path>', 'path boxes POST their report to').env('DEVSTATUS_PATH').default(DEFAULTS.path))
  .addOption(new Option('--db <file>', 'SQLite database file').env('DEVSTATUS_DB').default(DEFAULT_DB_FILE))
  .addOption(
    new Option('--body-limit <bytes>', 'largest accepted report body')
      .env('DEVSTATUS_BODY_LIMIT')
      .default(DEFAULTS.bodyLimit)
      .argParser(int('body limit', 1, 1024 * 1024 * 1024)),
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .env('LOG_LEVEL')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info'),
  )
  .action(async (opts) => {
    await serve(opts);
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
    process.exitCode = await runSimulate({
      url: opts.url,
      boxes: opts.boxes,
      subDevices: opts.subdevices,
      intervalS: opts.interval,
      seed: opts.seed,
      flap: opts.flap,
      silence: opts.silence,
      silenceForS: opts.silenceFor,
      durationS: opts.duration,
      maxReports: opts.reports,
      concurrency: opts.concurrency,
      timeoutS: opts.timeout,
      json: opts.json,
      quiet: opts.quiet,
      progressEvery: opts.progressEvery,
    });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`devstatus: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
