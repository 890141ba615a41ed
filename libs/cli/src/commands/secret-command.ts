import { Option, type Command } from 'commander';
import { isErrorCode, NotFoundError, REDACTED, type KindDefinition } from '@tugboat/resource-model';
import { connectToObject, type CommandContext } from '../command-context.js';
import { readSecretValue, SECRET_VALUE_MAX_BYTES, type SecretValueSource } from '../read-secret-value.js';
import { UsageError } from '../usage-error.js';

interface SecretSetFlags {
  project?: string;
  field?: string;
  fromFile?: string;
  fromStdin?: boolean;
  trim?: boolean;
  value?: string;
}

/**
 * `KIND/NAME`, or the `KIND NAME` of the other object commands. Errors do not repeat the arguments:
 * one of them may be a value typed where it does not belong.
 */
export function parseSecretTarget(target: string, name: string | undefined): { kind: string; name: string } {
  const slash = target.indexOf('/');
  if (name !== undefined) {
    if (slash >= 0) throw new UsageError('give the object as KIND/NAME or as KIND NAME, not both (and never the value: see --help)', [{ path: 'target', rule: 'kind-name' }]);
    return { kind: target, name };
  }
  if (slash <= 0 || slash === target.length - 1) {
    throw new UsageError('give the object as KIND/NAME (e.g. secret/db-password) or as KIND NAME', [{ path: 'target', rule: 'kind-name' }]);
  }
  return { kind: target.slice(0, slash), name: target.slice(slash + 1) };
}

/**
 * The secret field to set, as a path inside `spec`: `--field` (with or without `spec.`), which must
 * be one of the kind's `secretFields`, or the kind's only one. Other fields are plain spec: `tug apply`.
 */
export function secretFieldOf(definition: KindDefinition, flag: string | undefined): string {
  const fields = definition.secretFields;
  const listed = fields.map((path) => `spec.${path}`).join(', ');
  if (fields.length === 0) {
    throw new UsageError(`${definition.kind} has no secret fields: set its fields with tug apply`, [{ path: '--field', rule: 'secret-field' }]);
  }
  if (flag === undefined) {
    if (fields.length === 1) return fields[0]!;
    throw new UsageError(`--field: ${definition.kind} has several secret fields; name one: ${listed}`, [{ path: '--field', rule: 'required' }]);
  }
  const path = flag.replace(/^spec\./, '');
  if (fields.includes(path)) return path;
  throw new UsageError(`--field: spec.${path} is not a secret field of ${definition.kind} (those are: ${listed}); set other fields with tug apply`, [
    { path: '--field', rule: 'secret-field' },
  ]);
}

/** `{ a: { b: value } }` for the path `a.b`: the merge patch that sets that field and leaves the rest. */
function mergePatchOf(path: string, value: string): Record<string, unknown> {
  return path
    .split('.')
    .reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/** Whether a create must carry the field: required at every level of the path (top-level `required` lists only; conditions are not followed). */
function requiredBySchema(schema: Record<string, unknown>, path: string): boolean {
  let node: unknown = schema;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return false;
    const { required, properties } = node as { required?: unknown; properties?: Record<string, unknown> };
    if (!Array.isArray(required) || !required.includes(key)) return false;
    node = properties?.[key];
  }
  return true;
}

/** What to do when the object is not there: `tug secret set` changes an object, it never creates one. */
function createItFirst(definition: KindDefinition, path: string): string {
  const field = `spec.${path}`;
  const how = requiredBySchema(definition.schema, path)
    ? `its schema requires ${field}, so apply it with a placeholder value there, then set the real one with tug secret set`
    : `its manifest may leave ${field} out or say "${REDACTED}" (not set yet; re-applying it then keeps the value), then set it with tug secret set`;
  return `create it first with tug apply: ${how}`;
}

export function registerSecretCommand(program: Command, context: CommandContext): void {
  const secret = program
    .command('secret')
    .description('set secret fields (a password, a key, a kubeconfig) from a file or stdin, never from the command line');
  secret
    .command('set')
    .description("set one secret field of an existing object from a file or stdin; prints the field and the object's new generation, never the value")
    .argument('<kind/name>', 'the object: KIND/NAME (kind, plural, singular or short name), e.g. secret/db-password')
    .argument('[name]', 'the name, when the kind is given alone (KIND NAME)')
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
    .option('--field <path>', "the secret field, a path in spec (value or spec.value); default: the kind's only secret field")
    .option('--from-file <file>', `read the value from FILE (its bytes, UTF-8, at most ${SECRET_VALUE_MAX_BYTES / 1024} KiB; nothing trimmed unless --trim)`)
    .option('--from-stdin', 'read the value from standard input, to its end')
    .option('--trim', 'strip one trailing newline (\\n or \\r\\n), as `echo` or an editor adds; without it the value is kept byte for byte')
    // Not in the help: it exists only to say why there is no such option.
    .addOption(new Option('--value <value>').hideHelp())
    .addHelpText(
      'after',
      `
There is no --value: a value given as an argument is kept in the shell's history
and is visible to every user of the machine in the process list (ps). Give it
in a file or through stdin instead.

The field is written with a JSON merge patch of that field alone: the rest of
the spec, labels and status are left as they are. The value is stored
encrypted and reads back as "${REDACTED}" everywhere (get, history, events,
watch); an apply that sends "${REDACTED}" keeps it, an apply that leaves the
field out removes it. The value must be UTF-8 text, not empty, at most
${SECRET_VALUE_MAX_BYTES / 1024} KiB (encode binary data, e.g. base64). On a terminal, --from-stdin shows
what you type: end it with Ctrl-D.

The object must exist: create it with tug apply first, leaving the secret field
out (or, if its schema requires it, with a placeholder value).

Examples:
  tug secret set secret/db-password -p shop --from-file ./db-password.txt
  pass show shop/db | tug secret set secret/db-password -p shop --from-stdin --trim
  tug secret set cluster/prod --from-file ~/.kube/prod.yaml       # spec.kubeconfig
  tug secret set aws/prod --field secretAccessKey --from-stdin --trim < key.txt`,
    )
    .action(async (target: string, name: string | undefined, flags: SecretSetFlags, command: Command) => {
      if (flags.value !== undefined) {
        throw new UsageError('--value: not taken, as a value on the command line lands in the shell history and the process list; use --from-file FILE or --from-stdin', [
          { path: '--value', rule: 'unsupported' },
        ]);
      }
      if ((flags.fromFile === undefined) === (flags.fromStdin !== true)) {
        throw new UsageError('give the value with exactly one of --from-file FILE or --from-stdin', [{ path: '--from-file', rule: 'one-of' }]);
      }
      const source: SecretValueSource | undefined =
        flags.fromFile !== undefined ? { file: flags.fromFile, cwd: context.io.cwd } : context.io.stdin === undefined ? undefined : { stdin: context.io.stdin };
      if (source === undefined) throw new UsageError('--from-stdin: no standard input to read', [{ path: '--from-stdin', rule: 'stdin' }]);
      const object = parseSecretTarget(target, name);

      // The kind and field first: a mistake there is said before anyone types a secret.
      const { client, definition, ref } = await connectToObject(context, command, { ...object, project: flags.project, action: 'set a secret of' });
      const path = secretFieldOf(definition, flags.field);
      if ('stdin' in source && context.io.stdinIsTTY === true) context.err('reading the value from the terminal (shown as you type); end it with Ctrl-D\n');
      const value = await readSecretValue({ source, trim: flags.trim === true });

      let written;
      try {
        // No If-Match: a merge patch of one field writes back nothing it read, so it cannot undo a
        // concurrent change, and the controller's status writes would make any resourceVersion stale.
        written = await client.patch(ref, { spec: mergePatchOf(path, value) }, { signal: context.io.signal });
      } catch (error) {
        if (!isErrorCode(error, 'NotFound')) throw error;
        throw new NotFoundError(`${error instanceof Error ? error.message : String(error)}\n  hint: ${createItFirst(definition, path)}`, { cause: error });
      }
      context.out(`${definition.singular}/${written.metadata.name}: spec.${path} set (generation ${written.metadata.generation})\n`);
    });
}
