// The deploy kit: the code a Deploy (or drift-check) build of the pipeline runs. It is not read from the commit
// being deployed: `pulumi up` of the tools stack bundles it (components/deploy-kit-bundle.ts) and uploads it to the
// build-assets bucket, and each build's inline buildspec fetches exactly that object and checks its SHA-256 before
// running it. So whatever a commit changes, a build of stage S runs the tools stack's code with S's role only.
//
//   node deploy-kit.js deploy     Deploy action: DEPLOY_TARGET (the target, from the pipeline) — serverless or pulumi
//   node deploy-kit.js drift      drift check: DRIFT_TARGETS, NOTIFICATION_TOPIC_ARN
//
// Output of deploy: deploy-output.json {"url","stage","region","account","stack","service"} in the working directory,
// and `API_URL=<url>` as the last line. Exit: 0 done; 1 failed (the reason on stderr); 2 bad environment.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY_TARGET_VARIABLE, DeployTarget, parseDeployTarget } from "../components/target-contract";
import { checkDrift, driftOptionsFromEnvironment } from "./drift";
import { useRoleProfile } from "./profile";
import { installPulumiCli, pulumiCliFromEnvironment, pulumiUp } from "./pulumi";
import { deployRelease, loadRelease } from "./serverless";

export const DEPLOY_OUTPUT_FILE = "deploy-output.json";
export const DEPLOY_PROFILE = "target-deploy";

const log = (line: string) => console.log(`deploy-kit: ${line}`);
const error = (line: string) => console.error(`deploy-kit: ${line}`);

class EnvironmentError extends Error {}

async function assumeDeployRole(target: DeployTarget, env: NodeJS.ProcessEnv): Promise<void> {
    log(`assume the deploy role of ${target.stage} (${target.deployRoleArn})`);
    const session = await useRoleProfile({
        profile: DEPLOY_PROFILE,
        roleArn: target.deployRoleArn,
        accountId: target.accountId,
        region: target.region,
        sessionName: `codebuild-${env.CODEBUILD_BUILD_NUMBER ?? "local"}-${target.stage}`,
    });
    log(`profile ${DEPLOY_PROFILE} -> ${session}`);
}

/** Deploys the target's stage; returns its API URL and stack. */
async function deployTarget(target: DeployTarget, env: NodeJS.ProcessEnv, workDir: string): Promise<{ url: string; stack: string }> {
    switch (target.deployer) {
        case "serverless": {
            // A release the kit would not bind is refused before the account is touched: nothing is uploaded.
            const release = loadRelease(workDir, target);
            await assumeDeployRole(target, env);
            const context = {
                workDir,
                profile: DEPLOY_PROFILE,
                buildNumber: env.CODEBUILD_BUILD_NUMBER ?? "0",
                pollMs: Number(env.DEPLOY_POLL_MS ?? 5000),
                log,
            };
            return deployRelease(target, release, context);
        }
        case "pulumi": {
            const pin = withEnvironmentProblems(() => pulumiCliFromEnvironment(env));
            await assumeDeployRole(target, env);
            const pulumiBin = await installPulumiCli(pin, join(workDir, ".pulumi-cli"), log);
            return { url: await pulumiUp(target, { workDir, pulumiBin, profile: DEPLOY_PROFILE, log }), stack: target.stage };
        }
    }
}

async function deploy(env: NodeJS.ProcessEnv, workDir: string): Promise<void> {
    const target = withEnvironmentProblems(() => parseDeployTarget(env[DEPLOY_TARGET_VARIABLE]));
    const { url, stack } = await deployTarget(target, env, workDir);
    const output = { url, stage: target.stage, region: target.region, account: target.accountId, stack, service: target.serviceName };
    writeFileSync(join(workDir, DEPLOY_OUTPUT_FILE), `${JSON.stringify(output)}\n`);
    log(`wrote ${DEPLOY_OUTPUT_FILE}`);
    console.log(`API_URL=${url}`);
}

/** Runs a check of the build's environment; its problems exit with 2, before any AWS call. */
function withEnvironmentProblems<T>(read: () => T): T {
    try {
        return read();
    } catch (e) {
        throw new EnvironmentError((e as Error).message);
    }
}

async function drift(env: NodeJS.ProcessEnv): Promise<void> {
    const options = withEnvironmentProblems(() =>
        driftOptionsFromEnvironment(
            env,
            (l) => console.log(`drift-check: ${l}`),
            (l) => console.error(`drift-check: ${l}`),
        ),
    );
    const failures = await checkDrift(options);
    if (failures > 0) throw new Error(`${failures} of ${options.targets.length} stage(s) could not be checked (published to the topic)`);
    console.log(`drift-check: checked ${options.targets.length} stage(s)`);
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, workDir = process.cwd()): Promise<number> {
    const command = argv[0];
    try {
        switch (command) {
            case "deploy":
                await deploy(env, workDir);
                return 0;
            case "drift":
                await drift(env);
                return 0;
            default:
                error(`usage: node deploy-kit.js deploy | drift (got ${JSON.stringify(command ?? "")})`);
                return 2;
        }
    } catch (e) {
        error(`ERROR: ${(e as Error).message}`);
        return e instanceof EnvironmentError ? 2 : 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
