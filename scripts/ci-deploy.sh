#!/usr/bin/env bash
# Deploys product-catalog-service into the target account (buildspec.yml, build phase, after `npm test` and
# `npm run build`):
#   1. validate the pipeline's environment           4. sls deploy --package (as the deploy role; CloudFormation
#   2. scripts/assume-deploy-role.sh (profile only)      itself runs as CFN_EXECUTION_ROLE_ARN)
#   3. sls package (offline, osls from package-lock)  5. read the stack's ServiceEndpoint -> deploy-output.json
#
# Env (required, set on the CodeBuild project by the pipeline): DEPLOY_ROLE_ARN, TARGET_ACCOUNT_ID, TARGET_REGION,
#   STAGE, SERVICE_NAME, CFN_EXECUTION_ROLE_ARN, DEPLOYMENT_BUCKET, PERMISSIONS_BOUNDARY_ARN.
# Env (optional): DEPLOY_PROFILE (target-deploy), SLS_PACKAGE_DIR (.serverless-package),
#   DEPLOY_OUTPUT_FILE (deploy-output.json), plus those of assume-deploy-role.sh.
# Output: deploy-output.json {"url","stage","region","account","stack","service"}; last stdout line API_URL=<url>.
# Never prints credentials: none ever reach this shell (see assume-deploy-role.sh).

# Tracing stays off even if the caller's environment turned it on (SHELLOPTS, BASH_ENV, the -x option).
{ set +o xtrace +o verbose; } 2>/dev/null
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { printf 'ci-deploy: ERROR: %s\n' "$*" >&2; exit 1; }
step() { printf '\nci-deploy: == %s\n' "$*"; }

# ---- 1. environment ------------------------------------------------------------------------------------------
log_prefix=ci-deploy
# shellcheck source=ci-deploy-env.sh
source "$here/ci-deploy-env.sh"
check_deploy_env CFN_EXECUTION_ROLE_ARN
in_target_account CFN_EXECUTION_ROLE_ARN "$CFN_EXECUTION_ROLE_ARN" 'role/[A-Za-z0-9+=,.@_/-]+'

service_in_yml="$(sed -n 's/^service:[[:space:]]*\([A-Za-z0-9-]*\).*$/\1/p' serverless.yml 2>/dev/null | head -n 1)"
[ -n "$service_in_yml" ] || die "no serverless.yml with a 'service:' line in $(pwd)"
[ "$SERVICE_NAME" = "$service_in_yml" ] \
  || die "SERVICE_NAME '$SERVICE_NAME' differs from serverless.yml service '$service_in_yml' (stack and IAM names derive from it)"

profile="${DEPLOY_PROFILE:-target-deploy}"
package_dir="${SLS_PACKAGE_DIR:-.serverless-package}"
output_file="${DEPLOY_OUTPUT_FILE:-deploy-output.json}"
stack="$SERVICE_NAME-$STAGE"
export DEPLOY_PROFILE="$profile"
rm -f "$output_file"

# ---- 2. target account profile -------------------------------------------------------------------------------
step "assume the deploy role ($DEPLOY_ROLE_ARN)"
bash "$here/assume-deploy-role.sh"

# ---- 3./4. package and deploy with the lockfile's osls (--no: never download a different one) ---------------
sls_args=(
  --stage "$STAGE"
  --region "$TARGET_REGION"
  --param="cfnRoleArn=$CFN_EXECUTION_ROLE_ARN"
  --param="deploymentBucket=$DEPLOYMENT_BUCKET"
  --param="permissionsBoundaryArn=$PERMISSIONS_BOUNDARY_ARN"
)
step "sls package -> $package_dir"
npx --no -- sls package "${sls_args[@]}" --package "$package_dir"

step "sls deploy $stack (CloudFormation as $CFN_EXECUTION_ROLE_ARN)"
# --aws-profile beats every other credential source osls knows (AWS_<STAGE>_PROFILE, env keys, AWS_PROFILE).
npx --no -- sls deploy "${sls_args[@]}" --package "$package_dir" --aws-profile "$profile"

# ---- 5. endpoint ---------------------------------------------------------------------------------------------
step "read ServiceEndpoint of $stack"
url="$(aws cloudformation describe-stacks --stack-name "$stack" --profile "$profile" --region "$TARGET_REGION" \
  --query "Stacks[0].Outputs[?OutputKey=='ServiceEndpoint'].OutputValue | [0]" --output text)" \
  || die "could not describe stack $stack"
write_deploy_output "$url" "$stack" "$output_file"
