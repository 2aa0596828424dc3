// The pulumi deployer's Deploy action: installs the pinned Pulumi CLI (refusing any archive whose SHA-256 is not the
// pinned one), then runs `pulumi up` of this program's `api` role (ProductApi) as the target's deploy role, with the
// state in the target's own deployment bucket (under this stage's prefix, the only one the deploy role may write)
// and its secrets under the target's KMS key. Everything about the backend, the key and the stack is derived here
// from the target the pipeline gave the build, never read from the commit.
//
// Unlike the serverless deployer, `pulumi up` runs the commit's program (index.ts) with the deploy role's rights: a
// commit can at most change what its own stage deploys, after that stage's gates (see README, security model).
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAME } from "../components/domain";
import { releaseVersionProblem, sha256Problem } from "../components/identifiers";
import { pulumiStatePrefix } from "../components/naming";
import type { TargetOutputsOf } from "../components/target-contract";

export interface PulumiCliPin {
    readonly version: string;
    readonly sha256: string;
    /** Where releases are downloaded from (tests serve their own). */
    readonly downloadBase: string;
}

export function pulumiCliFromEnvironment(env: NodeJS.ProcessEnv): PulumiCliPin {
    const version = env.PULUMI_CLI_VERSION ?? "";
    const sha256 = (env.PULUMI_CLI_SHA256 ?? "").toLowerCase();
    const problems = [
        releaseVersionProblem("PULUMI_CLI_VERSION", version, "3.276.0"),
        sha256Problem("PULUMI_CLI_SHA256 (the tools stack's pulumiCliSha256)", sha256),
    ].filter((p) => p !== undefined);
    if (problems.length > 0) throw new Error(problems.join("; "));
    return { version, sha256, downloadBase: env.PULUMI_DOWNLOAD_BASE ?? "https://get.pulumi.com/releases/sdk" };
}

/** Downloads, verifies and unpacks the pinned CLI; returns the directory holding `pulumi`. */
export async function installPulumiCli(pin: PulumiCliPin, installDir: string, log: (line: string) => void): Promise<string> {
    const arch = { x64: "x64", arm64: "arm64" }[process.arch as string];
    if (!arch) throw new Error(`no Pulumi CLI build for ${process.arch}`);
    const archive = `pulumi-v${pin.version}-linux-${arch}.tar.gz`;
    const url = `${pin.downloadBase}/${archive}`;
    let body: Buffer;
    try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
        throw new Error(`could not download ${url}: ${(error as Error).message}`);
    }
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== pin.sha256) {
        throw new Error(
            `${archive} has SHA-256 ${actual}, not the pinned ${pin.sha256}: refusing to install it ` +
                "(update pulumiCliVersion and pulumiCliSha256 together)",
        );
    }
    mkdirSync(installDir, { recursive: true });
    const scratch = mkdtempSync(join(tmpdir(), "pulumi-cli-"));
    try {
        writeFileSync(join(scratch, archive), body);
        execFileSync("tar", ["-xzf", join(scratch, archive), "-C", installDir]);
    } finally {
        rmSync(scratch, { recursive: true, force: true });
    }
    const bin = join(installDir, "pulumi");
    if (!existsSync(join(bin, "pulumi"))) throw new Error(`${archive} holds no pulumi/pulumi binary`);
    log(`installed the Pulumi CLI ${pin.version} (SHA-256 ${actual}) into ${bin}`);
    return bin;
}

/** The stage's backend, secrets provider and stack, derived from the target. */
export function pulumiStack(target: TargetOutputsOf<"pulumi">) {
    const prefix = pulumiStatePrefix(target.stage, SERVICE_NAME).replace(/\/$/, "");
    return {
        backendUrl: `s3://${target.deploymentBucketName}/${prefix}?region=${target.region}`,
        secretsProvider: `awskms:///${target.pulumiSecretsKeyArn}?region=${target.region}`,
        stack: target.stage,
    };
}

/** `pulumi up` of the stage's stack through the deploy role's profile; returns the API URL. */
export async function pulumiUp(
    target: TargetOutputsOf<"pulumi">,
    ctx: { workDir: string; pulumiBin: string; profile: string; log: (line: string) => void },
): Promise<string> {
    const { backendUrl, secretsProvider, stack } = pulumiStack(target);
    // Pulumi's AWS provider and its S3 backend take credentials from the profile (the SDK re-assumes the role when a
    // session runs out); nothing here may carry keys or passphrases of its own.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "PULUMI_CONFIG_PASSPHRASE",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
    ]) {
        delete env[name];
    }
    Object.assign(env, {
        PATH: `${ctx.pulumiBin}:${process.env.PATH}`,
        AWS_PROFILE: ctx.profile,
        AWS_REGION: target.region,
        AWS_SDK_LOAD_CONFIG: "1",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_HOME: process.env.PULUMI_HOME ?? join(ctx.workDir, ".pulumi-home"),
    });
    const pulumi = (args: string[], what: string) =>
        new Promise<string>((resolve, reject) => {
            const child = execFile(
                "pulumi",
                ["--non-interactive", ...args],
                { cwd: ctx.workDir, env, maxBuffer: 64 * 1024 * 1024 },
                (error, stdout, stderr) => {
                    if (error)
                        reject(new Error(`${what} failed: ${String(stderr).trim().split("\n").slice(-5).join(" / ") || error.message}`));
                    else resolve(stdout);
                },
            );
            child.stdout?.on("data", (d) => process.stdout.write(d));
        });
    ctx.log(`pulumi stack ${stack} in ${backendUrl}`);
    await pulumi(["login", backendUrl], `logging in to the backend ${backendUrl}`);
    await pulumi(
        ["stack", "select", "--create", "--stack", stack, "--secrets-provider", secretsProvider],
        `selecting stack ${stack} in ${backendUrl}`,
    );
    const config: [string, string][] = [
        ["role", "api"],
        ["stage", target.stage],
        ["permissionsBoundaryArn", target.permissionsBoundaryArn],
        ["aws:region", target.region],
    ];
    for (const [key, value] of config) await pulumi(["config", "set", "--stack", stack, key, value], `setting ${key}`);
    await pulumi(
        ["config", "set", "--stack", stack, "--path", "aws:allowedAccountIds[0]", target.accountId],
        "setting aws:allowedAccountIds",
    );
    ctx.log(`pulumi up ${stack} (as ${target.deployRoleArn})`);
    await pulumi(["up", "--stack", stack, "--yes", "--diff"], `pulumi up of stack ${stack} (the output above says which resource and why)`);
    return (await pulumi(["stack", "output", "url", "--stack", stack], `reading output url of stack ${stack}`)).trim();
}
