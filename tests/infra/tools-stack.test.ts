// The tools stack, evaluated from index.ts with the shipped Pulumi.tools.yaml under Pulumi's mock runtime.
// Its stack references return what the target stacks themselves exported when evaluated from
// Pulumi.target.yaml and Pulumi.target-prod.yaml (tests/helpers/shipped-stacks.ts): no ARN is typed twice.

import { expect } from "chai";
import { ConfigError } from "../../config";
import { allowedActions, expectLeastPrivilege, list, statement } from "../helpers/iam";
import { MockCloud, policyDocument, runStack, TOOLS_ACCOUNT } from "../helpers/pulumi-mocks";
import { PROD_ACCOUNT, PULUMI_CLI_SHA256_EXAMPLE, shippedStacks, syntheticStages } from "../helpers/shipped-stacks";
import { loadStackFile, ROOT } from "../helpers/stack-files";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DRIFT_CHECK_FILES } from "../../components/drift-detection";

const DEV_STACK = "acme/serverless-cross-account-cicd/target";
const PROD_STACK = "acme/serverless-cross-account-cicd/target-prod";

async function runTools(config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>>) {
    return runStack({
        stack: "tools",
        accountId: TOOLS_ACCOUNT,
        config: { ...loadStackFile("Pulumi.tools.yaml"), ...config },
        stackOutputs,
    });
}

const envOf = (action: any): Record<string, string> =>
    Object.fromEntries(JSON.parse(action.configuration.EnvironmentVariables).map((v: any) => [v.name, v.value]));

describe("tools stack (index.ts, Pulumi.tools.yaml)", () => {
    let target: Record<string, string>;
    let prod: Record<string, string>;
    let shippedTargets: Record<string, Record<string, string>>;
    let cloud: MockCloud;
    let outputs: Record<string, any>;

    before(async () => {
        const shipped = await shippedStacks();
        target = shipped.targets[DEV_STACK].outputs;
        prod = shipped.targets[PROD_STACK].outputs;
        shippedTargets = { [DEV_STACK]: target, [PROD_STACK]: prod };
        ({ cloud, outputs } = shipped.tools);
    });

    const stageNamed = (name: string) => pipeline().stages.find((s: any) => s.name === name);
    const action = (stage: string, name: string) => stageNamed(stage).actions.find((a: any) => a.name === name);
    const roleDoc = (c: MockCloud, role: { id: string }) =>
        policyDocument(c.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);

    const pipeline = () => cloud.one("aws:codepipeline/pipeline:Pipeline").inputs;

    it("reads each target through a stack reference named in config", () => {
        expect(cloud.ofType("pulumi:pulumi:StackReference").map((r) => r.inputs.name)).to.deep.equal([DEV_STACK, PROD_STACK]);
        expect(outputs.stages).to.deep.equal(["dev", "prod"]);
        expect(outputs.buildRoleArn).to.equal(target.trustedBuildRoleArn).and.equal(prod.trustedBuildRoleArn);
    });

    it("exports the clone URL, pipeline, build role, artifact bucket and notification topic", () => {
        expect(outputs.notificationTopicArn).to.equal(cloud.one("aws:sns/topic:Topic").state.arn);
        expect(outputs.cloneUrlHttp).to.equal("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/product-catalog-service");
        expect(outputs.pipelineName).to.equal("product-catalog-service-pipeline");
        expect(outputs.buildRoleArn).to.equal("arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build");
        expect(outputs.artifactBucketName).to.equal(cloud.one("aws:s3/bucket:Bucket").state.bucket);
    });

    describe("artifact store", () => {
        it("uses a customer-managed key with rotation", () => {
            const key = cloud.one("aws:kms/key:Key").inputs;
            expect(key.enableKeyRotation).to.equal(true);
            expect(key.deletionWindowInDays).to.equal(30);
            const [account, notifications] = JSON.parse(key.policy).Statement;
            expect(account.Principal).to.deep.equal({ AWS: `arn:aws:iam::${TOOLS_ACCOUNT}:root` });
            expect(notifications.Principal).to.deep.equal({ Service: "codestar-notifications.amazonaws.com" });
            expect(notifications.Condition).to.deep.equal({
                StringEquals: { "kms:ViaService": "sns.us-east-1.amazonaws.com", "aws:SourceAccount": TOOLS_ACCOUNT },
            });
        });

        it("encrypts the bucket with that key and hardens it", () => {
            const bucketId = cloud.one("aws:s3/bucket:Bucket").id;
            const of = (type: string) => cloud.ofType(type).find((r) => r.inputs.bucket === bucketId)!.inputs;
            const keyArn = cloud.one("aws:kms/key:Key").state.arn;
            expect(of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules[0]).to.deep.equal({
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
                bucketKeyEnabled: true,
            });
            expect(of("aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration.status).to.equal("Enabled");
            expect(of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").restrictPublicBuckets).to.equal(true);
            expect(of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0].noncurrentVersionExpiration).to.be.an(
                "object",
            );
            expect(policyDocument(of("aws:s3/bucketPolicy:BucketPolicy").policy).Statement[0].Condition).to.deep.equal({
                Bool: { "aws:SecureTransport": "false" },
            });
        });

        it("is the pipeline's encrypted artifact store", () => {
            expect(pipeline().artifactStores).to.deep.equal([
                {
                    type: "S3",
                    location: outputs.artifactBucketName,
                    encryptionKey: { type: "KMS", id: cloud.one("aws:kms/key:Key").state.arn },
                },
            ]);
        });
    });

    describe("build projects", () => {
        const projectNamed = (name: string) => cloud.ofType("aws:codebuild/project:Project").find((p) => p.inputs.name === name)!.inputs;

        for (const [project, buildspec] of [
            ["product-catalog-service-test", "buildspec-test.yml"],
            ["product-catalog-service-deploy", "buildspec.yml"],
            ["product-catalog-service-smoke-test", "buildspec-smoke.yml"],
        ]) {
            it(`${project}: Node.js 22 image, small, unprivileged, its own log group, npm cache, ${buildspec}`, () => {
                const p = projectNamed(project);
                expect(p.environment).to.include({
                    image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                    computeType: "BUILD_GENERAL1_SMALL",
                    privilegedMode: false,
                    type: "LINUX_CONTAINER",
                });
                expect(p.source).to.deep.equal({ type: "CODEPIPELINE", buildspec });
                expect(p.encryptionKey).to.equal(cloud.one("aws:kms/key:Key").state.arn);
                expect(p.buildTimeout).to.be.within(5, 60);
                expect(p.cache.type).to.equal("S3");
                expect(p.cache.location).to.match(new RegExp(`^${outputs.artifactBucketName}/codebuild-cache/`));
                const logGroup = cloud
                    .ofType("aws:cloudwatch/logGroup:LogGroup")
                    .find((g) => g.inputs.name === `/aws/codebuild/${project}`)!;
                expect(logGroup.inputs.retentionInDays).to.equal(30);
                expect(p.logsConfig.cloudwatchLogs).to.deep.equal({ status: "ENABLED", groupName: logGroup.inputs.name });
            });
        }

        it("only the deploy project runs as the build role the targets trust", () => {
            const buildRole = cloud.one("aws:iam/role:Role", "build-role");
            const ciRole = cloud.one("aws:iam/role:Role", "ci-role");
            expect(projectNamed("product-catalog-service-deploy").serviceRole).to.equal(buildRole.state.arn);
            expect(projectNamed("product-catalog-service-test").serviceRole).to.equal(ciRole.state.arn);
            expect(projectNamed("product-catalog-service-smoke-test").serviceRole).to.equal(ciRole.state.arn);
        });

        it("build role has the name the targets trust, trusted only by CodeBuild in this account", () => {
            const role = cloud.one("aws:iam/role:Role", "build-role");
            expect(role.inputs.name).to.equal("product-catalog-service-pipeline-build");
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement).to.deep.equal([
                {
                    Effect: "Allow",
                    Principal: { Service: "codebuild.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": TOOLS_ACCOUNT } },
                },
            ]);
        });

        it("build role may assume exactly the configured targets' deploy roles and touch only its logs, artifacts and key", () => {
            const doc = roleDoc(cloud, cloud.one("aws:iam/role:Role", "build-role"));
            expectLeastPrivilege(doc);
            expect(statement(doc, "AssumeTargetDeployRoles")).to.deep.include({
                Action: "sts:AssumeRole",
                Resource: [target.deployRoleArn, prod.deployRoleArn],
            });
            const logGroupArn = cloud.one("aws:cloudwatch/logGroup:LogGroup", "deploy-logs").state.arn;
            expect(statement(doc, "BuildLogs").Resource).to.deep.equal([logGroupArn, `${logGroupArn}:*`]);
            const bucketArn = cloud.one("aws:s3/bucket:Bucket").state.arn;
            expect(statement(doc, "Artifacts").Resource).to.equal(`${bucketArn}/*`);
            expect(statement(doc, "ArtifactKey").Resource).to.equal(cloud.one("aws:kms/key:Key").state.arn);
            expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal([
                "BuildLogs",
                "ArtifactBucket",
                "Artifacts",
                "ArtifactKey",
                "AssumeTargetDeployRoles",
            ]);
        });

        it("test and smoke-test role assumes nothing and writes only its logs, artifacts and test reports", () => {
            const doc = roleDoc(cloud, cloud.one("aws:iam/role:Role", "ci-role"));
            expectLeastPrivilege(doc);
            expect(allowedActions(doc).filter((a) => a.startsWith("sts:"))).to.deep.equal([]);
            expect(statement(doc, "TestReports").Resource).to.deep.equal([cloud.one("aws:codebuild/reportGroup:ReportGroup").state.arn]);
            expect(list(statement(doc, "BuildLogs").Resource)).to.have.length(4);
        });

        it("collects the mocha results in a report group the test project's buildspec names", () => {
            const group = cloud.one("aws:codebuild/reportGroup:ReportGroup").inputs;
            expect(group).to.deep.include({ name: "product-catalog-service-test-mocha", type: "TEST" });
        });
    });

    describe("pipeline", () => {
        it("is a V2 pipeline that queues executions", () => {
            expect(pipeline()).to.include({ pipelineType: "V2", executionMode: "QUEUED", name: "product-catalog-service-pipeline" });
        });

        it("runs Source, Test, then each target in order, an approval stage before the one that asks for it", () => {
            expect(pipeline().stages.map((s: any) => s.name)).to.deep.equal(["Source", "Test", "dev", "Approve-prod", "prod"]);
            for (const stage of ["dev", "prod"]) {
                expect(stageNamed(stage).actions.map((a: any) => `${a.runOrder}:${a.name}`)).to.deep.equal(["1:Deploy", "2:SmokeTest"]);
            }
            expect(stageNamed("Approve-prod").actions.map((a: any) => a.name)).to.deep.equal(["Approve"]);
        });

        it("rolls a failed stage back to its last successful execution, never an approval stage", () => {
            expect(stageNamed("dev").onFailure).to.deep.equal({ result: "ROLLBACK" });
            expect(stageNamed("prod").onFailure).to.deep.equal({ result: "ROLLBACK" });
            for (const stage of ["Source", "Test", "Approve-prod"]) expect(stageNamed(stage).onFailure, stage).to.equal(undefined);
        });

        it("leaves a stage that opts out to fail and stop", async () => {
            const { stages } = JSON.parse(
                JSON.stringify({ stages: loadStackFile("Pulumi.tools.yaml")["serverless-cross-account-cicd:stages"] }),
            );
            stages[1].rollbackOnFailure = false;
            const { cloud: c } = await runTools({ stages }, shippedTargets);
            const byName = (n: string) => c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages.find((s: any) => s.name === n);
            expect(byName("dev").onFailure).to.deep.equal({ result: "ROLLBACK" });
            expect(byName("prod").onFailure).to.equal(undefined);
        });

        it("deploys the artifact the Test stage built: what was tested is what ships", () => {
            const [source] = stageNamed("Source").actions;
            expect(source).to.deep.include({ category: "Source", provider: "CodeCommit", outputArtifacts: ["source"] });
            expect(source.configuration).to.deep.equal({
                RepositoryName: "product-catalog-service",
                BranchName: "main",
                PollForSourceChanges: "false",
                OutputArtifactFormat: "CODE_ZIP",
            });
            const [test] = stageNamed("Test").actions;
            expect(test).to.deep.include({ provider: "CodeBuild", inputArtifacts: ["source"], outputArtifacts: ["build"] });
            expect(test.configuration.ProjectName).to.equal("product-catalog-service-test");
            for (const stage of ["dev", "prod"]) {
                expect(action(stage, "Deploy").inputArtifacts).to.deep.equal(["build"]);
                expect(action(stage, "SmokeTest").inputArtifacts).to.deep.equal(["build"]);
                expect(action(stage, "Deploy").configuration.ProjectName).to.equal("product-catalog-service-deploy");
            }
        });

        it("gives each Deploy action its target's environment from that target's stack reference", () => {
            for (const [stage, t] of [
                ["dev", target],
                ["prod", prod],
            ] as const) {
                const deploy = action(stage, "Deploy");
                expect(deploy.namespace).to.equal(`Deploy-${stage}`);
                expect(envOf(deploy)).to.deep.equal({
                    STAGE: stage,
                    SERVICE_NAME: "product-catalog-service",
                    TARGET_ACCOUNT_ID: t.accountId,
                    TARGET_REGION: t.region,
                    DEPLOY_ROLE_ARN: t.deployRoleArn,
                    CFN_EXECUTION_ROLE_ARN: t.cfnExecutionRoleArn,
                    DEPLOYMENT_BUCKET: t.deploymentBucketName,
                    PERMISSIONS_BOUNDARY_ARN: t.permissionsBoundaryArn,
                });
            }
            expect(envOf(action("prod", "Deploy")).TARGET_ACCOUNT_ID).to.equal(PROD_ACCOUNT);
        });

        it("smoke-tests each stage at the URL its Deploy exported, read-only in production", () => {
            expect(envOf(action("dev", "SmokeTest"))).to.deep.equal({
                STAGE: "dev",
                SMOKE_TEST_MODE: "full",
                API_URL: "#{Deploy-dev.API_URL}",
            });
            expect(envOf(action("prod", "SmokeTest"))).to.deep.equal({
                STAGE: "prod",
                SMOKE_TEST_MODE: "read-only",
                API_URL: "#{Deploy-prod.API_URL}",
            });
            expect(action("dev", "SmokeTest").configuration.ProjectName).to.equal("product-catalog-service-smoke-test");
        });

        it("asks for approval on the topic, showing the URL of the stage just verified", () => {
            const approve = action("Approve-prod", "Approve");
            expect(approve).to.deep.include({ category: "Approval", provider: "Manual", owner: "AWS" });
            expect(approve.configuration.NotificationArn).to.equal(outputs.notificationTopicArn);
            expect(approve.configuration.ExternalEntityLink).to.equal("#{Deploy-dev.API_URL}");
            expect(approve.configuration.CustomData).to.contain("#{SourceVariables.CommitId}").and.contain("dev's smoke test");
        });

        it("pipeline role reads the repository, runs the projects, publishes approvals and uses the artifact store", () => {
            const role = cloud.one("aws:iam/role:Role", "pipeline-role");
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({
                Service: "codepipeline.amazonaws.com",
            });
            const doc = roleDoc(cloud, role);
            expectLeastPrivilege(doc);
            expect(statement(doc, "RunBuilds").Resource).to.have.members(
                ["test", "deploy", "smoke-test"].map(
                    (p) => `arn:aws:codebuild:us-east-1:${TOOLS_ACCOUNT}:project/product-catalog-service-${p}`,
                ),
            );
            expect(statement(doc, "SourceRepository").Resource).to.equal(cloud.one("aws:codecommit/repository:Repository").state.arn);
            expect(statement(doc, "ApprovalNotifications")).to.deep.include({
                Action: "sns:Publish",
                Resource: outputs.notificationTopicArn,
            });
        });
    });

    describe("notifications", () => {
        it("go to an encrypted topic that only CodeStar Notifications of this account may publish to", () => {
            const topic = cloud.one("aws:sns/topic:Topic");
            expect(topic.inputs.kmsMasterKeyId).to.equal(cloud.one("aws:kms/key:Key").state.arn);
            const policy = policyDocument(cloud.one("aws:sns/topicPolicy:TopicPolicy").inputs.policy);
            expect(policy.Statement).to.deep.equal([
                {
                    Sid: "CodeStarNotificationsOnly",
                    Effect: "Allow",
                    Principal: { Service: "codestar-notifications.amazonaws.com" },
                    Action: "sns:Publish",
                    Resource: topic.state.arn,
                    Condition: { StringEquals: { "aws:SourceAccount": TOOLS_ACCOUNT } },
                },
            ]);
        });

        it("cover failed and succeeded runs and pending approvals of this pipeline", () => {
            const rule = cloud.one("aws:codestarnotifications/notificationRule:NotificationRule").inputs;
            expect(rule.resource).to.equal(cloud.one("aws:codepipeline/pipeline:Pipeline").state.arn);
            expect(rule.eventTypeIds).to.have.members([
                "codepipeline-pipeline-pipeline-execution-failed",
                "codepipeline-pipeline-pipeline-execution-succeeded",
                "codepipeline-pipeline-manual-approval-needed",
            ]);
            expect(rule.targets).to.deep.equal([{ type: "SNS", address: outputs.notificationTopicArn }]);
        });

        it("subscribes the configured e-mail addresses", async () => {
            const { cloud: c } = await runTools({ notificationEmails: ["team@example.com", "oncall@example.com"] }, shippedTargets);
            expect(
                c.ofType("aws:sns/topicSubscription:TopicSubscription").map((s) => [s.inputs.protocol, s.inputs.endpoint]),
            ).to.deep.equal([
                ["email", "team@example.com"],
                ["email", "oncall@example.com"],
            ]);
            expect(cloud.ofType("aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
        });
    });

    describe("trigger", () => {
        it("starts on pushes to the configured branch of this repository only", () => {
            const rule = cloud.one("aws:cloudwatch/eventRule:EventRule", "push-rule").inputs;
            expect(JSON.parse(rule.eventPattern)).to.deep.equal({
                source: ["aws.codecommit"],
                "detail-type": ["CodeCommit Repository State Change"],
                resources: [cloud.one("aws:codecommit/repository:Repository").state.arn],
                detail: { event: ["referenceCreated", "referenceUpdated"], referenceType: ["branch"], referenceName: ["main"] },
            });
        });

        it("uses a role that may start this pipeline and nothing else", () => {
            const target = cloud.one("aws:cloudwatch/eventTarget:EventTarget", "push-rule-target").inputs;
            const pipelineArn = cloud.one("aws:codepipeline/pipeline:Pipeline").state.arn;
            expect(target.arn).to.equal(pipelineArn);
            const role = cloud.ofType("aws:iam/role:Role").find((r) => r.state.arn === target.roleArn)!;
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "events.amazonaws.com" });
            const doc = policyDocument(cloud.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);
            expect(doc.Statement).to.deep.equal([
                { Sid: "StartThisPipeline", Effect: "Allow", Action: "codepipeline:StartPipelineExecution", Resource: pipelineArn },
            ]);
        });
    });

    describe("a CodeConnections source", () => {
        const connectionArn = "arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b2c3d-1111-2222-3333-444455556666";
        let c: MockCloud;
        before(async () => {
            ({ cloud: c } = await runTools(
                {
                    sourceKind: "codeconnections",
                    connectionArn,
                    fullRepositoryId: "acme/product-catalog",
                    triggerFilePaths: ["functions/**", "serverless.yml"],
                },
                shippedTargets,
            ));
        });

        it("reads the repository through the connection", () => {
            const p = c.one("aws:codepipeline/pipeline:Pipeline").inputs;
            const [source] = p.stages[0].actions;
            expect(source).to.deep.include({ provider: "CodeStarSourceConnection", outputArtifacts: ["source"] });
            expect(source.configuration).to.deep.equal({
                ConnectionArn: connectionArn,
                FullRepositoryId: "acme/product-catalog",
                BranchName: "main",
                OutputArtifactFormat: "CODE_ZIP",
                DetectChanges: "false",
            });
            const doc = roleDoc(c, c.one("aws:iam/role:Role", "pipeline-role"));
            expect(statement(doc, "SourceConnection")).to.deep.include({
                Action: "codeconnections:UseConnection",
                Resource: connectionArn,
            });
        });

        it("starts on pushes to the branch that touch the configured paths, with no EventBridge rule", () => {
            expect(c.one("aws:codepipeline/pipeline:Pipeline").inputs.triggers).to.deep.equal([
                {
                    providerType: "CodeStarSourceConnection",
                    gitConfiguration: {
                        sourceActionName: "Source",
                        pushes: [{ branches: { includes: ["main"] }, filePaths: { includes: ["functions/**", "serverless.yml"] } }],
                    },
                },
            ]);
            expect(c.ofType("aws:cloudwatch/eventRule:EventRule").map((r) => r.name)).to.deep.equal(["drift-schedule"]);
            expect(c.ofType("aws:codecommit/repository:Repository")).to.have.length(0);
        });
    });

    describe("scale: one target or twenty, same code", () => {
        async function toolsWith(n: number) {
            const { stages, stackOutputs } = syntheticStages(n, target);
            const started = Date.now();
            const { cloud: c } = await runTools({ stages }, stackOutputs);
            return { c, ms: Date.now() - started };
        }

        it("grows by the same number of resources per stage (1, 2, 20 stages) and stays fast under mocks", async function () {
            this.timeout(60_000);
            const runs = [];
            for (const n of [1, 2, 20]) runs.push({ n, ...(await toolsWith(n)) });
            const counts = runs.map((r) => r.c.resources.length);
            const perStage = (counts[1] - counts[0]) / 1;
            expect(perStage).to.equal(1); // one StackReference per stage; everything else is shared
            expect(counts[2] - counts[0]).to.equal(19 * perStage);
            const twenty = runs[2].c;
            const p = twenty.one("aws:codepipeline/pipeline:Pipeline").inputs;
            // stage s0 deploys directly; s1..s19 ask for an approval, each in a stage of its own
            expect(p.stages).to.have.length(2 + 20 + 19);
            expect(p.stages.slice(2).map((s: any) => s.name)).to.deep.equal(
                Array.from({ length: 20 }, (_, i) => (i === 0 ? ["s0"] : [`Approve-s${i}`, `s${i}`])).flat(),
            );
            const doc = roleDoc(twenty, twenty.one("aws:iam/role:Role", "build-role"));
            expect(statement(doc, "AssumeTargetDeployRoles").Resource).to.have.length(20);
            const drift = roleDoc(twenty, twenty.one("aws:iam/role:Role", "drift-role"));
            expect(statement(drift, "AssumeTargetDeployRoles").Resource).to.have.length(20);
            // Generous bound against pathological growth; the benchmark (npm run bench) measures it properly.
            expect(runs[2].ms).to.be.below(15_000);
            console.log(`      resources for 1/2/20 stages: ${counts.join("/")}; ms: ${runs.map((r) => r.ms).join("/")}`);
        });
    });

    describe("drift detection (driftSchedule, default daily)", () => {
        const driftProject = (c: MockCloud) =>
            c.ofType("aws:codebuild/project:Project").find((p) => p.inputs.name === "product-catalog-service-drift");

        it("a daily schedule starts the drift-check project, through a role that may start that project only", () => {
            const rule = cloud.one("aws:cloudwatch/eventRule:EventRule", "drift-schedule").inputs;
            expect(rule).to.include({ name: "product-catalog-service-drift-check", scheduleExpression: "rate(1 day)" });
            const target = cloud.one("aws:cloudwatch/eventTarget:EventTarget", "drift-schedule-target").inputs;
            const project = driftProject(cloud)!;
            expect(target.arn).to.equal(project.state.arn);
            const role = cloud.ofType("aws:iam/role:Role").find((r) => r.state.arn === target.roleArn)!;
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "events.amazonaws.com" });
            expect(roleDoc(cloud, role).Statement).to.deep.equal([
                { Sid: "StartThisBuild", Effect: "Allow", Action: "codebuild:StartBuild", Resource: project.state.arn },
            ]);
        });

        it("the project runs this repository's drift check against every target, and publishes to the pipeline's topic", () => {
            const p = driftProject(cloud)!.inputs;
            const env = Object.fromEntries(p.environment.environmentVariables.map((v: any) => [v.name, v.value]));
            expect(env.NOTIFICATION_TOPIC_ARN).to.equal(outputs.notificationTopicArn);
            expect(JSON.parse(env.DRIFT_TARGETS)).to.deep.equal(
                [target, prod].map((t) => ({ stage: t.stage, accountId: t.accountId, region: t.region, deployRoleArn: t.deployRoleArn })),
            );
            expect(p.environment).to.include({ privilegedMode: false, image: "aws/codebuild/amazonlinux-x86_64-standard:5.0" });
            const source = cloud.one("aws:s3/bucketObjectv2:BucketObjectv2", "drift-source");
            expect(source.inputs).to.include({ bucket: outputs.artifactBucketName, key: "drift-check/source.zip" });
            expect(p.source).to.deep.equal({ type: "S3", location: `${outputs.artifactBucketName}/drift-check/source.zip` });
            // The archive is built from DRIFT_CHECK_FILES (the mocks do not record an archive's contents): the
            // repository's own buildspec and scripts, which tests/drift runs.
            expect(source.inputs.source.__pulumiArchive).to.equal(true);
            expect(DRIFT_CHECK_FILES).to.deep.equal({
                "buildspec.yml": "buildspec-drift.yml",
                "scripts/drift-check.mjs": "scripts/drift-check.mjs",
                "scripts/assume-deploy-role.sh": "scripts/assume-deploy-role.sh",
            });
            for (const file of Object.values(DRIFT_CHECK_FILES)) expect(existsSync(join(ROOT, file)), file).to.equal(true);
            expect(outputs.driftCheckProject).to.equal("product-catalog-service-drift");
        });

        it("its role, named as the targets trust it, may assume the deploy roles and publish to the topic, nothing else", () => {
            const role = cloud.one("aws:iam/role:Role", "drift-role");
            expect(role.inputs.name).to.equal("product-catalog-service-pipeline-build-drift");
            expect(driftProject(cloud)!.inputs.serviceRole).to.equal(role.state.arn);
            const doc = roleDoc(cloud, role);
            expectLeastPrivilege(doc);
            expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal([
                "BuildLogs",
                "DriftCheckSourceBucket",
                "DriftCheckSource",
                "AssumeTargetDeployRoles",
                "PublishDrift",
                "PipelineKey",
            ]);
            expect(statement(doc, "AssumeTargetDeployRoles").Resource).to.deep.equal([target.deployRoleArn, prod.deployRoleArn]);
            expect(statement(doc, "PublishDrift").Resource).to.equal(outputs.notificationTopicArn);
            expect(statement(doc, "DriftCheckSource").Resource).to.equal(
                `${cloud.one("aws:s3/bucket:Bucket").state.arn}/drift-check/source.zip`,
            );
            expect(allowedActions(doc).filter((a) => /^(cloudformation|codebuild|codepipeline|iam):/.test(a))).to.deep.equal([]);
        });

        it("a schedule expression is used as given", async () => {
            const { cloud: c } = await runTools({ driftSchedule: "cron(0 6 ? * MON-FRI *)" }, shippedTargets);
            expect(c.one("aws:cloudwatch/eventRule:EventRule", "drift-schedule").inputs.scheduleExpression).to.equal(
                "cron(0 6 ? * MON-FRI *)",
            );
        });

        it("off: no project, schedule, role or source archive", async () => {
            const { cloud: c, outputs: o } = await runTools({ driftSchedule: "off" }, shippedTargets);
            expect(c.resources.filter((r) => r.name.startsWith("drift")).map((r) => r.name)).to.deep.equal([]);
            expect(driftProject(c)).to.equal(undefined);
            expect(o.driftCheckProject).to.equal("off");
            expect(c.resources.length).to.equal(cloud.resources.length - cloud.resources.filter((r) => r.name.startsWith("drift")).length);
        });
    });

    describe("deployer: pulumi", () => {
        const sha256 = PULUMI_CLI_SHA256_EXAMPLE;
        let c: MockCloud;
        let pulumiTargets: Record<string, Record<string, unknown>>;
        before(async () => {
            const { pulumiDeployer } = await shippedStacks();
            pulumiTargets = Object.fromEntries(Object.entries(pulumiDeployer.targets).map(([name, run]) => [name, run.outputs]));
            c = pulumiDeployer.tools.cloud;
        });
        const stage = (n: string) => c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages.find((s: any) => s.name === n);

        it("deploys with buildspec-pulumi.yml and the pinned CLI", () => {
            const project = c
                .ofType("aws:codebuild/project:Project")
                .find((p) => p.inputs.name === "product-catalog-service-deploy")!.inputs;
            expect(project.source).to.deep.equal({ type: "CODEPIPELINE", buildspec: "buildspec-pulumi.yml" });
            const env = Object.fromEntries(project.environment.environmentVariables.map((v: any) => [v.name, v.value]));
            expect(env).to.deep.equal({
                SERVICE_NAME: "product-catalog-service",
                PULUMI_CLI_VERSION: "3.276.0",
                PULUMI_CLI_SHA256: sha256,
            });
        });

        it("gives each Deploy action its stage's S3 backend, KMS secrets provider and stack", () => {
            for (const [name, t] of [
                ["dev", pulumiTargets[DEV_STACK]],
                ["prod", pulumiTargets[PROD_STACK]],
            ] as const) {
                const deploy = stage(name).actions.find((a: any) => a.name === "Deploy");
                expect(envOf(deploy)).to.deep.equal({
                    STAGE: name,
                    SERVICE_NAME: "product-catalog-service",
                    TARGET_ACCOUNT_ID: t.accountId,
                    TARGET_REGION: "us-east-1",
                    DEPLOY_ROLE_ARN: t.deployRoleArn,
                    DEPLOYMENT_BUCKET: t.deploymentBucketName,
                    PERMISSIONS_BOUNDARY_ARN: t.permissionsBoundaryArn,
                    PULUMI_BACKEND_URL: `s3://${t.deploymentBucketName}/pulumi/product-catalog-service/${name}?region=us-east-1`,
                    PULUMI_SECRETS_PROVIDER: `awskms:///${t.pulumiSecretsKeyArn}?region=us-east-1`,
                    PULUMI_STACK: name,
                });
            }
        });

        it("keeps approvals, smoke tests and rollback as with the serverless deployer, and has no drift check", () => {
            expect(c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages.map((s: any) => s.name)).to.deep.equal(
                pipeline().stages.map((s: any) => s.name),
            );
            expect(stage("prod").actions.map((a: any) => a.name)).to.deep.equal(["Deploy", "SmokeTest"]);
            expect(stage("prod").onFailure).to.deep.equal({ result: "ROLLBACK" });
            expect(c.resources.filter((r) => r.name.startsWith("drift"))).to.deep.equal([]);
        });

        it("refuses targets set up for the other deployer, naming both", async () => {
            try {
                await runTools({ deployer: "pulumi", pulumiCliSha256: sha256 }, shippedTargets);
            } catch (e) {
                expect((e as Error).message).to.contain(
                    `target stack "${DEV_STACK}" (stages[0], "dev") is set up for deployer "serverless", but this pipeline deploys with "pulumi"`,
                );
                return;
            }
            throw new Error("expected a ConfigError");
        });
    });

    describe("bad target stacks fail early with what to do", () => {
        async function failure(stackOutputs: Record<string, unknown>): Promise<string> {
            try {
                await runTools({}, { ...shippedTargets, [DEV_STACK]: stackOutputs });
            } catch (e) {
                expect(e).to.be.instanceOf(ConfigError);
                return (e as Error).message;
            }
            throw new Error("expected the tools stack to fail");
        }

        it("names the stack and the missing outputs", async () => {
            const { deployRoleArn: _d, permissionsBoundaryArn: _p, ...partial } = target;
            const message = await failure(partial);
            expect(message).to.contain(
                `target stack "${DEV_STACK}" (stages[0], "dev") has no output "deployRoleArn", "permissionsBoundaryArn"`,
            );
            expect(message).to.contain(`Run \`pulumi up\` on ${DEV_STACK}`);
        });

        it("refuses a target that trusts another build role", async () => {
            const message = await failure({
                ...target,
                trustedBuildRoleArn: "arn:aws:iam::999999999999:role/product-catalog-service-pipeline-build",
            });
            expect(message).to.contain("trusts arn:aws:iam::999999999999:role/product-catalog-service-pipeline-build");
            expect(message).to.contain("but this pipeline builds as arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build");
        });

        it("refuses a target deployed for another stage", async () => {
            const message = await failure({ ...target, stage: "prod" });
            expect(message).to.contain('deploys stage "prod", not "dev"');
        });
    });
});
