/** Argument parsing. Every command returns an exit code; this is the only module that knows argv. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { exitForError } from './error-exit.js';
import { parseDuration } from './duration.js';
import { EXIT } from './exit-codes.js';
import { processIo, redacting, type Io } from './io.js';
import { SANDBOX_PROFILE_NAMES } from '../sandbox/profiles.js';
import { watchInterrupts } from './interrupt.js';
import { collectAction, collectStatus, parseInstant } from './log-arguments.js';
import type { CommandOutput, OutputChoice, OutputFlags } from './command-output.js';
import { DEFAULT_PROGRESS_EVERY_MS } from './progress-state.js';

// Each command's module is loaded when that command runs: `--version`, `--help` and a command that
// needs neither BullMQ nor the sandbox do not pay for loading them.
const commands = () => import('./commands.js');
const distributed = () => import('./distributed-commands.js');
const sandboxes = () => import('./sandbox-commands.js');
const reviews = () => import('./review-commands.js');
const logCommands = () => import('./log-command.js');
const people = () => import('./person-commands.js');

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number (0 picks a free one)');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a non-negative number');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('an integer');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number, 0 or more');
  return n;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('a number from 0 to 1');
  return n;
}

function rateLimitArg(value: string): { requests: number; perMs: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError('requests/milliseconds, e.g. 600/60000');
  return { requests: Number(m[1]), perMs: Number(m[2]) };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Runs a command that writes to targets with a graceful stop on the first SIGINT/SIGTERM. */
async function stoppable(io: Io, command: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const interrupt = watchInterrupts(io);
  try {
    return await command(interrupt.signal);
  } finally {
    interrupt.dispose();
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function main(argv: string[], output: Io = processIo): Promise<number> {
  const outer = redacting(output);
  // `--json` promises one JSON document on stdout whatever happens: an error prints one only when
  // the command has not printed its own.
  const json = argv.slice(2).includes('--json');
  let printed = false;
  const io: Io = {
    out: (text) => {
      printed = true;
      outer.out(text);
    },
    err: (text) => outer.err(text),
    terminal: outer.terminal,
  };
  let code: number = EXIT.OK;
  const program = new Command('scim-sync')
    .description('Provision users from a source of truth (HR CSV, LDAP, Google) into SaaS apps over SCIM 2.0')
    .version('0.1.0')
    .option('--debug', 'show the stack of an internal error (for a bug report)')
    .option('-v, --verbose', 'log more: debug lines (each retry, each listing, each failed operation)')
    .option('-q, --quiet', 'log only warnings and errors, and show no progress')
    .addOption(new Option('--log-format <format>', 'log lines on stderr as JSON (one object a line) or short text; auto: text on a terminal, JSON elsewhere').choices(['auto', 'json', 'pretty']).default('auto'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true });

  const configOption = () =>
    new Option('-c, --config <file>', 'the config file, org.yaml: the source, the targets with their mappings, safety limits, state directory (see config/example.yaml)').makeOptionMandatory();
  const progressOption = () =>
    new Option('--progress-every <duration>', `off a terminal, log a progress line this often (30s, 1m); default ${DEFAULT_PROGRESS_EVERY_MS / 1000}s`).argParser(parseDuration);
  /** The log and, where `choice.progress`, the progress of a command, closed when it returns. */
  const withOutput = async (choice: OutputChoice, body: (output: CommandOutput) => Promise<number>): Promise<number> => {
    // Loaded here, as the commands are: pino and cli-progress are not needed by --help.
    const { commandOutput } = await import('./command-output.js');
    const output = commandOutput(io, program.opts() as OutputFlags, choice);
    try {
      return await body(output);
    } finally {
      output.close();
    }
  };
  /** The help's closing lines: examples of the command. */
  const examples = (...lines: string[]) => `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
  const targetOption = () => new Option('-t, --target <name>', 'only this target (repeatable)').argParser(collect);

  program.addHelpText('after', examples('scim-sync demo', 'scim-sync check --config org.yaml', 'scim-sync run --config org.yaml', 'scim-sync run --help'));

  program
    .command('validate')
    .description('check the config file; report every problem with its path')
    .addOption(configOption())
    .addHelpText('after', examples('scim-sync validate --config org.yaml'))
    .action(async (o) => {
      code = await (await commands()).validateCommand(o, io);
    });
  program
    .command('schema')
    .description("print the config's JSON Schema (for editor autocompletion)")
    .addHelpText('after', examples('scim-sync schema > org.schema.json'))
    .action(async () => {
      code = await (await commands()).schemaCommand(io);
    });
  program
    .command('check')
    .description('test the connection to each target: credential, what the server supports, one user read, what will not work; writes nothing unless --write-probe')
    .addOption(configOption())
    .addOption(targetOption())
    .option(
      '--write-probe',
      'WRITES to the target: creates a throwaway user (scim-sync-probe+<random>@invalid.example), tries the PATCH shapes, a userName with "+" ' +
        'and lookups by filter, reports what the server keeps and finds, then deletes the probe (or deactivates it when deletes are not allowed); every write is recorded in the audit log',
    )
    .option('--json', 'print the findings as JSON')
    .addHelpText('after', examples('scim-sync check --config org.yaml', 'scim-sync check --config org.yaml --target slack --write-probe'))
    .action(async (o) => {
      const { checkCommand } = await import('./check-command.js');
      // Only the probe writes: a stop then waits for its removal. A check that only reads just ends.
      code = await (o.writeProbe ? stoppable(io, (signal) => checkCommand({ ...o, signal }, io)) : checkCommand(o, io));
    });
  program
    .command('plan')
    .description('read the source and the targets, print what a run would change; writes nothing')
    .addOption(configOption())
    .addOption(targetOption())
    .option('-o, --out <file>', 'save the plan as JSON, for `apply`')
    .option('--retry-parked', 'plan parked changes again (changes a target accepted but never kept, or refused run after run)')
    .option('--verify-members', 'on a server that returns group members nowhere (AWS): ask about every group and linked user, not the member memory')
    .option('--json', 'print the plan as JSON')
    .addOption(progressOption())
    .addHelpText('after', examples('scim-sync plan --config org.yaml', 'scim-sync plan --config org.yaml --target slack --out plan.json'))
    .action(async (o) => {
      const { planCommand } = await commands();
      code = await withOutput({ progress: true, json: o.json, progressEveryMs: o.progressEvery }, (output) => planCommand({ ...o, output }, output.io));
    });
  program
    .command('apply')
    .description('execute a saved plan (after the safety check)')
    .argument('<plan>', 'plan file from `plan --out`')
    .addOption(configOption())
    .option('--override-safety', 'apply even when the safety check objects (audited)')
    .option('--wait', 'distributed mode: wait for the workers to finish, then report (exit codes as embedded mode)')
    .option('--wait-timeout <duration>', 'with --wait: stop waiting after this long (90s, 30m, 2h); the workers go on, and the exit code is 1', parseDuration)
    .option('--json', 'print the report as JSON')
    .addOption(progressOption())
    .addHelpText('after', examples('scim-sync apply plan.json --config org.yaml'))
    .action(async (file, o) => {
      const { applyCommand } = await commands();
      code = await withOutput({ progress: true, json: o.json, progressEveryMs: o.progressEvery }, (output) =>
        stoppable(output.io, (signal) => applyCommand(file, { ...o, signal, output }, output.io)),
      );
    });
  program
    .command('run')
    .description('plan, safety check, apply, report: one sync cycle (what cron runs)')
    .addOption(configOption())
    .addOption(targetOption())
    .option('--override-safety', 'apply even when the safety check objects (audited)')
    .option('--retry-parked', 'send parked changes again, once (a change still not kept, or refused, is parked again)')
    .option('--verify-members', 'on a server that returns group members nowhere (AWS): check every group against every linked user now, and remember the result')
    .option('--wait', 'distributed mode: wait for the workers to finish, then report (exit codes as embedded mode)')
    .option('--wait-timeout <duration>', 'with --wait: stop waiting after this long (90s, 30m, 2h); the workers go on, and the exit code is 1', parseDuration)
    .option('--json', 'print the summary and report as JSON')
    .option('--metrics-file <file>', "after the run, write its Prometheus metrics to this file (node_exporter's textfile collector; name it *.prom), atomically")
    .addOption(progressOption())
    .addHelpText(
      'after',
      examples(
        'scim-sync run --config /etc/scim-sync/org.yaml',
        'scim-sync run --config org.yaml --quiet --metrics-file /var/lib/node_exporter/textfile/scim-sync.prom   # from cron',
      ),
    )
    .action(async (o) => {
      const { runCommand } = await commands();
      code = await withOutput({ progress: true, json: o.json, progressEveryMs: o.progressEvery }, (output) =>
        stoppable(output.io, (signal) => runCommand({ ...o, signal, output }, output.io)),
      );
    });
  const userOption = () => new Option('-u, --user <key>', "the person's source key").makeOptionMandatory();
  program
    .command('explain')
    .description('what the next cycle would do for one person in each target, and why; writes nothing')
    .addOption(configOption())
    .addOption(userOption())
    .addOption(targetOption())
    .option('--json', 'print the explanation as JSON')
    .addHelpText('after', examples('scim-sync explain --config org.yaml --user E1042'))
    .action(async (o) => {
      code = await (await people()).explainCommand(o, io);
    });
  program
    .command('provision')
    .description('sync one person now (read that person, plan, safety check, apply), printing each step')
    .addOption(configOption())
    .addOption(userOption())
    .addOption(targetOption())
    .option('--json', 'print the report as JSON')
    .addHelpText('after', examples('scim-sync provision --config org.yaml --user E1042'))
    .action(async (o) => {
      code = await (await people()).provisionCommand(o, io);
    });
  program
    .command('deprovision')
    .description("emergency offboarding: deactivate one person's accounts now and keep them off until the source changes or `release`")
    .addOption(configOption())
    .addOption(userOption())
    .addOption(targetOption())
    .addOption(new Option('--reason <text>', 'why (required; recorded with who asked)').makeOptionMandatory())
    .option('--json', 'print the report as JSON')
    .addHelpText('after', examples('scim-sync deprovision --config org.yaml --user E1042 --reason "left today, ticket SEC-311"'))
    .action(async (o) => {
      code = await (await people()).deprovisionCommand(o, io);
    });
  program
    .command('release')
    .description('lift the emergency hold of one person: the next cycle plans them from the source again')
    .addOption(configOption())
    .addOption(userOption())
    .addHelpText('after', examples('scim-sync release --config org.yaml --user E1042'))
    .action(async (o) => {
      code = await (await people()).releaseCommand(o, io);
    });
  program
    .command('unlock')
    .description('show who holds the run lock and remove it (refused while its holder may still run, unless --force)')
    .addOption(configOption())
    .option('--force', 'remove it even though its holder may still run (a reused pid, a holder elsewhere that is gone)')
    .addHelpText('after', examples('scim-sync unlock --config org.yaml'))
    .action(async (o) => {
      code = await (await import('./unlock-command.js')).unlockCommand(o, io);
    });
  program
    .command('unquarantine')
    .description('lift the quarantine of a target now: the next cycle includes it')
    .addOption(configOption())
    .addOption(new Option('-t, --target <name>', 'the quarantined target (repeatable)').argParser(collect).makeOptionMandatory())
    .option('--json', 'print the lifted targets as JSON')
    .addHelpText('after', examples('scim-sync unquarantine --config org.yaml --target slack'))
    .action(async (o) => {
      code = await (await import('./quarantine-command.js')).unquarantineCommand(o, io);
    });
  program
    .command('forget')
    .description('drop the links of a target taken out of the config, once its app is gone (every plan warns of them until then)')
    .addOption(configOption())
    .addOption(new Option('-t, --target <name>', 'a target the config no longer names (repeatable)').argParser(collect).makeOptionMandatory())
    .option('--json', 'print what was dropped as JSON')
    .addHelpText('after', examples('scim-sync forget --config org.yaml --target old-wiki'))
    .action(async (o) => {
      code = await (await import('./forget-command.js')).forgetCommand(o, io);
    });
  program
    .command('worker')
    .description('distributed mode: execute enqueued operations until SIGTERM/SIGINT (then finish those in flight)')
    .addOption(configOption())
    .addOption(targetOption())
    .option('--name <name>', 'worker name shown by `status` (default host-pid)')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (0 picks a free one); off by default', port)
    .option('--metrics-host <host>', 'address of --metrics-port (0.0.0.0 in a container)', '127.0.0.1')
    .addHelpText('after', examples('scim-sync worker --config org.yaml --metrics-port 9464', 'scim-sync worker --config org.yaml --target slack --name slack-1'))
    .action(async (o) => {
      const { workerCommand } = await distributed();
      code = await withOutput({}, (output) => workerCommand({ ...o, output }, output.io, untilSignal()));
    });
  program
    .command('schedule')
    .description("distributed mode: start a sync cycle at each time of the config's schedule.cron, until SIGTERM/SIGINT")
    .addOption(configOption())
    .option('--name <name>', 'scheduler name (default host-pid)')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (0 picks a free one); off by default', port)
    .option('--metrics-host <host>', 'address of --metrics-port (0.0.0.0 in a container)', '127.0.0.1')
    .addHelpText('after', examples('scim-sync schedule --config org.yaml --metrics-port 9465'))
    .action(async (o) => {
      const { scheduleCommand } = await distributed();
      code = await withOutput({}, (output) => scheduleCommand({ ...o, output }, output.io, untilSignal()));
    });
  program
    .command('serve')
    .description('the long-running service: full cycles on schedule.cron, change feeds and inbound events in between, /healthz /readyz /metrics; until SIGTERM/SIGINT')
    .addOption(configOption())
    .option('--listen <host:port>', 'address of the HTTP endpoints (default serve.listen, 127.0.0.1:8080)')
    .addHelpText('after', examples('scim-sync serve --config /etc/scim-sync/org.yaml', 'scim-sync serve --config org.yaml --listen 0.0.0.0:8080   # in a container'))
    .action(async (o) => {
      const { serveCommand } = await import('./serve-command.js');
      code = await withOutput({}, (output) => serveCommand({ ...o, output }, output.io, untilSignal()));
    });
  program
    .command('status')
    .description('distributed mode: queues, work in flight, failed operations with reasons, last cycle per target')
    .addOption(configOption())
    .addOption(targetOption())
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples('scim-sync status --config org.yaml', 'scim-sync status --config org.yaml --target slack --json'))
    .action(async (o) => {
      code = await (await distributed()).statusCommand(o, io);
    });
  program
    .command('retry')
    .description('distributed mode: run the failed operations again, as a cycle of their own in phase order')
    .addOption(configOption())
    .addOption(targetOption())
    .option('--json', 'print the counts as JSON')
    .option('--override-safety', 're-queue them even when the safety check objects (audited)')
    .addHelpText('after', examples('scim-sync retry --config org.yaml --target slack'))
    .action(async (o) => {
      code = await (await distributed()).retryCommand(o, io);
    });
  program
    .command('report')
    .description('access review: accounts the source does not explain, accounts scim-sync deactivated and when, who holds which group, role or entitlement; writes nothing')
    .addOption(configOption())
    .addOption(targetOption())
    .addOption(new Option('--format <format>', 'table, csv or json').choices(['table', 'csv', 'json']).default('table'))
    .option('--json', 'same as --format json')
    .addHelpText('after', examples('scim-sync report --config org.yaml --format csv > access-review.csv'))
    .action(async (o) => {
      code = await (await reviews()).reportCommand(o, io);
    });
  program
    .command('staged')
    .description('list the deprovisions safety stops staged for review, and the sets an approve or reject is carrying out (who took them)')
    .addOption(configOption())
    .option('--json', 'print the lists as JSON (staged, and taken with takenBy)')
    .addHelpText('after', examples('scim-sync staged --config org.yaml'))
    .action(async (o) => {
      code = await (await reviews()).stagedCommand(o, io);
    });
  program
    .command('approve')
    .description('apply a staged set: each deprovision re-checked against the source and the target first (audited)')
    .argument('<id>', 'staged set id from `scim-sync staged`')
    .addOption(configOption())
    .option('--json', 'print the report as JSON')
    .addHelpText('after', examples('scim-sync approve <id> --config org.yaml'))
    .action(async (id, o) => {
      const { approveCommand } = await reviews();
      code = await stoppable(io, (signal) => approveCommand(id, { ...o, signal }, io));
    });
  program
    .command('reject')
    .description('drop a staged set; its deprovisions are not planned again until the person\'s source record changes (audited)')
    .argument('<id>', 'staged set id from `scim-sync staged`')
    .addOption(configOption())
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('scim-sync reject <id> --config org.yaml'))
    .action(async (id, o) => {
      code = await (await reviews()).rejectCommand(id, o, io);
    });
  program
    .command('log')
    .description('query the provisioning log: what happened to whom, where, when (oldest first)')
    .addOption(configOption())
    .option('-u, --user <key>', "a person: source key, userName or email")
    .addOption(targetOption())
    .option('--action <action>', 'this action (createUser, updateUser, deprovisionUser, apply.start, ...; repeatable)', collectAction)
    .option('--status <status>', 'this outcome: ok, partial, failed, skipped, unchanged, held, info, or success, failure, warning (repeatable)', collectStatus)
    .option('--cycle <id>', 'this cycle (the plan id)')
    .option('--since <when>', 'from this time (ISO; UTC unless it has an offset, as the output) or this long ago (2h, 7d)', (text: string) => parseInstant(text))
    .option('--until <when>', 'up to this time (ISO; UTC unless it has an offset) or this long ago', (text: string) => parseInstant(text))
    .option('--json', 'one JSON line per record')
    .option('-f, --follow', 'then print new records as they are written, until Ctrl-C')
    .addHelpText('after', examples('scim-sync log --config org.yaml --user jdoe@example.com --since 7d', 'scim-sync log --config org.yaml --status failed --since 1d --json'))
    .action(async (o) => {
      code = await (await logCommands()).logCommand(o, io, o.follow ? untilSignal() : new Promise(() => undefined));
    });
  program
    .command('sandbox')
    .description('run a local SCIM 2.0 server to rehearse a config against')
    .option('-p, --port <port>', 'port (0 picks a free one)', port, 8999)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--token-env <name>', 'require this bearer token (read from the named environment variable)')
    .option('--data <file>', 'keep the data in this JSON file across restarts (changes go to <file>.journal, folded in on stop)')
    .option('--seed-users <n>', 'start with n deterministic users (user<i>@seed.example, externalId E<i>; see src/sandbox/seed.ts), for benchmarks', count)
    .addOption(new Option('--profile <name>', 'act like this vendor\'s SCIM server').choices([...SANDBOX_PROFILE_NAMES]))
    .option('--latency <ms>', 'delay every answer this many milliseconds', nonNegative)
    .option('--error-rate <share>', 'answer this share (0..1) of requests with 503', share)
    .option('--rate-limit <requests/ms>', 'answer 429 with Retry-After beyond this many requests per window, e.g. 600/60000', rateLimitArg)
    .option('--total-results-offset <n>', 'report totalResults off by this much', integer)
    .option('--repeat-pages', 'a page past the end repeats the first page')
    .option('--seed <n>', 'seed of the random faults (--error-rate)', integer)
    .option('--bulk <operations>', 'support /Bulk with up to this many operations a request', integer)
    .option('--urn-path-as-key', 'store a PATCH with a full URN path under a top-level key named after it (as scimgateway 6.1.18 does)')
    .option('--filter-plus-as-space', 'read "+" in filters as a space: userName eq "a+b@x" finds nothing')
    .option('--ignore-filters', 'ignore filters: a filtered list answers every resource')
    .option('--ignore-attribute <name>', 'accept this User attribute in writes but never keep it (repeatable)', collect)
    .option('--read-only-attribute <name>', 'declare this core User attribute readOnly in /Schemas, and ignore it in writes (repeatable)', collect)
    .addHelpText('after', examples('scim-sync sandbox --port 8999 --profile slack', 'SANDBOX_TOKEN=s3cr3t-token scim-sync sandbox --token-env SANDBOX_TOKEN --data sandbox.json'))
    .action(async (o) => {
      code = await (await sandboxes()).sandboxCommand(o, io, untilSignal());
    });
  program
    .command('demo')
    .description('sync the bundled example HR file into a fresh sandbox, twice, and show what happened')
    .option('-c, --config <file>', 'example config to use')
    .addHelpText('after', examples('scim-sync demo'))
    .action(async (o) => {
      code = await (await sandboxes()).demoCommand(o, io);
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    return exitForError(error, io, { json: json && !printed, debug: program.opts()['debug'] === true });
  }
}
