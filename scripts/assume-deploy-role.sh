#!/usr/bin/env bash
# Sets up the AWS shared-config profile that assumes the target account's deploy role, then proves it works.
#
# No credential ever passes through this shell (the blog sample called AssumeRole itself, exported the keys and
# traced them into the build log). The profile only says *how* to get credentials:
#   role_arn = $DEPLOY_ROLE_ARN, credential_source = EcsContainer (the CodeBuild service role)
# and the AWS CLI / SDK (osls) assume the role themselves, caching and refreshing the session on their own.
# Role chaining (CodeBuild role session -> deploy role) caps a session at 3600 s; the SDK simply re-assumes.
#
# Env (required): DEPLOY_ROLE_ARN, TARGET_ACCOUNT_ID, TARGET_REGION
# Env (optional): DEPLOY_PROFILE (default target-deploy), DEPLOY_CREDENTIAL_SOURCE (EcsContainer |
#   Ec2InstanceMetadata | Environment; default EcsContainer), DEPLOY_SESSION_DURATION_SECONDS (900..3600,
#   default 3600), DEPLOY_SESSION_NAME (default codebuild-<build number>-<stage>), AWS_CONFIG_FILE
#   (default ~/.aws/config), STAGE, CODEBUILD_BUILD_NUMBER.
# Output: one line with the assumed-role ARN. Exit 1 with a message on stderr on any problem, including an
# assumed identity outside TARGET_ACCOUNT_ID.

# Tracing stays off even if the caller's environment turned it on (SHELLOPTS, BASH_ENV, the -x option).
{ set +o xtrace +o verbose; } 2>/dev/null
set -euo pipefail
umask 077

die() { printf 'assume-deploy-role: ERROR: %s\n' "$*" >&2; exit 1; }

for name in DEPLOY_ROLE_ARN TARGET_ACCOUNT_ID TARGET_REGION; do
  [ -n "${!name:-}" ] || die "required environment variable $name is not set"
done

profile="${DEPLOY_PROFILE:-target-deploy}"
credential_source="${DEPLOY_CREDENTIAL_SOURCE:-EcsContainer}"
duration="${DEPLOY_SESSION_DURATION_SECONDS:-3600}"

[[ "$profile" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "DEPLOY_PROFILE '$profile' is not a valid profile name"
[[ "$TARGET_ACCOUNT_ID" =~ ^[0-9]{12}$ ]] || die "TARGET_ACCOUNT_ID '$TARGET_ACCOUNT_ID' is not a 12-digit AWS account ID"
[[ "$TARGET_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$ ]] || die "TARGET_REGION '$TARGET_REGION' is not an AWS region"
[[ "$DEPLOY_ROLE_ARN" =~ ^arn:aws(-[a-z]+)*:iam::([0-9]{12}):role/(.+/)?([A-Za-z0-9+=,.@_-]{1,64})$ ]] \
  || die "DEPLOY_ROLE_ARN '$DEPLOY_ROLE_ARN' is not an IAM role ARN"
role_account="${BASH_REMATCH[2]}"
role_name="${BASH_REMATCH[4]}"
[ "$role_account" = "$TARGET_ACCOUNT_ID" ] \
  || die "DEPLOY_ROLE_ARN is in account $role_account but TARGET_ACCOUNT_ID is $TARGET_ACCOUNT_ID"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 900 ] && [ "$duration" -le 3600 ] \
  || die "DEPLOY_SESSION_DURATION_SECONDS must be 900..3600 (role chaining caps sessions at one hour), got '$duration'"

case "$credential_source" in
  EcsContainer)
    [ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ] \
      || die "credential_source EcsContainer needs the container credentials endpoint that CodeBuild provides" \
             "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI unset); elsewhere set DEPLOY_CREDENTIAL_SOURCE"
    ;;
  Ec2InstanceMetadata | Environment) ;;
  *) die "DEPLOY_CREDENTIAL_SOURCE must be EcsContainer, Ec2InstanceMetadata or Environment, got '$credential_source'" ;;
esac

# Session name shows up in the target's CloudTrail: which build deployed which stage.
session_name="${DEPLOY_SESSION_NAME:-codebuild-${CODEBUILD_BUILD_NUMBER:-local}-${STAGE:-nostage}}"
session_name="$(printf '%s' "$session_name" | tr -c 'A-Za-z0-9+=,.@_-' '-' | cut -c1-64)"
[ "${#session_name}" -ge 2 ] || session_name="codebuild-deploy"

config_file="${AWS_CONFIG_FILE:-$HOME/.aws/config}"
mkdir -p "$(dirname "$config_file")"
tmp_file="$(mktemp "$config_file.XXXXXX")"
trap 'rm -f "$tmp_file"' EXIT
# Keep every other profile, replace ours.
if [ -f "$config_file" ]; then
  awk -v header="[profile $profile]" '
    /^[[:space:]]*\[/ { line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line); skip = (line == header) }
    !skip { print }
  ' "$config_file" >"$tmp_file"
fi
cat >>"$tmp_file" <<EOF
[profile $profile]
role_arn = $DEPLOY_ROLE_ARN
credential_source = $credential_source
role_session_name = $session_name
duration_seconds = $duration
region = $TARGET_REGION
sts_regional_endpoints = regional
EOF
chmod 600 "$tmp_file"
mv -f "$tmp_file" "$config_file"
trap - EXIT

# Prove the profile works and lands in the right account before anything is packaged or deployed.
identity="$(aws sts get-caller-identity --profile "$profile" --region "$TARGET_REGION" \
  --query '[Account, Arn]' --output text)" \
  || die "could not assume $DEPLOY_ROLE_ARN through profile $profile (AWS CLI error above)"
read -r account arn <<<"$identity" || true
[ "${account:-}" = "$TARGET_ACCOUNT_ID" ] \
  || die "assumed identity ${arn:-?} is in account ${account:-?}, expected TARGET_ACCOUNT_ID $TARGET_ACCOUNT_ID; refusing to deploy"
[[ "${arn:-}" == arn:aws*:sts::"$TARGET_ACCOUNT_ID":assumed-role/"$role_name"/* ]] \
  || die "assumed identity ${arn:-?} is not a session of $DEPLOY_ROLE_ARN; refusing to deploy"

printf 'assume-deploy-role: profile %s -> %s\n' "$profile" "$arn"
