#!/usr/bin/env bash
# Installs the Pulumi CLI release the pulumi deployer pins (buildspec-pulumi.yml, install phase): downloads
# pulumi-v<version>-linux-<arch>.tar.gz, checks its SHA-256 against the pin and refuses any other file, unpacks it
# and prints the directory holding the `pulumi` binary (for PATH).
#
# Env (required): PULUMI_CLI_VERSION (e.g. 3.276.0), PULUMI_CLI_SHA256 (of that release's linux-x64 archive, from its
#   pulumi-<version>-checksums.txt; the tools stack sets both on the deploy project).
# Env (optional): PULUMI_DOWNLOAD_BASE (default https://get.pulumi.com/releases/sdk), PULUMI_INSTALL_DIR (default
#   .pulumi-cli under the working directory).
# Exit 1 with a message on stderr on any problem; nothing is installed from a file whose checksum differs.
{ set +o xtrace +o verbose; } 2>/dev/null
set -euo pipefail

die() { printf 'install-pulumi: ERROR: %s\n' "$*" >&2; exit 1; }

version="${PULUMI_CLI_VERSION:-}"
expected="$(printf '%s' "${PULUMI_CLI_SHA256:-}" | tr 'A-F' 'a-f')"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "PULUMI_CLI_VERSION '$version' is not a release version such as 3.276.0"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "PULUMI_CLI_SHA256 must be the 64-digit SHA-256 of the release archive (config pulumiCliSha256)"
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Pulumi CLI build for $(uname -m)" ;;
esac

base="${PULUMI_DOWNLOAD_BASE:-https://get.pulumi.com/releases/sdk}"
dir="${PULUMI_INSTALL_DIR:-$PWD/.pulumi-cli}"
archive="pulumi-v$version-linux-$arch.tar.gz"
mkdir -p "$dir"
download="$(mktemp "$dir/download.XXXXXX")"
trap 'rm -f "$download"' EXIT

curl --fail --silent --show-error --location --retry 3 --output "$download" "$base/$archive" \
  || die "could not download $base/$archive"
actual="$(sha256sum "$download" | cut -d' ' -f1)"
[ "$actual" = "$expected" ] \
  || die "$archive has SHA-256 $actual, not the pinned $expected: refusing to install it (update pulumiCliVersion and pulumiCliSha256 together)"

tar -xzf "$download" -C "$dir"
[ -x "$dir/pulumi/pulumi" ] || die "$archive holds no pulumi/pulumi binary"
"$dir/pulumi/pulumi" version >&2
printf '%s\n' "$dir/pulumi"
