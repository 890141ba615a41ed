import type { Command } from 'commander';
import { connectToObject, type CommandContext } from '../command-context.js';

interface ObjectFlags {
  project?: string;
}

interface OperatorControl {
  name: 'suspend' | 'resume' | 'reconcile';
  description: string;
  done: string;
  help: string;
}

const CONTROLS: readonly OperatorControl[] = [
  {
    name: 'suspend',
    description: 'stop reconciling an object until it is resumed (its spec can still change)',
    done: 'suspended',
    help: 'Recorded as an event and a revision with your identity. Controllers leave a\nsuspended object alone; `tug resume` hands it back to them.',
  },
  {
    name: 'resume',
    description: 'reconcile a suspended object again (its controller is woken at once)',
    done: 'resumed',
    help: 'Recorded as an event and a revision with your identity.',
  },
  {
    name: 'reconcile',
    description: 'ask the owning controller to reconcile an object now, without changing it',
    done: 'reconcile requested',
    help: 'Also retries an object that is Failed at its current generation.\nRecorded as an event and a revision with your identity.',
  },
];

export function registerOperatorCommands(program: Command, context: CommandContext): void {
  for (const control of CONTROLS) {
    program
      .command(control.name)
      .description(control.description)
      .argument('<kind>', 'kind, plural, singular or short name')
      .argument('<name>', 'the object')
      .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
      .addHelpText('after', `\n${control.help}\n\nExample:\n  tug ${control.name} app web -p team-a`)
      .action(async (kindName: string, name: string, flags: ObjectFlags, command: Command) => {
        const { client, ref, shown } = await connectToObject(context, command, { kind: kindName, name, project: flags.project, action: control.name });
        const signal = context.io.signal;
        if (control.name === 'suspend') await client.suspend(ref, { signal });
        else if (control.name === 'resume') await client.resume(ref, { signal });
        else await client.requestReconcile(ref, { signal });
        context.out(`${shown} ${control.done}\n`);
      });
  }
}
