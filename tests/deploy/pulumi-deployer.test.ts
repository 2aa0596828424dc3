/**
 * The pulumi deployer's Deploy action for real, against moto with IAM access control on: the deploy kit, bundled
 * exactly as the tools stack uploads it, run as a stage's Deploy build runs it (`node <kit> deploy`, ./codebuild.ts),
 * with the real AWS CLI and only the stage build role's container credentials. The accounts are set up in one moto
 * from the stacks evaluated for `deployer: pulumi` (./accounts.ts, setUpPulumiAccounts): the tools stack's dev build
 * role, and the dev and prod target stacks (deploy role, boundary, deployment bucket).
 *
 * The Pulumi CLI the kit installs is a fake (./fakes/pulumi, whose header says why and what it does), packed as the
 * release archive, served over local HTTP (PULUMI_DOWNLOAD_BASE) and pinned by its real SHA-256. Everything around it
 * is real: the kit downloads and verifies the archive, assumes the deploy role through a profile via moto's STS, and
 * the fake opens the backend and writes the stack's state with that profile, so moto checks the deploy role's policy.
 */
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
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
import { API_URL_VARIABLE, kitBuildspec } from "../../components/codebuild";
import { DEPLOY_PROFILE, DEPLOY_OUTPUT_FILE } from "../../deploy-kit/main";
import { pulumiStack } from "../../deploy-kit/pulumi";
import { startMoto, Moto } from "../helpers/moto";
import { clients, destroyClients, PulumiAccounts, setUpPulumiAccounts } from "./accounts";
import { ContainerCredentials, createWorkspace, serveContainerCredentials } from "./codebuild";

const SERVICE = "product-catalog-service";
const PROJECT = "serverless-cross-account-cicd";
const ARCH = ({ x64: "x64", arm64: "arm64" } as Record<string, string>)[process.arch];

interface PulumiCall {
    cmd: string;
    args: string[];
    env: Record<string, string | undefined>;
    credentialVariables: string[];
}

describe("pulumi deployer: the deploy kit's `deploy` with deployer pulumi against moto, IAM enforced, with a fake Pulumi CLI", function () {
    this.timeout(180_000);
    let moto: Moto;
    let accounts: PulumiAccounts;
    let credentials: ContainerCredentials;
    let releases: Server;
    let releasesUrl: string;
    let downloads: string[];
    let archive: string;
    let archiveSha256: string;
    let scratch: string;
    let build = 0;
    const apiUrl = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev";

    const denials = () =>
        moto
            .log()
            .split("\n")
            .filter((l) => l.startsWith("moto-iam: denied"));
    const keysOf = async (admin: PulumiAccounts["admin"]["target"], bucket: string) =>
        ((await admin.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();

    before(async () => {
        const started = Date.now();
        moto = await startMoto();
        accounts = await setUpPulumiAccounts(moto);
        await moto.enforceIam();
        credentials = await serveContainerCredentials(() => accounts.buildSession);

        // The "release": the fake CLI packed as Pulumi packs its own (pulumi/pulumi), served over HTTP.
        const version = accounts.deployEnv.PULUMI_CLI_VERSION;
        archive = `pulumi-v${version}-linux-${ARCH}.tar.gz`;
        scratch = mkdtempSync(join(tmpdir(), "pulumi-release-"));
        mkdirSync(join(scratch, "pulumi"));
        copyFileSync(join(__dirname, "fakes", "pulumi"), join(scratch, "pulumi", "pulumi"));
        execFileSync("tar", ["-czf", join(scratch, archive), "-C", scratch, "pulumi"]);
        archiveSha256 = createHash("sha256")
            .update(readFileSync(join(scratch, archive)))
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
        console.log(`      timing: setup: ${Date.now() - started} ms`);
    });

    after(async () => {
        await credentials?.close();
        releases?.closeAllConnections();
        await new Promise<void>((r) => (releases ? releases.close(() => r()) : r()));
        if (accounts) for (const c of [...Object.values(accounts.admin), accounts.prod.admin]) destroyClients(c);
        await moto?.stop();
        if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    /**
     * One Deploy build of the dev stage, in a fresh workspace holding the program's Pulumi.yaml: `node <kit> deploy`,
     * or `command` (the buildspec's build phase). The CLI pin is the tools stack's version with the fake's SHA-256.
     */
    async function runDeploy(options: { env?: Record<string, string>; command?: string[] } = {}) {
        const buildNumber = ++build;
        const workspace = await createWorkspace({
            endpoint: moto.url,
            credentialsUrl: credentials.url,
            env: { ...accounts.deployEnv, PULUMI_CLI_SHA256: archiveSha256, PULUMI_DOWNLOAD_BASE: releasesUrl, ...options.env },
            files: { "Pulumi.yaml": "Pulumi.yaml" },
            buildNumber,
        });
        const log = join(workspace.dir, "pulumi-calls.log");
        const from = { downloads: downloads.length, denials: denials().length };
        try {
            const extra = { FAKE_PULUMI_LOG: log, FAKE_PULUMI_URL: apiUrl, ...options.env };
            const run = options.command ? await workspace.run(options.command, extra) : await workspace.runKit("deploy", extra);
            const read = (file: string) =>
                existsSync(join(workspace.dir, file)) ? readFileSync(join(workspace.dir, file), "utf8") : undefined;
            const calls: PulumiCall[] = (read("pulumi-calls.log") ?? "")
                .split("\n")
                .filter((l) => l !== "")
                .map((l) => JSON.parse(l));
            return {
                ...run,
                buildNumber,
                calls,
                commands: calls.map((c) => c.args.filter((a) => a !== "--non-interactive").join(" ")),
                deployOutput: read(DEPLOY_OUTPUT_FILE) === undefined ? undefined : JSON.parse(read(DEPLOY_OUTPUT_FILE)!),
                stackConfig: read("Pulumi.dev.yaml") === undefined ? undefined : yaml.load(read("Pulumi.dev.yaml")!),
                cliInstalled: existsSync(join(workspace.dir, ".pulumi-cli", "pulumi", "pulumi")),
                downloads: downloads.slice(from.downloads),
                denials: () => denials().slice(from.denials),
            };
        } finally {
            workspace.remove();
        }
    }
    type Run = Awaited<ReturnType<typeof runDeploy>>;

    describe("a deploy of dev", () => {
        let run: Run;
        before(async () => {
            const started = Date.now();
            run = await runDeploy();
            console.log(`      timing: deploy: ${Date.now() - started} ms`);
        });

        it("installs exactly the pinned CLI: the tools stack's version, fetched from PULUMI_DOWNLOAD_BASE, its SHA-256 checked", () => {
            expect(run.code, run.output).to.equal(0);
            expect(accounts.deployEnv.PULUMI_CLI_VERSION).to.equal("3.276.0");
            expect(run.downloads).to.deep.equal([`/${archive}`]);
            expect(run.output).to.include(`deploy-kit: installed the Pulumi CLI 3.276.0 (SHA-256 ${archiveSha256})`);
            expect(run.cliInstalled).to.equal(true);
        });

        it("runs login, stack select, config and up of the stage's stack, all as the deploy role's profile and with no credential in pulumi's environment", () => {
            const { backendUrl, secretsProvider } = pulumiStack(accounts.target);
            const t = accounts.target;
            expect(run.commands).to.deep.equal([
                `login ${backendUrl}`,
                `stack select --create --stack dev --secrets-provider ${secretsProvider}`,
                "config set --stack dev role api",
                "config set --stack dev stage dev",
                `config set --stack dev permissionsBoundaryArn ${t.permissionsBoundaryArn}`,
                `config set --stack dev aws:region ${t.region}`,
                `config set --stack dev --path aws:allowedAccountIds[0] ${t.accountId}`,
                "up --stack dev --yes --diff",
                "stack output url --stack dev",
            ]);
            expect(run.output, "a new stack").to.include("Created stack 'dev'");
            for (const call of run.calls) {
                expect(call.env, call.cmd).to.include({
                    AWS_PROFILE: DEPLOY_PROFILE,
                    AWS_REGION: t.region,
                    PULUMI_SKIP_UPDATE_CHECK: "true",
                });
                expect(call.credentialVariables, `${call.cmd}: credentials in pulumi's environment`).to.deep.equal([]);
            }
            expect(run.output).to.include(
                `deploy-kit: profile ${DEPLOY_PROFILE} -> arn:aws:sts::${t.accountId}:assumed-role/${accounts.deployRole.name}/codebuild-${run.buildNumber}-dev`,
            );
            expect(run.output).to.not.include(accounts.buildSession.secretAccessKey).and.not.include(accounts.buildSession.sessionToken);
            expect(run.denials(), "requests moto refused").to.deep.equal([]);
        });

        it("keeps the state in the target's own deployment bucket under pulumi/<service>/<stage>/, its secrets under the target's KMS key", async () => {
            const t = accounts.target;
            expect(pulumiStack(t)).to.deep.equal({
                backendUrl: `s3://${t.deploymentBucketName}/pulumi/${SERVICE}/dev?region=${t.region}`,
                secretsProvider: `awskms:///${t.pulumiSecretsKeyArn}?region=${t.region}`,
                stack: "dev",
            });
            expect(t.pulumiSecretsKeyArn).to.match(new RegExp(`^arn:aws:kms:${t.region}:${t.accountId}:key/`));
            const prefix = `pulumi/${SERVICE}/dev/.pulumi/`;
            expect(await keysOf(accounts.admin.target, t.deploymentBucketName)).to.deep.equal([
                `${prefix}meta.yaml`,
                `${prefix}stacks/${PROJECT}/dev.json`,
            ]);
            const { GetObjectCommand } = await import("@aws-sdk/client-s3");
            const object = await accounts.admin.target.s3.send(
                new GetObjectCommand({ Bucket: t.deploymentBucketName, Key: `${prefix}stacks/${PROJECT}/dev.json` }),
            );
            const state = JSON.parse(await object.Body!.transformToString());
            expect(state.checkpoint.secretsProvider).to.equal(`awskms:///${t.pulumiSecretsKeyArn}?region=${t.region}`);
            expect(state.checkpoint.latest.deployedBy).to.equal(
                `arn:aws:sts::${t.accountId}:assumed-role/${accounts.deployRole.name}/codebuild-${run.buildNumber}-dev`,
            );
        });

        it("derives the stack and its config from the target: stack <stage>, role api, the target's boundary, region and account", () => {
            const t = accounts.target;
            expect(run.stackConfig).to.deep.equal({
                config: {
                    [`${PROJECT}:role`]: "api",
                    [`${PROJECT}:stage`]: "dev",
                    [`${PROJECT}:permissionsBoundaryArn`]: t.permissionsBoundaryArn,
                    "aws:region": t.region,
                    "aws:allowedAccountIds": [t.accountId],
                },
            });
        });

        it("exports the stack's url as API_URL (the last line) and in deploy-output.json", () => {
            expect(run.output.trim().split("\n").pop()).to.equal(`API_URL=${apiUrl}`);
            expect(run.deployOutput).to.deep.equal({
                url: apiUrl,
                stage: "dev",
                region: accounts.target.region,
                account: accounts.target.accountId,
                stack: "dev",
                service: SERVICE,
            });
        });

        it("a second build, as the stage's buildspec runs it, selects the existing stack and exports API_URL to later actions", async () => {
            const spec = yaml.load(kitBuildspec("deploy", { installProgram: true })) as any;
            expect(spec.env["exported-variables"]).to.deep.equal([API_URL_VARIABLE]);
            const commands: string[] = spec.phases.build.commands.map((c: string) => c.replace("/tmp/deploy-kit.js", ".kit/deploy-kit.js"));
            expect(commands[0]).to.equal("node .kit/deploy-kit.js deploy");
            const run = await runDeploy({ command: ["bash", "-c", [...commands, 'echo "exported API_URL=$API_URL"'].join(" && ")] });
            expect(run.code, run.output).to.equal(0);
            expect(run.output.trim().split("\n").pop()).to.equal(`exported API_URL=${apiUrl}`);
            expect(run.output).to.not.include("Created stack");
            expect(run.commands).to.include("up --stack dev --yes --diff");
            expect(run.denials()).to.deep.equal([]);
        });
    });

    describe("what the kit refuses, and a failing pulumi up", () => {
        it("refuses a CLI archive whose SHA-256 is not the pinned one: nothing installed, nothing deployed", async () => {
            const before = await keysOf(accounts.admin.target, accounts.target.deploymentBucketName);
            const pinned = "f".repeat(64);
            const run = await runDeploy({ env: { PULUMI_CLI_SHA256: pinned } });
            expect(run.code, run.output).to.equal(1);
            expect(run.downloads).to.deep.equal([`/${archive}`]);
            expect(run.output).to.include(
                `deploy-kit: ERROR: ${archive} has SHA-256 ${archiveSha256}, not the pinned ${pinned}: refusing to install it`,
            );
            expect(run.cliInstalled).to.equal(false);
            expect(run.calls).to.deep.equal([]);
            expect(run.output).to.not.include("API_URL=");
            expect(run.deployOutput).to.equal(undefined);
            expect(await keysOf(accounts.admin.target, accounts.target.deploymentBucketName)).to.deep.equal(before);
        });

        it("refuses a pin that is not a version and a SHA-256 (exit 2), before assuming anything or downloading", async () => {
            const run = await runDeploy({ env: { PULUMI_CLI_VERSION: "latest", PULUMI_CLI_SHA256: "abc" } });
            expect(run.code, run.output).to.equal(2);
            expect(run.output).to.include('deploy-kit: ERROR: PULUMI_CLI_VERSION must be a release such as "3.276.0"');
            expect(run.output).to.match(/; PULUMI_CLI_SHA256 .* must be 64 hexadecimal digits/);
            expect(run.output).to.not.include("assume the deploy role");
            expect([run.downloads, run.calls]).to.deep.equal([[], []]);
        });

        it("a failing pulumi up exits 1 naming the stack, and exports nothing", async () => {
            const run = await runDeploy({ env: { FAKE_PULUMI_FAIL: "up" } });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.include(
                "deploy-kit: ERROR: pulumi up of stack dev (the output above says which resource and why) failed: error: fake pulumi: up failed as asked",
            );
            expect(run.output).to.not.include("API_URL=");
            expect(run.deployOutput).to.equal(undefined);
        });
    });

    // Stage isolation: dev's Deploy build holds dev's build role only, which reaches dev's deploy role only, whose
    // policy covers dev's state prefix only.
    describe("the dev build cannot touch prod's state", () => {
        it("pointed at prod's Deploy action, it is refused at AssumeRole: nothing downloaded, prod's state bucket untouched", async () => {
            const prod = accounts.prod.target;
            const run = await runDeploy({ env: accounts.prod.deployEnv });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.include(`could not assume ${prod.deployRoleArn}`);
            expect(run.denials().join("\n")).to.include(
                `${accounts.buildRole.name}/AWSCodeBuild-deploy-dev sts:AssumeRole ${prod.deployRoleArn}`,
            );
            expect([run.downloads, run.calls]).to.deep.equal([[], []]);
            expect(await keysOf(accounts.prod.admin, prod.deploymentBucketName)).to.deep.equal([]);
        });

        it("given prod's bucket as its backend, dev's deploy role is refused by moto when pulumi opens it", async () => {
            const prod = accounts.prod.target;
            const tampered = { ...JSON.parse(accounts.deployEnv.DEPLOY_TARGET), deploymentBucketName: prod.deploymentBucketName };
            const run = await runDeploy({ env: { DEPLOY_TARGET: JSON.stringify(tampered) } });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.match(/deploy-kit: ERROR: logging in to the backend s3:\/\/[^ ]+ failed: .*AccessDenied/);
            expect(run.commands).to.deep.equal([`login s3://${prod.deploymentBucketName}/pulumi/${SERVICE}/dev?region=${prod.region}`]);
            expect(run.denials().join("\n")).to.include(
                `assumed-role/${accounts.deployRole.name}/codebuild-${run.buildNumber}-dev s3:GetObject arn:aws:s3:::${prod.deploymentBucketName}/pulumi/`,
            );
            expect(await keysOf(accounts.prod.admin, prod.deploymentBucketName)).to.deep.equal([]);
        });

        it("dev's deploy role writes its own stage's state prefix, and neither another stage's nor prod's bucket", async () => {
            const build = clients(moto, accounts.target.region, accounts.buildSession);
            const { Credentials: c } = await build.sts.send(
                new AssumeRoleCommand({ RoleArn: accounts.target.deployRoleArn, RoleSessionName: "state-check" }),
            );
            destroyClients(build);
            const deploy = clients(moto, accounts.target.region, {
                accessKeyId: c!.AccessKeyId!,
                secretAccessKey: c!.SecretAccessKey!,
                sessionToken: c!.SessionToken!,
            });
            const put = (bucket: string, stage: string) =>
                deploy.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `pulumi/${SERVICE}/${stage}/.pulumi/x.json`, Body: "{}" })).then(
                    () => "written",
                    (e: Error) => e.name,
                );
            try {
                expect(await put(accounts.target.deploymentBucketName, "dev")).to.equal("written");
                expect(await put(accounts.target.deploymentBucketName, "prod")).to.equal("AccessDenied");
                expect(await put(accounts.prod.target.deploymentBucketName, "prod")).to.equal("AccessDenied");
                expect(await keysOf(accounts.prod.admin, accounts.prod.target.deploymentBucketName)).to.deep.equal([]);
            } finally {
                destroyClients(deploy);
            }
        });
    });
});
