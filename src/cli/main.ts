/**
 * Command-line wiring only: options are declared here and each command's work lives in
 * `commands/<name>.ts`, imported lazily so `devloop --help` loads no heavy module.
 */
import { Command, Option } from 'commander';
import type { CommandContext, GlobalOptions } from './context.js';
import { loadCommands, type Commands } from './load-commands.js';

const program = new Command();

program
  .name('devloop')
  .description('Automates the Kubernetes inner dev loop: compile, build, push, render, apply, wait, port-forward.')
  .version('0.1.0')
  .option('-f, --filename <file>', 'config file', 'devloop.yaml')
  .option('-p, --profile <names>', 'profiles to activate, comma-separated')
  .addOption(new Option('-o, --output <format>', 'event output').choices(['text', 'json']).default('text'))
  .option('--kube-context <name>', 'kubeconfig context to use (default: current context)')
  .option('-n, --namespace <name>', 'namespace for objects that name none')
  .option('--default-repo <repo>', 'image repository prefix (also DEVLOOP_DEFAULT_REPO)')
  .option('--platform <list>', "target platforms, e.g. linux/arm64 or linux/amd64,linux/arm64 (default: build.platform, else the cluster's nodes)")
  .option('--no-color', 'plain terminal output')
  .option('--verbose', 'print stack traces, and tool output (compile, docker, hooks) as it comes', false)
  .option('--skip-preflight', 'do not check that the cluster and registries answer before building', false)
  .showHelpAfterError('(run `devloop --help` for usage)')
  // Set before any .command(): subcommands copy it when created. --help/--version exit 0; usage errors 2.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The command runner and the commands load only when a command runs, not for --help. */
async function runCommand(options: GlobalOptions, work: (ctx: CommandContext, commands: Commands) => Promise<number | void>): Promise<void> {
  const commands = await loadCommands();
  return commands.runCommand(options, (ctx) => work(ctx, commands));
}

program
  .command('init')
  .description('write a runnable starter project (source, Dockerfile, k8s/, devloop.yaml) into the current folder')
  .addOption(new Option('--template <name>', 'starter template').choices(['go', 'node']).default('go'))
  .option('--force', 'overwrite existing files', false)
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.init(ctx, command.opts())),
  );

program
  .command('diagnose')
  .description('print the effective config, kube context, Docker/registry reachability and artifact inputs')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.diagnose(ctx)),
  );

program
  .command('build')
  .description('compile, build, tag and push every artifact')
  .option('--push <bool>', 'push images (true|false); default from build.push')
  .option('--file-output <file>', 'write {"builds":[{"image","tag"}]} to this file')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.build(ctx, command.opts())),
  );

program
  .command('render')
  .description('print the manifests with image references replaced by the built ones')
  .option('--build-artifacts <file>', 'use the tags in this file (from `devloop build --file-output`)')
  .option('--out <file>', 'write to this file instead of stdout')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.render(ctx, command.opts())),
  );

program
  .command('deploy')
  .description('render and apply (without building when --build-artifacts is given), then wait until healthy')
  .option('--build-artifacts <file>', 'use the tags in this file instead of building')
  .option('--status-check-timeout <duration>', 'how long to wait for rollout (e.g. 120s)')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.deploy(ctx, command.opts())),
  );

program
  .command('run')
  .description('build, render, apply and wait once; exit 0 only when everything is deployed and healthy')
  .option('--tail', 'stream logs after deploying, until Ctrl-C', false)
  .option('--port-forward', 'forward every deployed Service (with --tail)', false)
  .option('--status-check-timeout <duration>', 'how long to wait for rollout (e.g. 120s)')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.run(ctx, command.opts())),
  );

program
  .command('dev')
  .description('run, then watch files and redo only what each change needs; Ctrl-C cleans up')
  .option('--port-forward', 'also forward every deployed Service', false)
  .option('--debounce <ms>', 'quiet period before an iteration starts', '100')
  .addOption(new Option('--trigger <mode>', 'how changes are noticed').choices(['notify', 'polling', 'manual']).default('notify'))
  .option('--interval <duration>', 'polling interval with --trigger polling', '1s')
  .option('--cleanup <bool>', 'delete what this session deployed on exit', 'true')
  .option('--status-check-timeout <duration>', 'how long to wait for rollout (e.g. 120s)')
  .option('--ui', 'serve a live web view of the session on 127.0.0.1 (URL printed at start)', false)
  .option('--ui-port <port>', 'port for the web view (default: a free one; implies --ui)')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.dev(ctx, command.opts())),
  );

program
  .command('delete')
  .description('delete everything this config deployed (by labels), including orphans of a crashed session')
  .action((_opts, command: Command) =>
    runCommand(globals(command), (ctx, c) => c.deleteDeployed(ctx)),
  );


await program.parseAsync(process.argv);
