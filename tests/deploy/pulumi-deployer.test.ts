/**
 * The pulumi deployer's Deploy action: buildspec-pulumi.yml's commands (but `npm ci`: this checkout's node_modules
 * stand in) in a CodeBuild-like workspace, against moto with IAM access control on. The Pulumi CLI it installs is a
 * fake (tests/deploy/fakes/pulumi, packed as the release archive and pinned by its real SHA-256): no Pulumi CLI runs
 * on these machines. Everything around it is real: scripts/install-pulumi.sh downloads and verifies the archive,
 * scripts/pulumi-deploy.sh assumes the deploy role through moto's STS with the build role's container credentials,
 * and the fake's `up` writes the stack state with that profile, so moto checks the deploy role's policy.
 * Roles, bucket and the action's environment come from the stacks evaluated for the pulumi deployer.
 */
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { startMoto, Moto } from "../helpers/moto";
import { shippedStacks } from "../helpers/shipped-stacks";
import { ROOT } from "../helpers/stack-files";
import { deployActionEnvironment, modelStack, StackModel } from "../iam/policies-from-stacks";
import { clients, Clients, codeBuildSession, createAdministrator, createTargetStack, destroyClients, SessionCredentials } from "./accounts";
import { ContainerCredentials, createWorkspace, serveContainerCredentials, Workspace } from "./codebuild";

const DEV = "acme/serverless-cross-account-cicd/target";
const VERSION = "3.276.0";
const ARCHIVE = `pulumi-v${VERSION}-linux-x64.tar.gz`;

interface PulumiCall {
    cmd: string;
    args: string[];
    env: Record<string, string | undefined>;
    credentialVariables: string[];
}

describe("pulumi deployer: buildspec-pulumi.yml against moto, IAM enforced, with a fake Pulumi CLI", function () {
    this.timeout(120_000);
    let moto: Moto;
    let target: StackModel;
    let env: Record<string, string>;
    let projectEnv: Record<string, string>;
    let admin: { tools: Clients; target: Clients };
    let buildSession: SessionCredentials;
    let credentials: ContainerCredentials;
    let releases: Server;
    let releasesUrl: string;
    let downloads: string[];
    let archiveSha256: string;
    let scratch: string;
    let commands: string[];

    before(async () => {
        moto = await startMoto();
        const { pulumiDeployer } = await shippedStacks();
        target = modelStack("target (pulumi deployer)", pulumiDeployer.targets[DEV].cloud, pulumiDeployer.targets[DEV].outputs);
        const tools = modelStack("tools (pulumi deployer)", pulumiDeployer.tools.cloud, pulumiDeployer.tools.outputs);
        env = deployActionEnvironment(tools, "dev");
        const project = tools.cloud
            .ofType("aws:codebuild/project:Project")
            .find((p) => p.inputs.name === "product-catalog-service-deploy")!;
        projectEnv = Object.fromEntries(project.inputs.environment.environmentVariables.map((v: any) => [v.name, v.value]));

        admin = {
            tools: await createAdministrator(moto, env.TARGET_REGION, tools.roles[0].accountId),
            target: await createAdministrator(moto, env.TARGET_REGION, env.TARGET_ACCOUNT_ID),
        };
        await createTargetStack(admin.target, target);
        buildSession = await codeBuildSession(admin.tools, tools.role("build-role"), "AWSCodeBuild-deploy-dev");
        await moto.enforceIam();
        credentials = await serveContainerCredentials(() => buildSession);

        // The "release": the fake CLI packed as Pulumi packs its own (pulumi/pulumi), served over HTTP.
        scratch = mkdtempSync(join(tmpdir(), "pulumi-release-"));
        mkdirSync(join(scratch, "pulumi"));
        copyFileSync(join(__dirname, "fakes", "pulumi"), join(scratch, "pulumi", "pulumi"));
        execFileSync("tar", ["-czf", join(scratch, ARCHIVE), "-C", scratch, "pulumi"]);
        archiveSha256 = createHash("sha256")
            .update(readFileSync(join(scratch, ARCHIVE)))
            .digest("hex");
        downloads = [];
        releases = createServer((req, res) => {
            downloads.push(req.url ?? "");
            const file = join(scratch, (req.url ?? "").replace(/^\//, ""));
            if (!req.url?.endsWith(".tar.gz") || !existsSync(file)) {
                res.writeHead(404);
                res.end();
                return;
            }
            res.writeHead(200, { "content-type": "application/gzip" });
            res.end(readFileSync(file));
        });
        await new Promise<void>((r) => releases.listen(0, "127.0.0.1", r));
        releasesUrl = `http://127.0.0.1:${(releases.address() as AddressInfo).port}`;

        // buildspec-pulumi.yml's commands, but `npm ci` (the workspace links this checkout's node_modules)
        const spec = yaml.load(readFileSync(join(ROOT, "buildspec-pulumi.yml"), "utf8")) as any;
        commands = [...spec.phases.install.commands, ...spec.phases.build.commands].filter((c: string) => !c.startsWith("npm ci"));
    });

    after(async () => {
        await credentials?.close();
        releases?.closeAllConnections();
        await new Promise<void>((r) => (releases ? releases.close(() => r()) : r()));
        if (admin) for (const c of Object.values(admin)) destroyClients(c);
        await moto?.stop();
        if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    async function runAction(extraEnv: Record<string, string> = {}) {
        const workspace: Workspace = await createWorkspace({
            endpoint: moto.url,
            credentialsUrl: credentials.url,
            env: { ...projectEnv, ...env, PULUMI_CLI_SHA256: archiveSha256, PULUMI_DOWNLOAD_BASE: releasesUrl, ...extraEnv },
            files: {
                "buildspec.yml": "buildspec-pulumi.yml",
                "package.json": "package.json",
                ...Object.fromEntries(
                    ["assume-deploy-role.sh", "ci-deploy-env.sh", "install-pulumi.sh", "pulumi-deploy.sh"].map((f) => [
                        `scripts/${f}`,
                        `scripts/${f}`,
                    ]),
                ),
            },
            deployAction: true,
        });
        const log = join(workspace.dir, "pulumi-calls.log");
        try {
            const run = await workspace.run(["bash", "-c", commands.join(" && ")], {
                FAKE_PULUMI_LOG: log,
                FAKE_PULUMI_URL: `https://a1b2c3d4e5.execute-api.${env.TARGET_REGION}.amazonaws.com/dev`,
                SHELLOPTS: "xtrace",
                ...extraEnv,
            });
            const calls: PulumiCall[] = existsSync(log)
                ? readFileSync(log, "utf8")
                      .trim()
                      .split("\n")
                      .map((l) => JSON.parse(l))
                : [];
            const identity = existsSync(`${log}.identity`) ? readFileSync(`${log}.identity`, "utf8").trim() : undefined;
            const output = existsSync(join(workspace.dir, "deploy-output.json"))
                ? JSON.parse(readFileSync(join(workspace.dir, "deploy-output.json"), "utf8"))
                : undefined;
            return {
                ...run,
                calls,
                identity,
                deployOutput: output,
                cliInstalled: existsSync(join(workspace.dir, ".pulumi-cli", "pulumi", "pulumi")),
            };
        } finally {
            workspace.remove();
        }
    }

    it("installs exactly the pinned CLI, then deploys stack dev into the target's own backend as the deploy role", async () => {
        downloads.length = 0;
        const run = await runAction();
        expect(run.code, run.output).to.equal(0);
        expect(projectEnv.PULUMI_CLI_VERSION).to.equal(VERSION);
        expect(downloads).to.deep.equal([`/${ARCHIVE}`]);
        const lines = run.calls.filter((c) => c.cmd !== "version").map((c) => c.args.filter((a) => a !== "--non-interactive").join(" "));
        expect(lines).to.deep.equal([
            `login ${env.PULUMI_BACKEND_URL}`,
            `stack select --create --stack dev --secrets-provider ${env.PULUMI_SECRETS_PROVIDER}`,
            "config set --stack dev role api",
            "config set --stack dev stage dev",
            `config set --stack dev permissionsBoundaryArn ${env.PERMISSIONS_BOUNDARY_ARN}`,
            `config set --stack dev aws:region ${env.TARGET_REGION}`,
            `config set --stack dev --path aws:allowedAccountIds[0] ${env.TARGET_ACCOUNT_ID}`,
            "up --stack dev --yes --diff",
            "stack output url --stack dev",
        ]);
        expect(env.PULUMI_BACKEND_URL).to.equal(
            `s3://${target.outputs.deploymentBucketName}/pulumi/product-catalog-service/dev?region=us-east-1`,
        );
        expect(env.PULUMI_SECRETS_PROVIDER).to.equal(`awskms:///${target.outputs.pulumiSecretsKeyArn}?region=us-east-1`);
        // `pulumi version` is install-pulumi.sh checking the binary; every other call is the deploy's
        for (const call of run.calls.filter((c) => c.cmd !== "version")) {
            expect(call.env.AWS_PROFILE, call.cmd).to.equal("target-deploy");
            expect(call.credentialVariables, `${call.cmd}: credentials in pulumi's environment`).to.deep.equal([]);
        }
        expect(run.identity).to.equal(
            `arn:aws:sts::${env.TARGET_ACCOUNT_ID}:assumed-role/${target.role("deploy-role").name}/codebuild-1-dev`,
        );
        const state = `pulumi/product-catalog-service/dev/.pulumi/stacks/serverless-cross-account-cicd/dev.json`;
        await admin.target.s3.send(new HeadObjectCommand({ Bucket: target.outputs.deploymentBucketName, Key: state }));
        expect(run.deployOutput).to.deep.equal({
            url: `https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev`,
            stage: "dev",
            region: "us-east-1",
            account: env.TARGET_ACCOUNT_ID,
            stack: "dev",
            service: "product-catalog-service",
        });
        expect(run.output).to.not.include(buildSession.secretAccessKey).and.not.include(buildSession.sessionToken);
        expect(moto.log()).to.not.contain("moto-iam: denied");
    });

    it("refuses a CLI archive whose SHA-256 is not the pinned one: nothing installed, nothing deployed", async () => {
        const run = await runAction({ PULUMI_CLI_SHA256: "f".repeat(64) });
        expect(run.code).to.not.equal(0);
        expect(run.output).to.include(
            `install-pulumi: ERROR: ${ARCHIVE} has SHA-256 ${archiveSha256}, not the pinned ${"f".repeat(64)}: refusing to install it`,
        );
        expect(run.cliInstalled).to.equal(false);
        expect(run.calls).to.deep.equal([]);
    });

    it("a failing pulumi up exits non-zero naming the stack, and exports nothing", async () => {
        const run = await runAction({ FAKE_PULUMI_FAIL: "up" });
        expect(run.code).to.not.equal(0);
        expect(run.output).to.include("pulumi-deploy: ERROR: pulumi up failed for stack dev");
        expect(run.output).to.not.include("API_URL=");
        expect(run.deployOutput).to.equal(undefined);
    });

    it("refuses a backend or secrets key outside the target account's stage, before assuming anything", async () => {
        for (const [variable, value, message] of [
            ["PULUMI_BACKEND_URL", `s3://elsewhere/pulumi/product-catalog-service/dev?region=us-east-1`, "is not this stage's backend"],
            [
                "PULUMI_SECRETS_PROVIDER",
                `awskms:///arn:aws:kms:us-east-1:999999999999:key/1234?region=us-east-1`,
                "is not a KMS key of TARGET_ACCOUNT_ID",
            ],
            ["PULUMI_STACK", "prod", "must be the stage 'dev'"],
        ]) {
            const run = await runAction({ [variable]: value });
            expect(run.code, variable).to.not.equal(0);
            expect(run.output, variable).to.include(`pulumi-deploy: ERROR: ${variable} '${value}' ${message}`);
            expect(run.output, variable).to.not.include("assume-deploy-role:");
            expect(
                run.calls.filter((c) => c.cmd !== "version"),
                variable,
            ).to.deep.equal([]);
        }
    });

    it("the deploy role writes its own stage's Pulumi state and no other stage's", async () => {
        const build = clients(moto, env.TARGET_REGION, buildSession);
        const { Credentials: c } = await build.sts.send(
            new AssumeRoleCommand({ RoleArn: env.DEPLOY_ROLE_ARN, RoleSessionName: "state-check" }),
        );
        destroyClients(build);
        const deploy = clients(moto, env.TARGET_REGION, {
            accessKeyId: c!.AccessKeyId!,
            secretAccessKey: c!.SecretAccessKey!,
            sessionToken: c!.SessionToken!,
        });
        try {
            const put = (stage: string) =>
                deploy.s3.send(
                    new PutObjectCommand({
                        Bucket: target.outputs.deploymentBucketName,
                        Key: `pulumi/product-catalog-service/${stage}/.pulumi/x.json`,
                        Body: "{}",
                    }),
                );
            await put("dev");
            const refused = await put("prod").then(
                () => undefined,
                (e: Error) => e,
            );
            expect(refused?.name).to.match(/AccessDenied/);
        } finally {
            destroyClients(deploy);
        }
    });
});
