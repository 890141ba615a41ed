import type { Command } from 'commander';
import { applyManifest } from '../apply-manifests.js';
import { collect, type CommandContext } from '../command-context.js';
import { describeError, EXIT_FAILED, isUnreachable } from '../describe-error.js';
import { displayName } from '../manifest-key.js';
import { orderManifests } from '../order-manifests.js';
import { readManifestDocuments, toManifest } from '../read-manifests.js';

interface ApplyFlags {
  filename: string[];
  project?: string;
}

export function registerApplyCommand(program: Command, context: CommandContext): void {
  program
    .command('apply')
    .description('create the objects in YAML or JSON files, or update them where they differ')
    .option('-f, --filename <path>', 'a file, a directory (its .yaml, .yml and .json files) or - for stdin; repeatable', collect, [])
    .option('-p, --project <project>', 'project for project-scoped objects whose metadata names none')
    .addHelpText(
      'after',
      `
Objects are applied so that the ones others reference come first. Each prints
"Kind/name created", "configured" or "unchanged". Every document is checked
before the first write; an object the API rejects is reported and the rest
are still applied (exit code 1).

Examples:
  tug apply -f examples/first-app.yaml
  tug get app web -p team-a -o yaml | tug apply -f -`,
    )
    .action(async (flags: ApplyFlags, command: Command) => {
      const documents = await readManifestDocuments({
        paths: flags.filename,
        cwd: context.io.cwd,
        ...(context.io.stdin === undefined ? {} : { stdin: context.io.stdin }),
      });
      const { client, settings } = await context.connect(command);
      const kinds = await client.kinds({ signal: context.io.signal });
      const manifests = orderManifests(
        documents.map((document) => toManifest(document, kinds, flags.project)),
        kinds,
      );
      let failures = 0;
      for (const manifest of manifests) {
        try {
          const outcome = await applyManifest(manifest, { client, ...(context.io.signal ? { signal: context.io.signal } : {}) });
          context.out(`${displayName(manifest)} ${outcome}\n`);
        } catch (error) {
          if (isUnreachable(error)) throw error;
          failures++;
          const report = describeError(error, { serverUrl: settings.server, subject: `${displayName(manifest)} (${manifest.source})` });
          context.err(report.lines.join('\n') + '\n');
        }
      }
      if (failures > 0) {
        context.err(`${failures} of ${manifests.length} objects were not applied\n`);
        context.exitCode = EXIT_FAILED;
      }
    });
}
