#!/usr/bin/env bash
# Deploys product-catalog-service with the pulumi deployer (buildspec-pulumi.yml, build phase): the `api` role of
# this Pulumi program (ProductApi) with `pulumi up`, as the target's deploy role, into a self-managed backend in the
# target's own deployment bucket, secrets encrypted with the target's KMS key.
#   1. validate the pipeline's environment          3. select (or create) the stage's stack, set its config
#   2. scripts/assume-deploy-role.sh (profile only)  4. pulumi up; read the stack's url -> deploy-output.json
#
# Env (required, set by the pipeline's Deploy action): DEPLOY_ROLE_ARN, TARGET_ACCOUNT_ID, TARGET_REGION, STAGE,
#   SERVICE_NAME, DEPLOYMENT_BUCKET, PERMISSIONS_BOUNDARY_ARN, PULUMI_BACKEND_URL, PULUMI_SECRETS_PROVIDER, PULUMI_STACK;
#   `pulumi` on PATH (scripts/install-pulumi.sh).
# Env (optional): DEPLOY_PROFILE (target-deploy), DEPLOY_OUTPUT_FILE (deploy-output.json), those of assume-deploy-role.sh.
# Output: deploy-output.json {"url","stage","region","account","stack","service"}; last stdout line API_URL=<url>.
# Never prints credentials: none reach this shell; Pulumi's AWS provider and S3 backend read the profile.

# Tracing stays off even if the caller's environment turned it on (SHELLOPTS, BASH_ENV, the -x option).
{ set +o xtrace +o verbose; } 2>/dev/null
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { printf 'pulumi-deploy: ERROR: %s\n' "$*" >&2; exit 1; }
step() { printf '\npulumi-deploy: == %s\n' "$*"; }

# ---- 1. environment ------------------------------------------------------------------------------------------
log_prefix=pulumi-deploy
# shellcheck source=ci-deploy-env.sh
source "$here/ci-deploy-env.sh"
check_deploy_env PULUMI_BACKEND_URL PULUMI_SECRETS_PROVIDER PULUMI_STACK
# The state stays in the target account, under this stage's prefix of its deployment bucket (the only one the
# deploy role may write), and its secrets under a key of that account: any other backend or key is refused.
expected_backend="s3://$DEPLOYMENT_BUCKET/pulumi/$SERVICE_NAME/$STAGE?region=$TARGET_REGION"
[ "$PULUMI_BACKEND_URL" = "$expected_backend" ] \
  || die "PULUMI_BACKEND_URL '$PULUMI_BACKEND_URL' is not this stage's backend $expected_backend"
[[ "$PULUMI_SECRETS_PROVIDER" =~ ^awskms:///arn:aws(-[a-z]+)*:kms:$TARGET_REGION:$TARGET_ACCOUNT_ID:key/[0-9A-Za-z-]+\?region=$TARGET_REGION$ ]] \
  || die "PULUMI_SECRETS_PROVIDER '$PULUMI_SECRETS_PROVIDER' is not a KMS key of TARGET_ACCOUNT_ID $TARGET_ACCOUNT_ID in $TARGET_REGION"
[ "$PULUMI_STACK" = "$STAGE" ] || die "PULUMI_STACK '$PULUMI_STACK' must be the stage '$STAGE' (one stack per stage)"
command -v pulumi >/dev/null || die "pulumi is not on PATH: run scripts/install-pulumi.sh first"

profile="${DEPLOY_PROFILE:-target-deploy}"
output_file="${DEPLOY_OUTPUT_FILE:-deploy-output.json}"
export DEPLOY_PROFILE="$profile"
rm -f "$output_file"

# ---- 2. target account profile -------------------------------------------------------------------------------
step "assume the deploy role ($DEPLOY_ROLE_ARN)"
bash "$here/assume-deploy-role.sh"

# ---- 3./4. stack and deploy ----------------------------------------------------------------------------------
# Pulumi's AWS provider and its S3 backend take credentials from the profile (the SDK re-assumes the role when a
# session runs out); nothing here may carry keys of its own.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE
export AWS_PROFILE="$profile" AWS_REGION="$TARGET_REGION" AWS_SDK_LOAD_CONFIG=1
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_HOME="${PULUMI_HOME:-$PWD/.pulumi-home}"
stack="$PULUMI_STACK"
p() { pulumi --non-interactive "$@"; }

step "pulumi stack $stack in $PULUMI_BACKEND_URL"
p login "$PULUMI_BACKEND_URL" || die "could not log in to the backend $PULUMI_BACKEND_URL"
p stack select --create --stack "$stack" --secrets-provider "$PULUMI_SECRETS_PROVIDER" \
  || die "could not select or create stack $stack in $PULUMI_BACKEND_URL"
p config set --stack "$stack" role api
p config set --stack "$stack" stage "$STAGE"
p config set --stack "$stack" permissionsBoundaryArn "$PERMISSIONS_BOUNDARY_ARN"
p config set --stack "$stack" aws:region "$TARGET_REGION"
p config set --stack "$stack" --path 'aws:allowedAccountIds[0]' "$TARGET_ACCOUNT_ID"

step "pulumi up $stack (as $DEPLOY_ROLE_ARN)"
p up --stack "$stack" --yes --diff || die "pulumi up failed for stack $stack (the output above says which resource and why)"

url="$(p stack output url --stack "$stack")" || die "could not read output url of stack $stack"
write_deploy_output "$url" "$stack" "$output_file"
