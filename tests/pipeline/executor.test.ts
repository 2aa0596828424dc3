/**
 * The pipeline executor on a synthetic CodePipeline V2 pipeline in the shapes Pulumi registers (Source → Build →
 * Approve → Deploy), whose CodeBuild projects run tiny inline buildspecs: variables across namespaces, runOrder
 * parallelism, approvals, VariableCheck SKIP, rollback to the last successful execution, the CodeBuild-like
 * environment (Node 22, no moto in python3, the role's container credentials only), the project cache.
 * Builds make no AWS call here: the credentials are a fake session, checked only for where they come from.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ApprovalRequest, PipelineExecution, PipelineRehearsal } from "./executor";
import { ActionInputs, NotificationRuleInputs, PipelineInputs, ProjectInputs, SessionCredentials } from "./pulumi-shapes";
import { gitSource, SourceRevision } from "./source";

const ACCOUNT = "111111111111";
const REGION = "us-east-1";
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:pipeline-notifications`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

const project = (name: string, buildspec: string, variables: Record<string, string> = {}, cache = false): ProjectInputs => ({
    name,
    serviceRole: role(`${name}-role`),
    artifacts: { type: "CODEPIPELINE" },
    source: { type: "CODEPIPELINE", buildspec },
    environment: {
        type: "LINUX_CONTAINER",
        computeType: "BUILD_GENERAL1_SMALL",
        image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        environmentVariables: Object.entries(variables).map(([k, value]) => ({ name: k, value, type: "PLAINTEXT" })),
    },
    ...(cache ? { cache: { type: "S3", location: "artifact-bucket/codebuild-cache/build" } } : {}),
    buildTimeout: 5,
});

const codeBuild = (
    name: string,
    projectName: string,
    options: {
        runOrder?: number;
        inputs?: string[];
        outputs?: string[];
        namespace?: string;
        env?: Record<string, string>;
        category?: string;
    } = {},
): ActionInputs => ({
    name,
    category: options.category ?? "Build",
    owner: "AWS",
    provider: "CodeBuild",
    version: "1",
    runOrder: options.runOrder,
    namespace: options.namespace,
    inputArtifacts: options.inputs ?? ["source"],
    outputArtifacts: options.outputs,
    configuration: {
        ProjectName: projectName,
        ...(options.env
            ? {
                  EnvironmentVariables: JSON.stringify(
                      Object.entries(options.env).map(([k, value]) => ({ name: k, value, type: "PLAINTEXT" })),
                  ),
              }
            : {}),
    },
});

const sourceStage = {
    name: "Source",
    actions: [
        {
            name: "Source",
            category: "Source",
            owner: "AWS",
            provider: "CodeStarSourceConnection",
            version: "1",
            namespace: "SourceVariables",
            outputArtifacts: ["source"],
            configuration: {
                ConnectionArn: "arn:aws:codeconnections:us-east-1:111111111111:connection/x",
                FullRepositoryId: "acme/app",
                BranchName: "main",
            },
        },
    ],
};

const spec = (body: string) => `version: 0.2\nenv:\n  shell: bash\n${body}`;

describe("pipeline rehearsal: executor", function () {
    this.timeout(30_000);
    let root: string;
    let repository: string;
    let targetFile: string;
    const commits: Record<"good" | "broken", SourceRevision> = {} as never;
    const credentialRequests: string[] = [];
    const approvals: ApprovalRequest[] = [];
    let answer: "Approved" | "Rejected" = "Approved";
    let rehearsal: PipelineRehearsal;
    const executions: PipelineExecution[] = [];

    const fakeSession = async (roleArn: string): Promise<SessionCredentials> => {
        credentialRequests.push(roleArn);
        return {
            accessKeyId: `ASIA-${roleArn.split("/")[1]}`,
            secretAccessKey: "secret",
            sessionToken: "token",
            expiration: new Date(Date.now() + 3_600_000),
        };
    };

    const projects = () => [
        project(
            "lint",
            spec(`  exported-variables: [LINT_KEY, NODE_MAJOR]
phases:
  install:
    runtime-versions: { nodejs: 22 }
  build:
    commands:
      - sleep 0.6
      - export NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
      - test ! -e node_modules
      - "! python3 -c 'import moto' 2>/dev/null"
      - test -z "\${AWS_ACCESS_KEY_ID:-}" && test -z "\${AWS_PROFILE:-}"
      - grep -q -- '--endpoint-url' "$(command -v aws)"
      - export LINT_KEY="$(node -e 'fetch(process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI).then(r => r.json()).then(c => console.log(c.AccessKeyId))')"
`),
        ),
        project(
            "compile",
            spec(`  exported-variables: [VERSION, COMMIT, CACHE_ENTRIES]
phases:
  build:
    commands:
      - sleep 0.6
      - VERSION="$(cat version.txt)"
      - export VERSION
      - export COMMIT="$CODEBUILD_RESOLVED_SOURCE_VERSION"
      - touch "$HOME/.npm/seen-$CODEBUILD_BUILD_NUMBER"
      - export CACHE_ENTRIES="$(ls "$HOME/.npm" | wc -l)"
      - echo "built $VERSION" > built.txt
artifacts:
  files: ["**/*"]
cache:
  paths: ["/root/.npm/**/*"]
`),
            {},
            true,
        ),
        project(
            "package",
            spec(`  exported-variables: [PACKAGED]
phases:
  build:
    commands:
      - test "$(cat built.txt)" = "built $VERSION_FROM_PIPELINE"
      - export PACKAGED="v$VERSION_FROM_PIPELINE"
`),
        ),
        project(
            "deploy",
            spec(`  exported-variables: [DEPLOYED]
phases:
  build:
    commands:
      - echo "stage=$STAGE version=$(cat version.txt)" > "$TARGET_FILE"
      - export DEPLOYED="$(cat version.txt)"
`),
            { STAGE: "project-default", TARGET_FILE: targetFile },
        ),
        project(
            "smoke",
            spec(`phases:
  build:
    commands:
      - grep -q "version=$EXPECTED" "$TARGET_FILE"
      - test ! -f broken.flag
`),
            { TARGET_FILE: targetFile },
        ),
    ];

    const pipeline = (): PipelineInputs => ({
        name: "app-pipeline",
        pipelineType: "V2",
        executionMode: "QUEUED",
        roleArn: role("pipeline-role"),
        artifactStores: [{ type: "S3", location: "artifact-bucket" }],
        stages: [
            sourceStage,
            {
                name: "Build",
                actions: [
                    codeBuild("Lint", "lint", { runOrder: 1, namespace: "LintVars", category: "Test" }),
                    codeBuild("Compile", "compile", { runOrder: 1, namespace: "BuildVars", outputs: ["build"] }),
                    codeBuild("Package", "package", {
                        runOrder: 2,
                        inputs: ["build"],
                        namespace: "PackageVars",
                        env: { VERSION_FROM_PIPELINE: "#{BuildVars.VERSION}" },
                    }),
                ],
            },
            {
                name: "Approve",
                actions: [
                    {
                        name: "Approve",
                        category: "Approval",
                        owner: "AWS",
                        provider: "Manual",
                        version: "1",
                        configuration: {
                            NotificationArn: TOPIC,
                            CustomData: "Deploy #{SourceVariables.CommitId} (#{PackageVars.PACKAGED}) to dev?",
                            ExternalEntityLink: "https://console.example/#{SourceVariables.BranchName}",
                        },
                    },
                ],
            },
            {
                name: "Deploy",
                beforeEntry: {
                    condition: {
                        result: "SKIP",
                        rules: [
                            {
                                name: "MainOnly",
                                ruleTypeId: { category: "Rule", owner: "AWS", provider: "VariableCheck", version: "1" },
                                configuration: { Variable: "#{SourceVariables.BranchName}", Value: "main", Operator: "EQ" },
                            },
                        ],
                    },
                },
                onFailure: { result: "ROLLBACK" },
                actions: [
                    codeBuild("Deploy", "deploy", { runOrder: 1, inputs: ["build"], namespace: "DeployVars", env: { STAGE: "dev" } }),
                    codeBuild("SmokeTest", "smoke", {
                        runOrder: 2,
                        inputs: ["build"],
                        category: "Test",
                        env: { EXPECTED: "#{DeployVars.DEPLOYED}" },
                    }),
                ],
            },
        ],
    });

    const notificationRule: NotificationRuleInputs = {
        name: "app-pipeline",
        resource: `arn:aws:codepipeline:${REGION}:${ACCOUNT}:app-pipeline`,
        detailType: "FULL",
        eventTypeIds: [
            "codepipeline-pipeline-pipeline-execution-failed",
            "codepipeline-pipeline-pipeline-execution-succeeded",
            "codepipeline-pipeline-manual-approval-needed",
        ],
        targets: [{ type: "SNS", address: TOPIC }],
    };

    const newRehearsal = () =>
        new PipelineRehearsal({
            pipeline: pipeline(),
            projects: projects(),
            notificationRule,
            region: REGION,
            accountId: ACCOUNT,
            awsEndpoint: "http://127.0.0.1:9",
            credentialsFor: fakeSession,
            approve: (request) => {
                approvals.push(request);
                return { status: answer, summary: answer === "Rejected" ? "not today" : undefined };
            },
        });

    const source = (revision: SourceRevision, branch = "main"): SourceRevision => ({
        ...revision,
        variables: { ...revision.variables, BranchName: branch },
    });
    const stage = (e: PipelineExecution, name: string) => e.stages.find((s) => s.name === name);
    const action = (e: PipelineExecution, stageName: string, name: string) =>
        stage(e, stageName)?.actions.find((a) => a.actionName === name);
    const deployed = () => readFileSync(targetFile, "utf8").trim();

    before(() => {
        root = mkdtempSync(join(tmpdir(), "executor-test-"));
        targetFile = join(root, "dev-environment.txt");
        repository = join(root, "repo");
        mkdirSync(repository);
        const git = (...args: string[]) =>
            execFileSync("git", ["-C", repository, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { encoding: "utf8" });
        git("init", "-q", "-b", "main");
        writeFileSync(join(repository, "version.txt"), "1\n");
        git("add", ".");
        git("commit", "-q", "-m", "release 1");
        commits.good = gitSource({ repository, into: join(root, "commit-1"), branch: "main" });
        writeFileSync(join(repository, "version.txt"), "2\n");
        writeFileSync(join(repository, "broken.flag"), "");
        git("add", ".");
        git("commit", "-q", "-m", "release 2, broken");
        commits.broken = gitSource({ repository, into: join(root, "commit-2"), branch: "main" });
        rehearsal = newRehearsal();
    });
    after(async () => {
        await rehearsal?.dispose();
        rmSync(root, { recursive: true, force: true });
    });

    it("runs Source → Build → Approve → Deploy: variables across namespaces, parallel runOrder 1, approval showing resolved values", async () => {
        const started = Date.now();
        const e = await rehearsal.start({ sources: { Source: source(commits.good) } });
        executions.push(e);
        console.log(`      timing: first execution: ${Date.now() - started} ms`);
        expect(e.status, JSON.stringify(e.stages.map((s) => [s.name, s.status, s.message]))).to.equal("Succeeded");
        expect(e.stages.map((s) => `${s.name}:${s.status}`)).to.deep.equal([
            "Source:Succeeded",
            "Build:Succeeded",
            "Approve:Succeeded",
            "Deploy:Succeeded",
        ]);

        const [lint, compile, pack] = ["Lint", "Compile", "Package"].map((n) => action(e, "Build", n)!);
        // runOrder 1 ran side by side, runOrder 2 after both
        expect(lint.startedAt.getTime()).to.be.below(compile.finishedAt.getTime());
        expect(compile.startedAt.getTime()).to.be.below(lint.finishedAt.getTime());
        expect(pack.startedAt.getTime()).to.be.at.least(Math.max(lint.finishedAt.getTime(), compile.finishedAt.getTime()));

        expect(e.variables.SourceVariables.CommitId).to.equal(commits.good.variables.CommitId);
        expect(e.variables.BuildVars).to.deep.equal({ VERSION: "1", COMMIT: commits.good.variables.CommitId, CACHE_ENTRIES: "1" });
        expect(e.variables.PackageVars).to.deep.equal({ PACKAGED: "v1" });
        expect(pack.configuration!.EnvironmentVariables).to.equal('[{"name":"VERSION_FROM_PIPELINE","value":"1","type":"PLAINTEXT"}]');
        expect(approvals.at(-1)).to.include({
            pipelineName: "app-pipeline",
            stageName: "Approve",
            customData: `Deploy ${commits.good.variables.CommitId} (v1) to dev?`,
            externalEntityLink: "https://console.example/main",
            notificationArn: TOPIC,
        });
        // the action's STAGE overrides the project's; the smoke test read Deploy's exported variable
        expect(deployed()).to.equal("stage=dev version=1");
        expect(action(e, "Deploy", "SmokeTest")!.configuration!.EnvironmentVariables).to.include('"value":"1"');
        expect(rehearsal.notifications.filter((n) => n.executionId === e.executionId).map((n) => n.eventTypeId)).to.deep.equal([
            "codepipeline-pipeline-manual-approval-needed",
            "codepipeline-pipeline-pipeline-execution-succeeded",
        ]);
        expect(rehearsal.notifications.at(-1)!.targets).to.deep.equal([TOPIC]);
    });

    it("builds in CodeBuild's environment: Node 22, no node_modules, no moto in python3, only the project role's container credentials", () => {
        const lint = action(executions[0], "Build", "Lint")!;
        expect(lint.status, lint.build?.log).to.equal("Succeeded");
        expect(lint.outputVariables).to.deep.equal({ NODE_MAJOR: "22", LINT_KEY: "ASIA-lint-role" });
        expect(lint.build!.credentialRequests).to.equal(1);
        expect(credentialRequests).to.include.members([role("lint-role"), role("compile-role"), role("deploy-role")]);
        expect(lint.build!.buildId).to.match(/^lint:[0-9a-f-]{36}$/);
    });

    it("a rejected approval fails the execution before Deploy, and notifies it", async () => {
        answer = "Rejected";
        const e = await rehearsal.start({ sources: { Source: source(commits.broken) } });
        answer = "Approved";
        executions.push(e);
        expect(e.status).to.equal("Failed");
        expect(e.stages.map((s) => `${s.name}:${s.status}`)).to.deep.equal(["Source:Succeeded", "Build:Succeeded", "Approve:Failed"]);
        expect(stage(e, "Approve")!.message).to.equal("action Approve failed: rejected: not today");
        expect(deployed()).to.equal("stage=dev version=1");
        const events = rehearsal.notifications.filter((n) => n.executionId === e.executionId);
        expect(events.map((n) => n.eventTypeId)).to.deep.equal([
            "codepipeline-pipeline-manual-approval-needed",
            "codepipeline-pipeline-pipeline-execution-failed",
        ]);
        expect(events[1].detail).to.deep.equal({ failedStage: "Approve", message: "action Approve failed: rejected: not today" });
    });

    it("keeps the project's cache between builds", () => {
        expect(executions[1].variables.BuildVars.CACHE_ENTRIES).to.equal("2");
    });

    it("rolls a failed stage back to the last successful execution's artifacts and variables; the execution still fails", async () => {
        const e = await rehearsal.start({ sources: { Source: source(commits.broken) } });
        expect(e.status).to.equal("Failed");
        const failedStage = stage(e, "Deploy")!;
        expect(failedStage.status).to.equal("Failed");
        expect(failedStage.message).to.match(
            /^action SmokeTest failed: build smoke:[0-9a-f-]+ failed in BUILD: Error while executing command: test ! -f broken.flag/,
        );
        const rollback = e.rollback!;
        expect(rollback).to.include({ type: "ROLLBACK", status: "Succeeded", rollbackTargetExecutionId: executions[0].executionId });
        expect(rollback.stages.map((s) => `${s.name}:${s.status}`)).to.deep.equal(["Deploy:Succeeded"]);
        expect(rollback.variables.SourceVariables.CommitId).to.equal(commits.good.variables.CommitId);
        expect(rollback.variables.DeployVars).to.deep.equal({ DEPLOYED: "1" });
        expect(deployed()).to.equal("stage=dev version=1");
        expect(rehearsal.history.slice(-2).map((h) => h.type)).to.deep.equal(["STANDARD", "ROLLBACK"]);
        expect(
            rehearsal.notifications.filter((n) => n.executionId === rollback.executionId).map((n) => [n.eventTypeId, n.executionType]),
        ).to.deep.equal([["codepipeline-pipeline-pipeline-execution-succeeded", "ROLLBACK"]]);
    });

    it("skips a stage whose VariableCheck entry condition with result SKIP is not met; the execution succeeds", async () => {
        const e = await rehearsal.start({ sources: { Source: source(commits.broken, "feature/x") } });
        expect(e.status).to.equal("Succeeded");
        const skipped = stage(e, "Deploy")!;
        expect(skipped).to.include({ status: "Skipped" });
        expect(skipped.actions).to.deep.equal([]);
        expect(skipped.entryCondition!.rules).to.deep.equal([
            { rule: "MainOnly", passed: false, detail: '#{SourceVariables.BranchName} = "feature/x" EQ "main": not met' },
        ]);
        expect(deployed()).to.equal("stage=dev version=1");
    });

    it("does not roll back a stage that never succeeded: the failed build stays, the execution fails", async () => {
        const fresh = newRehearsal();
        try {
            const e = await fresh.start({ sources: { Source: source(commits.broken) } });
            expect(e.status).to.equal("Failed");
            expect(stage(e, "Deploy")!.status).to.equal("Failed");
            expect(e.rollback).to.equal(undefined);
            expect(fresh.history).to.have.length(1);
            expect(deployed()).to.equal("stage=dev version=2");
        } finally {
            await fresh.dispose();
        }
    });

    it("fails an action whose variable cannot be resolved, with CodePipeline's message", async () => {
        const broken = pipeline();
        broken.stages[1] = {
            name: "Build",
            actions: [
                codeBuild("Compile", "compile", {
                    namespace: "BuildVars",
                    outputs: ["build"],
                    env: { X: "#{SourceVariables.NoSuchVariable}" },
                }),
            ],
        };
        const small = new PipelineRehearsal({ ...newRehearsalOptions(), pipeline: { ...broken, stages: broken.stages.slice(0, 2) } });
        try {
            const e = await small.start({ sources: { Source: source(commits.good) } });
            expect(e.status).to.equal("Failed");
            expect(action(e, "Build", "Compile")!.message).to.equal(
                "An action in this pipeline failed because one or more variables could not be resolved: Action name=Compile: " +
                    "#{SourceVariables.NoSuchVariable} (no variable NoSuchVariable in namespace SourceVariables)",
            );
        } finally {
            await small.dispose();
        }
    });

    it("seeds a cached project's npm cache once from npmCacheSeed; later actions see output variables as mapOutputVariables maps them", async () => {
        const seed = join(root, "machine-npm");
        const content = join(seed, "_cacache", "content-v2", "sha512", "ab", "cd");
        const index = join(seed, "_cacache", "index-v5", "12", "34");
        for (const file of [content, index]) {
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, "cached");
        }
        const options = newRehearsalOptions();
        const small = new PipelineRehearsal({
            ...options,
            pipeline: { ...options.pipeline, stages: options.pipeline.stages.slice(0, 3) },
            npmCacheSeed: seed,
            approve: (request) => {
                approvals.push(request);
                return { status: "Approved" };
            },
            mapOutputVariables: ({ namespace }, variables) =>
                namespace === "PackageVars" ? { PACKAGED: `${variables.PACKAGED}-mapped` } : variables,
        });
        try {
            const e = await small.start({ sources: { Source: source(commits.good) } });
            expect(e.status).to.equal("Succeeded");
            // the build saw the seeded cache (_cacache) beside its own entry
            expect(e.variables.BuildVars.CACHE_ENTRIES).to.equal("2");
            const kept = join(small.workDir, "cache", "compile", "root", ".npm", "_cacache");
            expect(statSync(join(kept, "content-v2", "sha512", "ab", "cd")).ino).to.equal(statSync(content).ino);
            expect(statSync(join(kept, "index-v5", "12", "34")).ino).to.not.equal(statSync(index).ino);
            expect(action(e, "Build", "Package")!.outputVariables).to.deep.equal({ PACKAGED: "v1" });
            expect(e.variables.PackageVars).to.deep.equal({ PACKAGED: "v1-mapped" });
            expect(approvals.at(-1)!.customData).to.equal(`Deploy ${commits.good.variables.CommitId} (v1-mapped) to dev?`);
        } finally {
            await small.dispose();
        }
    });

    it("refuses, before running anything, a pipeline it cannot run as CodePipeline would", () => {
        const bad = pipeline();
        bad.stages[3].actions.push({
            name: "CfnDeploy",
            category: "Deploy",
            owner: "AWS",
            provider: "CloudFormation",
            version: "1",
            runOrder: 3,
            inputArtifacts: ["nothing"],
            configuration: { StackName: "#{Nowhere.Name}" },
        });
        expect(() => new PipelineRehearsal({ ...newRehearsalOptions(), pipeline: bad })).to.throw(
            "pipeline app-pipeline cannot be rehearsed:\n" +
                "  stage Deploy action CfnDeploy: Deploy/AWS/CloudFormation/1 actions are not modelled (Source, CodeBuild, Manual approval)\n" +
                "  stage Deploy action CfnDeploy: #{Nowhere.Name} names no namespace of an earlier action\n" +
                "  stage Deploy action CfnDeploy: input artifact nothing is not produced by an earlier action",
        );
    });

    function newRehearsalOptions() {
        return {
            pipeline: pipeline(),
            projects: projects(),
            region: REGION,
            accountId: ACCOUNT,
            awsEndpoint: "http://127.0.0.1:9",
            credentialsFor: fakeSession,
        };
    }
});
