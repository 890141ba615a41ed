import type { ReleaseSpec } from '@tugboat/api-client';
import { ConflictError, isDnsLabel, isErrorCode, type Resource } from '@tugboat/resource-model';
import type { Command } from 'commander';
import { connectToObject, type CommandContext } from '../command-context.js';
import { UsageError } from '../usage-error.js';

/**
 * `tug release create`: what a CI pipeline runs once it has pushed an image. The image must be
 * pinned by its digest, so the Release is exactly the bytes that were built and tested, never
 * whatever a tag points to later. The default name comes from the digest, so running the same
 * step again for the same build names the same Release, and answers it instead of failing.
 */

interface ReleaseCreateFlags {
  project?: string;
  component?: string;
  image?: string;
  commit?: string;
  buildUrl?: string;
  name?: string;
  description?: string;
}

const PINNED_IMAGE = /^([^\s@]+)@sha256:([0-9a-f]{64})$/;
const COMMIT = /^[0-9a-f]{7,64}$/;
const BUILD_URL = /^https?:\/\/\S+$/;

export const PIN_BY_DIGEST_HINT =
  "pin the image by digest: repo@sha256:<64 hex>; e.g. the output of docker buildx --metadata-file / `docker inspect --format '{{index .RepoDigests 0}}'`";

/** `repo@sha256:<64 hex>` split into the repository and the hex digest; anything else is a usage error. */
export function parsePinnedImage(image: string): { repository: string; digest: string } {
  const match = PINNED_IMAGE.exec(image.trim());
  if (match === null) {
    throw new UsageError(`--image: "${image}" is not pinned by a digest: ${PIN_BY_DIGEST_HINT}`, [{ path: '--image', rule: 'digest' }]);
  }
  return { repository: match[1]!, digest: match[2]! };
}

/** `<application>-<component>-<first 12 hex of the digest>`: the same build always gets the same name. */
export function defaultReleaseName(application: string, component: string, digest: string): string {
  const name = `${application}-${component}-${digest.slice(0, 12)}`;
  if (!isDnsLabel(name)) {
    throw new UsageError(`--name: the default name "${name}" is not a DNS label (at most 63 characters, a-z, 0-9 and -): pass --name`, [
      { path: '--name', rule: 'dns-label' },
    ]);
  }
  return name;
}

/** Checks every flag before any request, each error naming the flag and what to give. */
export function releaseSpecFromFlags(application: string, flags: ReleaseCreateFlags): { name: string; spec: ReleaseSpec } {
  const missing = (['component', 'image', 'commit'] as const).find((flag) => flags[flag] === undefined || flags[flag] === '');
  if (missing !== undefined) throw new UsageError(`--${missing} is required`, [{ path: `--${missing}`, rule: 'required' }]);
  const image = flags.image!.trim();
  const { digest } = parsePinnedImage(image);
  const commit = flags.commit!.trim();
  if (!COMMIT.test(commit)) {
    throw new UsageError(`--commit: "${commit}" is not a commit id (7 to 64 lowercase hex characters, e.g. $GITHUB_SHA)`, [{ path: '--commit', rule: 'pattern' }]);
  }
  if (flags.buildUrl !== undefined && !BUILD_URL.test(flags.buildUrl)) {
    throw new UsageError(`--build-url: "${flags.buildUrl}" is not an http(s) URL`, [{ path: '--build-url', rule: 'url' }]);
  }
  if (flags.name !== undefined && !isDnsLabel(flags.name)) {
    throw new UsageError(`--name: "${flags.name}" is not a DNS label (at most 63 characters, a-z, 0-9 and -)`, [{ path: '--name', rule: 'dns-label' }]);
  }
  const component = flags.component!;
  const spec: ReleaseSpec = {
    application: { name: application },
    component,
    image,
    commit,
    ...(flags.buildUrl === undefined ? {} : { buildUrl: flags.buildUrl }),
    ...(flags.description === undefined ? {} : { description: flags.description }),
  };
  return { name: flags.name ?? defaultReleaseName(application, component, digest), spec };
}

/** A Release already there is the same one when it names the same build (its spec is immutable). */
function sameBuild(existing: ReleaseSpec, wanted: ReleaseSpec): boolean {
  return existing.application?.name === wanted.application.name && existing.component === wanted.component && existing.image === wanted.image && existing.commit === wanted.commit;
}

export function registerReleaseCommand(program: Command, context: CommandContext): void {
  const release = program
    .command('release')
    .description("create Releases: one build of one component of an Application, its image pinned by digest (what CI runs)")
    .addHelpText(
      'after',
      `
Examples:
  tug release create shop -p team-a --component web --image registry.example.com/shop/web@sha256:<64 hex> --commit "$GITHUB_SHA"
  tug get releases -p team-a
  tug rollout history application/shop -p team-a`,
    );
  release
    .command('create')
    .description('create a Release of an Application; prints its name alone on stdout')
    .argument('<application>', 'the Application (in the project) the build is of')
    .option('-p, --project <project>', "the Application's project (default: the context's)")
    .option('--component <component>', 'the workload component of the Application the image is for (required)')
    .option('--image <repo@sha256:digest>', 'the image, pinned by digest: repo@sha256:<64 hex> (required)')
    .option('--commit <sha>', 'the source commit it was built from, 7 to 64 hex characters (required)')
    .option('--build-url <url>', 'an http(s) link to the build (e.g. the CI run)')
    .option('--name <name>', 'the Release name (default: <application>-<component>-<first 12 hex of the digest>)')
    .option('--description <text>', 'free text shown with the Release')
    .addHelpText(
      'after',
      `
Creates an object of kind Release (POST /v1/releases). Its spec cannot change
afterwards; the API rolls it out through the Application's tiers as their
delivery policies say (tug rollout history shows where it went).

The image must be pinned by digest, so a tag moved later cannot change what was
released: ${PIN_BY_DIGEST_HINT}.
Running it again for the same build (same name, image and commit) prints the
name again and changes nothing. The image, commit and name are checked before
any request (exit 2); the API answers 422 when the Application or component
does not exist.

Examples:
  tug release create shop -p team-a --component web \\
    --image registry.example.com/shop/web@sha256:<64 hex> --commit "$GITHUB_SHA" \\
    --build-url "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
  RELEASE=$(tug release create shop --component web --image "$IMAGE@$DIGEST" --commit "$GITHUB_SHA")
  (examples/ci/create-release.sh does this from environment variables)`,
    )
    .action(async (application: string, flags: ReleaseCreateFlags, command: Command) => {
      const { name, spec } = releaseSpecFromFlags(application, flags);
      const { client, ref, definition, project } = await connectToObject(context, command, { kind: 'Release', name, project: flags.project, action: 'create' });
      const signal = context.io.signal;
      try {
        await client.create<ReleaseSpec, Resource['status']>({ kind: definition.kind, metadata: { name, ...(project === undefined ? {} : { project }) }, spec }, { signal });
      } catch (error) {
        if (!isErrorCode(error, 'Conflict')) throw error;
        const existing = await client.get<ReleaseSpec, Resource['status']>(ref, { signal });
        if (existing === undefined) throw error;
        if (!sameBuild(existing.spec, spec)) {
          throw new ConflictError(`release "${name}" already exists for another build (image ${existing.spec.image}, commit ${existing.spec.commit}); a Release cannot change: give another --name`, {
            details: [{ path: 'metadata.name', rule: 'unique' }],
          });
        }
        context.out(`${name}\n`);
        context.err(`release ${name} already exists for this image and commit; nothing changed\n`);
        return;
      }
      // stdout holds the name alone, so `$(tug release create …)` captures exactly it.
      context.out(`${name}\n`);
      context.err(
        `release ${name} created: application ${application}, component ${spec.component}, commit ${spec.commit.slice(0, 12)}; ` +
          `see where it rolls out with: tug rollout history application/${application}${project ? ` -p ${project}` : ''}\n`,
      );
    });
}
