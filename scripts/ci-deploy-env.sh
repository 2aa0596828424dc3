#!/usr/bin/env bash
# Sourced by both Deploy scripts (ci-deploy.sh for the serverless deployer, pulumi-deploy.sh for the pulumi one):
# the checks of the Deploy action's environment that both make, and the deploy output both write. The caller
# defines `die` (its own message prefix) and `log_prefix`.
#
# Env checked: DEPLOY_ROLE_ARN, TARGET_ACCOUNT_ID, TARGET_REGION, STAGE, SERVICE_NAME, DEPLOYMENT_BUCKET,
#   PERMISSIONS_BOUNDARY_ARN, and the bundles the Test stage built (build/*.zip).
{ set +o xtrace +o verbose; } 2>/dev/null
set -euo pipefail

# require_env NAME...: dies naming every one that is unset or empty.
require_env() {
  local missing=() name
  for name in "$@"; do [ -n "${!name:-}" ] || missing+=("$name"); done
  [ "${#missing[@]}" -eq 0 ] || die "required environment variable(s) not set: ${missing[*]}"
}

# in_target_account NAME ARN RESOURCE_REGEX: dies unless ARN is an IAM ARN of that kind in TARGET_ACCOUNT_ID.
in_target_account() {
  [[ "$2" =~ ^arn:aws(-[a-z]+)*:iam::([0-9]{12}):$3$ ]] || die "$1 '$2' is not a valid ARN of that kind"
  [ "${BASH_REMATCH[2]}" = "$TARGET_ACCOUNT_ID" ] \
    || die "$1 is in account ${BASH_REMATCH[2]}, not TARGET_ACCOUNT_ID $TARGET_ACCOUNT_ID"
}

# check_deploy_env: what every Deploy action's environment must be, whatever the deployer.
check_deploy_env() {
  require_env DEPLOY_ROLE_ARN TARGET_ACCOUNT_ID TARGET_REGION STAGE SERVICE_NAME DEPLOYMENT_BUCKET PERMISSIONS_BOUNDARY_ARN "$@"
  # Same rule as config.ts: lowercase, starts with a letter, single hyphens, at most 16 characters (names such as
  # <service>-<stage>-createProduct must stay within AWS limits).
  [[ "$STAGE" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] && [ "${#STAGE}" -le 16 ] \
    || die "STAGE '$STAGE' must be lowercase letters/digits/single hyphens, start with a letter, at most 16 characters"
  [[ "$TARGET_ACCOUNT_ID" =~ ^[0-9]{12}$ ]] || die "TARGET_ACCOUNT_ID '$TARGET_ACCOUNT_ID' is not a 12-digit AWS account ID"
  [[ "$TARGET_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$ ]] || die "TARGET_REGION '$TARGET_REGION' is not an AWS region"
  [[ "$SERVICE_NAME" =~ ^[A-Za-z0-9-]+$ ]] || die "SERVICE_NAME '$SERVICE_NAME' is not a service name"
  in_target_account DEPLOY_ROLE_ARN "$DEPLOY_ROLE_ARN" 'role/[A-Za-z0-9+=,.@_/-]+'
  in_target_account PERMISSIONS_BOUNDARY_ARN "$PERMISSIONS_BOUNDARY_ARN" 'policy/[A-Za-z0-9+=,.@_/-]+'
  [[ "$DEPLOYMENT_BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "DEPLOYMENT_BUCKET '$DEPLOYMENT_BUCKET' is not an S3 bucket name"
  local artifact
  for artifact in build/create-product.zip build/find-product.zip; do
    [ -s "$artifact" ] || die "$artifact is missing: run 'npm run build' first (the Test stage's artifact holds the bundles)"
  done
}

# write_deploy_output URL STACK FILE: checks URL is this stage's API Gateway endpoint, writes FILE, and prints
# API_URL=<url> last, which buildspec*.yml export.
write_deploy_output() {
  [[ "$1" =~ ^https://[a-z0-9]+\.execute-api\.$TARGET_REGION\.amazonaws\.com(\.cn)?/$STAGE$ ]] \
    || die "stack $2 has no usable API URL (got '$1')"
  printf '{"url":"%s","stage":"%s","region":"%s","account":"%s","stack":"%s","service":"%s"}\n' \
    "$1" "$STAGE" "$TARGET_REGION" "$TARGET_ACCOUNT_ID" "$2" "$SERVICE_NAME" >"$3"
  printf '%s: wrote %s\n' "$log_prefix" "$3"
  printf 'API_URL=%s\n' "$1"
}
