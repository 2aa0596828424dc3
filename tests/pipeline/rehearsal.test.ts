/**
 * The pipeline rehearsal on the EVALUATED tools stack: the `aws:codepipeline/pipeline:Pipeline`,
 * `aws:codebuild/project:Project` and notification rule resources that index.ts registers for Pulumi.tools.yaml
 * (tests/helpers/shipped-stacks.ts, never a retyped copy) run by ./executor.ts against one moto holding three
 * accounts with IAM access control on: tools 111111111111 (every tools role from the stack, the build-assets
 * bucket holding the deploy kit exactly as `pulumi up` uploads it: components/deploy-kit-bundle.ts), dev
 * 222222222222 and prod 333333333333 (each set up from its evaluated target stack: tests/deploy/accounts.ts).
 * Each CodeBuild action runs in the CodeBuild-like environment (./codebuild-environment.ts) with only its
 * project role's credentials, which moto issues to codebuild.amazonaws.com after checking the role's trust.
 * The deployed API answers through the stand-ins (./api-gateway-standin.ts, ./lambda-standin.ts): the Deploy
 * action's API_URL is mapped to the stand-in for the SmokeTest action, which calls it; the functions run their
 * deployed code as their own role, and moto authorises their DynamoDB calls against the table's ARN
 * (./moto-site/sitecustomize.py, a correction loaded into this rehearsal's moto only).
 *
 * Source: the working tree's files (tracked and untracked, not ignored: the tree a `git push` of this checkout
 * would deliver) committed into a temporary repository, delivered by `git archive` (./source.ts).
 *
 * The Test stage, narrowed (documented choice): it runs the commit's buildspec-test.yml as it is — `npm ci` (from
 * an npm cache seeded from this machine's), `npm test`, `npm run build`, `npm run package -- $PACKAGE_STAGES` —
 * but the rehearsal's commit replaces package.json's `test` script by one small suite that needs moto
 * (TEST_SUITE below) instead of the whole suite (tsc, prettier and ~3 min of mocha, which would double the
 * suite's time). That suite must find moto inside the build, whose python3 has no moto: it finds it as this
 * offline machine provides it (item 1's offline branch: the vendored copy `../shared/vendor/moto` beside the
 * checkout, run by Debian's python3 and packages), linked beside the build's workspace (RehearsalOptions
 * .besideSource). On a machine reaching PyPI the same search would build the virtualenv instead.
 *
 * Runs: (a) push → Test → dev Deploy → SmokeTest full → Approve-prod (approved) → prod Deploy → SmokeTest
 * read-only; (d) one build, not an execution (a commit cannot change a Deploy action: its buildspec is inline and
 * its target comes from the pipeline): the dev Deploy project started with the prod Deploy action's configuration
 * (prod's DEPLOY_TARGET) on (a)'s artifact — the dev build role may not assume prod's deploy role, moto refuses,
 * prod unchanged; (b) a second commit whose create handler answers 500: dev's
 * SmokeTest fails, the stage rolls back to (a)'s artifacts, prod untouched, the failure is notified.
 * Not run here: the Test stage without item 1's provisioning (issue 14, run (c)).
 */
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { CreatePolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionCommand } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { DEPLOY_KIT_VARIABLES } from "../../components/codebuild";
import { deployKitBundle } from "../../components/deploy-kit-bundle";
import { serviceNames } from "../../components/naming";
import { deployNamespace } from "../../components/pipeline-model";
import { findMoto, Moto, startMoto } from "../helpers/moto";
import { Accounts, Clients, createRole, destroyClients, setUpAccounts } from "../deploy/accounts";
import { deployActionTarget, projectEnvironment } from "../iam/policies-from-stacks";
import { ApiGatewayStandIn, startApiGatewayStandIn } from "./api-gateway-standin";
import { CodeBuildActionResult, runCodeBuildAction } from "./codebuild";
import { PipelineExecution, PipelineRehearsal, RehearsalOptions, StageExecution } from "./executor";
import { LambdaStandIn } from "./lambda-standin";
import { NotificationRuleInputs, PipelineInputs, ProjectInputs } from "./pulumi-shapes";
import { serviceCredentials } from "./service-session";
import { gitSource, SourceRevision } from "./source";

const ROOT = resolve(__dirname, "..", "..");
const SITE = join(__dirname, "moto-site");
/** The suite the Test stage runs in place of the whole `npm test` (see the header): small, and it needs moto. */
const TEST_SUITE = "tests/pipeline/codebuild-moto.test.ts";
const FUNCTIONS = [
    ["createProduct", "create-product"],
    ["findProduct", "find-product"],
] as const;
const STAGES = ["dev", "prod"] as const;
type Stage = (typeof STAGES)[number];

const git = (repo: string, ...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=rehearsal", "-c", "user.email=rehearsal@example.com", ...args], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
    });

/** The working tree as a fresh repository (what a push of this checkout delivers), its test script narrowed. */
function repositoryOfWorkingTree(dir: string): void {
    const files = execFileSync("git", ["-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"], { encoding: "utf8", maxBuffer: 1 << 28 })
        .split("\0")
        .filter((f) => f && existsSync(join(ROOT, f)));
    mkdirSync(dir, { recursive: true });
    execFileSync("sh", ["-c", 'tar -C "$1" --null -T - -cf - | tar -C "$2" -xf -', "copy", ROOT, dir], { input: files.join("\0") });
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    manifest.scripts.test = `mocha --no-config -r ts-node/register/transpile-only --extension ts --timeout 60000 ${TEST_SUITE}`;
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "release 1: the working tree");
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("base64");

describe("pipeline rehearsal: the tools stack's pipeline, push to prod, against moto with IAM enforced", function () {
    this.timeout(240_000);
    let moto: Moto;
    let accounts: Accounts;
    let work: string;
    let repository: string;
    let pipeline: PipelineInputs;
    let projects: ProjectInputs[];
    let notificationRule: NotificationRuleInputs;
    let rehearsalOptions: RehearsalOptions;
    let rehearsal: PipelineRehearsal;
    /** Whether this machine's moto is a source copy (offline); if not, each Test build sets up its own from PyPI. */
    let vendored = true;
    /** An execution's time: a Test build that installs moto's virtualenv from PyPI takes minutes more. */
    const testStageTimeout = () => (vendored ? 240_000 : 900_000);
    const admin = {} as Record<Stage, Clients>;
    const gateways = {} as Record<Stage, ApiGatewayStandIn>;
    const lambdas = {} as Record<Stage, LambdaStandIn>;
    const approvals: string[] = [];

    const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
        const started = Date.now();
        const result = await step();
        const line = `timing: ${label}: ${Date.now() - started} ms`;
        console.log(`      ${line}`);
        return result;
    };
    const source = (ref: string, n: number): SourceRevision =>
        gitSource({
            repository,
            ref,
            into: join(work, "sources", String(n)),
            branch: "main",
            repositoryVariables: { RepositoryName: "product-catalog-service" },
        });
    const stage = (execution: PipelineExecution, name: string): StageExecution | undefined => execution.stages.find((s) => s.name === name);
    const why = (execution: PipelineExecution) =>
        execution.stages
            .flatMap((s) => s.actions)
            .filter((a) => a.status === "Failed")
            .map((a) => `${a.stageName}/${a.actionName}: ${a.message}\n${a.build?.log.slice(-3000) ?? ""}`)
            .join("\n");
    const codeSha = async (s: Stage, fn: string) =>
        (await admin[s].lambda.send(new GetFunctionCommand({ FunctionName: serviceNames(s).function(fn) }))).Configuration!.CodeSha256;
    const stackUpdated = async (s: Stage) => {
        const { Stacks } = await admin[s].cloudFormation.send(new DescribeStacksCommand({ StackName: serviceNames(s).stack }));
        return `${Stacks![0].StackStatus} ${Stacks![0].LastUpdatedTime?.toISOString() ?? Stacks![0].CreationTime!.toISOString()}`;
    };
    const tableItems = async (s: Stage) =>
        (await admin[s].dynamo.send(new ScanCommand({ TableName: serviceNames(s).table }))).Items!.map((i) => i.id.S!);
    /** The bundles the Test stage of `execution` built: what must be live. */
    const testedBundles = (execution: PipelineExecution) =>
        Object.fromEntries(FUNCTIONS.map(([fn, zip]) => [fn, sha256(join(execution.artifacts.build.dir, "build", `${zip}.zip`))]));
    const liveCode = async (s: Stage) => Object.fromEntries(await Promise.all(FUNCTIONS.map(async ([fn]) => [fn, await codeSha(s, fn)])));

    before(async () => {
        work = mkdtempSync(join(tmpdir(), "rehearsal-"));
        repository = join(work, "repository");
        await timed("source repository of the working tree", async () => repositoryOfWorkingTree(repository));

        const runtime = findMoto();
        vendored = runtime.source !== undefined;
        // this rehearsal's moto only: ./moto-site on its PYTHONPATH (see sitecustomize.py)
        moto = await startMoto({ runtime: { ...runtime, source: [runtime.source, SITE].filter(Boolean).join(delimiter) } });
        accounts = await timed("accounts from the evaluated stacks", () => setUpAccounts(moto));
        expect(moto.log()).to.include("moto-rehearsal: DynamoDB calls authorised against their table ARN; AWS::ApiGateway::Stage created");
        const tools = accounts.stacks.tools;
        admin.dev = accounts.admin.target;
        admin.prod = accounts.prod.admin;

        pipeline = tools.cloud.one("aws:codepipeline/pipeline:Pipeline").inputs as PipelineInputs;
        projects = tools.cloud.ofType("aws:codebuild/project:Project").map((p) => p.inputs as ProjectInputs);
        notificationRule = tools.cloud.one("aws:codestarnotifications/notificationRule:NotificationRule").inputs as NotificationRuleInputs;

        // the tools account as `pulumi up` leaves it: every role of the stack (setUpAccounts made dev's build role)
        for (const policy of tools.policies) {
            await accounts.admin.tools.iam.send(
                new CreatePolicyCommand({ PolicyName: policy.name, PolicyDocument: JSON.stringify(policy.policy) }),
            );
        }
        for (const role of tools.roles) if (role.name !== accounts.buildRole.name) await createRole(accounts.admin.tools.iam, role);
        // … and the deploy kit in the build-assets bucket, where each Deploy project's variables say it is
        const kit = deployKitBundle();
        const kitPlaces = new Set(
            STAGES.map((s) => {
                const env = projectEnvironment(tools, `product-catalog-service-deploy-${s}`);
                expect(env[DEPLOY_KIT_VARIABLES.sha256], `deploy-${s} pins the kit`).to.equal(kit.sha256);
                return `${env[DEPLOY_KIT_VARIABLES.bucket]}/${env[DEPLOY_KIT_VARIABLES.key]}`;
            }),
        );
        expect([...kitPlaces]).to.have.length(1);
        const [bucket, key] = [...kitPlaces][0].split(/\/(.*)/s);
        await accounts.admin.tools.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await accounts.admin.tools.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: kit.code }));
        await moto.enforceIam();

        for (const s of STAGES) {
            const account = deployActionTarget(tools, s).accountId;
            const readCredentials = (await admin[s].s3.config.credentials()) as AwsCredentialIdentity;
            lambdas[s] = new LambdaStandIn({
                motoUrl: moto.url,
                region: accounts.target.region,
                readCredentials,
                credentialsFor: serviceCredentials(moto, "lambda.amazonaws.com", { account }),
                workDir: join(work, "lambda", s),
            });
            gateways[s] = await startApiGatewayStandIn({
                motoUrl: moto.url,
                region: accounts.target.region,
                readCredentials,
                lambda: lambdas[s],
            });
        }

        const seed = join(homedir(), ".npm");
        rehearsalOptions = {
            pipeline,
            projects,
            notificationRule,
            region: accounts.target.region,
            accountId: accounts.buildRole.accountId,
            awsEndpoint: moto.url,
            credentialsFor: serviceCredentials(moto, "codebuild.amazonaws.com", { account: accounts.buildRole.accountId }),
            approve: (request) => {
                approvals.push(`${request.stageName}/${request.actionName}: ${request.customData}`);
                return { status: "Approved", summary: "rehearsal" };
            },
            workDir: join(work, "pipeline"),
            npmCacheSeed: existsSync(join(seed, "_cacache")) ? seed : undefined,
            besideSource: runtime.source ? { "shared/vendor/moto": runtime.source } : undefined,
            // the SmokeTest (and the approval) see the stand-in's URL for the API the Deploy action exported
            mapOutputVariables: ({ namespace }, variables) => {
                const s = STAGES.find((x) => deployNamespace(x) === namespace);
                return s && variables.API_URL ? { ...variables, API_URL: gateways[s].localUrl(variables.API_URL) } : variables;
            },
        };
        rehearsal = new PipelineRehearsal(rehearsalOptions);
    });

    after(async () => {
        await rehearsal?.dispose();
        for (const s of STAGES) {
            await gateways[s]?.close();
            lambdas[s]?.close();
        }
        if (accounts) for (const c of [accounts.admin.tools, accounts.admin.target, accounts.prod.admin]) destroyClients(c);
        await moto?.stop();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    let first: PipelineExecution;

    describe("(a) a push goes to prod: Source → Test → dev → Approve-prod (approved) → prod", () => {
        before(async function () {
            this.timeout(testStageTimeout());
            first = await timed("execution (a), push to prod", () => rehearsal.start({ sources: { Source: source("HEAD", 1) } }));
            // each action's wall time, for npm run bench (orchestration overhead = execution / sum of Deploy actions)
            for (const stage of first.stages) {
                for (const action of stage.actions)
                    console.log(`      timing: (a) action ${stage.name}/${action.actionName}: ${action.durationMs} ms`);
            }
        });

        it("succeeds through every stage of the evaluated pipeline, in its order", () => {
            expect(first.status, why(first)).to.equal("Succeeded");
            expect(first.stages.map((s) => s.name)).to.deep.equal(pipeline.stages.map((s) => s.name));
            expect(first.stages.map((s) => s.name)).to.deep.equal(["Source", "Test", "dev", "Approve-prod", "prod"]);
            expect(first.stages.every((s) => s.status === "Succeeded")).to.equal(true);
            expect(approvals).to.have.length(1);
            expect(approvals[0]).to.match(
                /^Approve-prod\/.*Deploy commit [0-9a-f]{40} to prod\? It passed dev's smoke test at http:\/\/127\.0\.0\.1:/,
            );
        });

        it("ran the Test stage in the CodeBuild-like environment, its moto suite finding the vendored moto beside the checkout", () => {
            const test = stage(first, "Test")!.actions[0];
            const log = test.build!.log;
            // offline (this machine): the vendored copy beside the checkout; with PyPI (CodeBuild, a laptop): the
            // virtualenv the suite builds inside the build from tests/helpers/requirements-moto.txt
            expect(log).to.match(
                vendored
                    ? /\(moto 5\.2\.[^:]*: source \S*shared\/vendor\/moto, \/usr\/bin\/python3;/
                    : /\(moto 5\.2\.[^:]*: installed, \S*\/\.cache\/moto-venv\/bin\/python3?;/,
            );
            // the suite's results go to the report (xunit); its phase succeeding is its passing
            expect(test.build!.phases.map((p) => `${p.name} ${p.status}`)).to.include.members(["PRE_BUILD SUCCEEDED", "BUILD SUCCEEDED"]);
            expect(log).to.include(`mocha --no-config -r ts-node/register/transpile-only --extension ts --timeout 60000 ${TEST_SUITE}`);
            expect(log).to.include("package-stages: wrote");
            for (const s of STAGES)
                expect(existsSync(join(first.artifacts.build.dir, "build", "packages", s, "serverless-state.json")), s).to.equal(true);
            expect(existsSync(join(first.artifacts.build.dir, "node_modules")), "node_modules excluded from the artifact").to.equal(false);
        });

        it("made both stacks live in their own accounts with the Test stage's bundles (CodeSha256)", async () => {
            const tested = testedBundles(first);
            for (const s of STAGES) {
                expect(await stackUpdated(s), s).to.match(/^(CREATE|UPDATE)_COMPLETE /);
                expect(await liveCode(s), s).to.deep.equal(tested);
            }
        });

        it("each Deploy ran as its stage's build role and exported its API URL; each SmokeTest called the stand-in for it", async () => {
            for (const s of STAGES) {
                const deploy = stage(first, s)!.actions.find((a) => a.actionName === "Deploy")!;
                const target = deployActionTarget(accounts.stacks.tools, s);
                expect(deploy.build!.log, s).to.match(
                    new RegExp(`deploy-kit: profile target-deploy -> arn:aws:sts::${target.accountId}:assumed-role/`),
                );
                expect(deploy.outputVariables.API_URL, s).to.match(
                    new RegExp(`^https://[a-z0-9]+\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com/${s}$`),
                );
                const smoke = stage(first, s)!.actions.find((a) => a.category === "Test")!;
                expect(smoke.configuration!.EnvironmentVariables, s).to.include(gateways[s].localUrl(deploy.outputVariables.API_URL));
            }
        });

        it("the smoke tests reached the deployed functions: dev's table holds the smoke test's product, prod's nothing", async () => {
            for (const s of STAGES) {
                const served = gateways[s].requests.filter((r) => r.functionArn);
                expect(served.length, `${s}: requests answered by a function`).to.be.greaterThan(0);
                expect(
                    lambdas[s].invocations.every((i) => i.outcome.kind === "result"),
                    `${s}: invocations`,
                ).to.equal(true);
            }
            const devIds = await tableItems("dev");
            expect(devIds).to.have.length(1);
            expect(
                gateways.dev.requests.some(
                    (r) => r.method === "GET" && r.path.endsWith(`/product/find/${encodeURIComponent(devIds[0])}`) && r.status === 200,
                ),
            ).to.equal(true);
            expect(gateways.prod.requests.map((r) => r.method)).to.not.include("PUT");
            expect(await tableItems("prod")).to.deep.equal([]);
        });
    });

    describe("(d) the dev Deploy build run with prod's values (DEPLOY_TARGET of prod) is refused, prod unchanged", () => {
        let build: CodeBuildActionResult;
        let prodBefore: { stack: string; code: Record<string, string | undefined> };
        let prodDeployRole: string;

        before(async function () {
            this.timeout(testStageTimeout());
            expect(first?.status, "execution (a) did not succeed").to.equal("Succeeded");
            prodBefore = { stack: await stackUpdated("prod"), code: await liveCode("prod") };
            prodDeployRole = deployActionTarget(accounts.stacks.tools, "prod").deployRoleArn;
            // The dev stage's Deploy action as the evaluated pipeline has it, its configuration replaced by the prod
            // Deploy action's but for the project: dev's project (inline buildspec, the kit), dev's build role.
            const devDeploy = pipeline.stages.find((s) => s.name === "dev")!.actions.find((a) => a.name === "Deploy")!;
            const prodDeploy = pipeline.stages.find((s) => s.name === "prod")!.actions.find((a) => a.name === "Deploy")!;
            const project = projects.find((p) => p.name === devDeploy.configuration!.ProjectName)!;
            const out = join(work, "d-output");
            build = await timed("(d) dev Deploy build with prod's target", () =>
                runCodeBuildAction({
                    project,
                    actionName: devDeploy.name,
                    configuration: { ...prodDeploy.configuration!, ProjectName: project.name! },
                    inputs: [first.artifacts.build],
                    outputs: [{ name: devDeploy.outputArtifacts![0], dir: out }],
                    workDir: join(work, "d-builds"),
                    buildNumber: 99,
                    region: rehearsalOptions.region,
                    accountId: rehearsalOptions.accountId,
                    awsEndpoint: moto.url,
                    initiator: `codepipeline/${pipeline.name}`,
                    credentialsFor: rehearsalOptions.credentialsFor,
                }),
            );
        });

        it("fails in the kit's assume of prod's deploy role, which moto refuses to dev's build role", () => {
            expect(build.status, build.log).to.equal("FAILED");
            expect(build.log).to.include(`could not assume ${prodDeployRole} through profile target-deploy`);
            expect(build.log).to.not.include("deploy-kit: profile target-deploy ->");
            const denial = new RegExp(
                `moto-iam: denied arn:aws:sts::111111111111:assumed-role/${accounts.buildRole.name}/\\S+ sts:AssumeRole ${prodDeployRole.replace(/[/.]/g, "\\$&")}`,
            );
            expect(moto.log()).to.match(denial);
        });

        it("prod's deploy role trusts prod's build role only: not even a tools administrator may assume it", async () => {
            const refusal = await accounts.admin.tools.sts
                .send(new AssumeRoleCommand({ RoleArn: prodDeployRole, RoleSessionName: "administrator" }))
                .then(
                    () => undefined,
                    (e: Error) => e,
                );
            expect(refusal?.name, "AssumeRole was allowed").to.equal("AccessDenied");
            expect(await moto.logHolding([`sts:AssumeRole ${prodDeployRole} (trust policy)`])).to.include(
                `sts:AssumeRole ${prodDeployRole} (trust policy)`,
            );
        });

        it("left prod as (a) made it: same stack update, same code", async () => {
            expect(await stackUpdated("prod")).to.equal(prodBefore.stack);
            expect(await liveCode("prod")).to.deep.equal(prodBefore.code);
        });
    });

    describe("(b) a second push whose create handler answers 500: dev's SmokeTest fails, dev rolls back, prod untouched", () => {
        let second: PipelineExecution;
        let prodBefore: { stack: string; code: Record<string, string | undefined> };
        let devRequestsBefore: number;
        let approvalsBefore: number;

        before(async function () {
            this.timeout(testStageTimeout());
            expect(first?.status, "execution (a) did not succeed").to.equal("Succeeded");
            const handler = join(repository, "functions", "create-product.ts");
            const code = readFileSync(handler, "utf8");
            expect(code).to.include("if (!table) return");
            writeFileSync(handler, code.replace("if (!table) return", "if (table) return"));
            git(repository, "commit", "-q", "-am", "release 2: create answers 500");
            prodBefore = { stack: await stackUpdated("prod"), code: await liveCode("prod") };
            devRequestsBefore = gateways.dev.requests.length;
            approvalsBefore = approvals.length;
            second = await timed("execution (b), broken create", () => rehearsal.start({ sources: { Source: source("HEAD", 2) } }));
        });

        it("deploys the new code to dev, whose full smoke test gets 500 from create and fails the stage and the execution", () => {
            expect(second.status).to.equal("Failed");
            expect(second.stages.map((s) => `${s.name} ${s.status}`)).to.deep.equal(["Source Succeeded", "Test Succeeded", "dev Failed"]);
            const dev = stage(second, "dev")!;
            expect(dev.actions.find((a) => a.actionName === "Deploy")!.status).to.equal("Succeeded");
            const smoke = dev.actions.find((a) => a.category === "Test")!;
            expect(smoke.status).to.equal("Failed");
            expect(smoke.build!.log).to.match(/FAIL\s+create is 201 .*expected 201, got 500/);
            const served = gateways.dev.requests.slice(devRequestsBefore);
            expect(served.some((r) => r.method === "POST" && r.path.endsWith("/product/create") && r.status === 500)).to.equal(true);
        });

        it("rolls dev back: a ROLLBACK execution ran dev with (a)'s artifacts, and dev serves (a)'s code again", async () => {
            const rollback = second.rollback!;
            expect(rollback, "no rollback").to.not.equal(undefined);
            expect(rollback.type).to.equal("ROLLBACK");
            expect(rollback.rollbackTargetExecutionId).to.equal(first.executionId);
            expect(rollback.status, why(rollback)).to.equal("Succeeded");
            expect(rollback.stages.map((s) => s.name)).to.deep.equal(["dev"]);
            expect(testedBundles(second).createProduct).to.not.equal(testedBundles(first).createProduct);
            expect(await liveCode("dev")).to.deep.equal(testedBundles(first));
        });

        it("never touched prod: no approval asked, same stack update and code", async () => {
            expect(approvals.length).to.equal(approvalsBefore);
            expect(await stackUpdated("prod")).to.equal(prodBefore.stack);
            expect(await liveCode("prod")).to.deep.equal(prodBefore.code);
        });

        it("published the execution-failed notification to the pipeline's topic", () => {
            const topic = notificationRule.targets![0].address;
            const failed = rehearsal.notifications.filter(
                (n) => n.eventTypeId === "codepipeline-pipeline-pipeline-execution-failed" && n.executionId === second.executionId,
            );
            expect(failed).to.have.length(1);
            expect(failed[0].targets).to.deep.equal([topic]);
            expect(failed[0].detail).to.deep.include({ failedStage: "dev" });
        });
    });
});
