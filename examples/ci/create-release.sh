#!/bin/sh
# Creates the Tugboat Release of one CI build: the image just pushed, pinned by its digest, with
# the commit it was built from and a link to the build. The CI step of examples/ci/release.yml and
# the e2e run this same script, so what the example shows is what is tested.
#
# Environment (all required unless marked optional):
#   IMAGE          the repository pushed to, without tag or digest   registry.example.com/shop/web
#   DIGEST         the digest the push answered                      sha256:<64 hex>
#   COMMIT         the source commit, 7 to 64 hex characters         $GITHUB_SHA
#   APPLICATION    the Tugboat Application the build is of           shop
#   COMPONENT      the Application's workload component              web
#   PROJECT        the Application's project                         shop
#   TUGBOAT_URL    the API                                           https://tugboat.example.com
#   TUGBOAT_TOKEN  a service-account token with a role that may create objects in PROJECT (editor)
#   BUILD_URL      optional: an http(s) link to the build
#   TUG            optional: the tug command, default `tug`; split on spaces, so
#                  TUG="node libs/cli/dist/bin.js" works
#
# Prints the Release name alone on stdout (RELEASE=$(create-release.sh)). Exit codes are tug's:
# 2 for a variable that is missing or a value tug refuses before asking (an image not pinned by
# digest, a commit that is not hex), 1 when the API refuses, 3 when it cannot be reached. Running it
# again for the same build prints the same name and changes nothing.
set -eu

missing=''
for name in IMAGE DIGEST COMMIT APPLICATION COMPONENT PROJECT TUGBOAT_URL TUGBOAT_TOKEN; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then missing="$missing $name"; fi
done
if [ -n "$missing" ]; then
  echo "create-release.sh: missing environment variable(s):$missing; set them as examples/ci/README.md says" >&2
  exit 2
fi

case "$DIGEST" in
  sha256:*) ;;
  *)
    echo "create-release.sh: DIGEST: \"$DIGEST\" is not sha256:<64 hex>: give the digest the push answered (docker/build-push-action's outputs.digest)" >&2
    exit 2
    ;;
esac

# tug reads the API and the token from these.
export TUGBOAT_URL TUGBOAT_TOKEN

set -- release create "$APPLICATION" -p "$PROJECT" --component "$COMPONENT" --image "$IMAGE@$DIGEST" --commit "$COMMIT"
if [ -n "${BUILD_URL:-}" ]; then set -- "$@" --build-url "$BUILD_URL"; fi

# TUG is split on purpose: it may be a command with its arguments.
# shellcheck disable=SC2086
exec ${TUG:-tug} "$@"
