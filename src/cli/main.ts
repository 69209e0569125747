#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DB_FILE } from '../store/index.js';
import { DEFAULT_AGENT_CONFIG, reportOnce, runAgent } from './agent.js';
import { DEFAULTS, serve } from './serve.js';

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
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

const configOption = () =>
  new Option('-c, --config <file>', 'agent config file, YAML or JSON (see examples/agent.yaml)')
    .env('DEVSTATUS_AGENT_CONFIG')
    .default(DEFAULT_AGENT_CONFIG);

program
  .command('agent')
  .description('run the edge agent: probe the sub-devices and POST a status report every interval')
  .addOption(configOption())
  .addOption(
    new Option('--log-level <level>', 'log level (debug logs every report sent or queued)')
      .env('LOG_LEVEL')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info'),
  )
  .action(async (opts) => {
    await runAgent(opts);
  });

program
  .command('report')
  .description('probe the sub-devices once, POST one report and print the result (exit 1 if the POST fails)')
  .addOption(configOption())
  .option('--once', 'one probe round and one POST (the only mode; the periodic loop is `devstatus agent`)', true)
  .option('--json', 'print the report, the probe results and the answer as JSON')
  .action(async (opts) => {
    process.exitCode = await reportOnce(opts);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`devstatus: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
