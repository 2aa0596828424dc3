// The tools stack, evaluated from index.ts with the shipped Pulumi.tools.yaml under Pulumi's mock runtime.
// Its stack references return what the target stacks themselves exported when evaluated from
// Pulumi.target.yaml and Pulumi.target-prod.yaml (tests/helpers/shipped-stacks.ts): no ARN is typed twice.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { BUILD_IMAGE, DEPLOY_KIT_VARIABLES, kitBuildspec } from "../../components/codebuild";
import { deployKitBundle } from "../../components/deploy-kit-bundle";
import { DeployTarget, parseDeployTarget } from "../../components/target-contract";
import { TargetStackError } from "../../components/target-stack";
import { driftOptionsFromEnvironment } from "../../deploy-kit/drift";
import { allowedActions, expectLeastPrivilege, list, statement } from "../helpers/iam";
import { MockCloud, policyDocument, RecordedResource, runStack, TARGET_ACCOUNT, TOOLS_ACCOUNT } from "../helpers/pulumi-mocks";
import { PROD_ACCOUNT, PULUMI_CLI_SHA256_EXAMPLE, shippedStacks, syntheticStages, targetFor } from "../helpers/shipped-stacks";
import { toolsStackWithProd } from "../helpers/stack-files";

const DEV_STACK = "acme/serverless-cross-account-cicd/target";
const PROD_STACK = "acme/serverless-cross-account-cicd/target-prod";
const PREFIX = "product-catalog-service-pipeline-build";

const BUCKET = "aws:s3/bucket:Bucket";
const PROJECT = "aws:codebuild/project:Project";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const KIT_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";

async function runTools(config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>>) {
    return runStack({
        stack: "tools",
        accountId: TOOLS_ACCOUNT,
        config: { ...toolsStackWithProd(), ...config },
        stackOutputs,
    });
}

/** The tools stack's failure with these config and targets; fails the test when it succeeds. */
async function toolsFailure(config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>>): Promise<string> {
    try {
        await runTools(config, stackOutputs);
    } catch (e) {
        expect(e).to.be.instanceOf(TargetStackError);
        return (e as Error).message;
    }
    throw new Error("expected the tools stack to fail");
}

/** The environment a pipeline action passes to its build. */
const envOf = (action: any): Record<string, string> =>
    Object.fromEntries(JSON.parse(action.configuration.EnvironmentVariables).map((v: any) => [v.name, v.value]));
/** The environment a CodeBuild project sets itself. */
const projectEnv = (project: RecordedResource): Record<string, string> =>
    Object.fromEntries(project.inputs.environment.environmentVariables.map((v: any) => [v.name, v.value]));

const projectNamed = (c: MockCloud, name: string) => {
    const found = c.ofType(PROJECT).filter((p) => p.inputs.name === name);
    expect(found, `project ${name}`).to.have.length(1);
    return found[0];
};
const roleOf = (c: MockCloud, project: RecordedResource) => {
    const found = c.ofType(ROLE).filter((r) => r.state.arn === project.inputs.serviceRole);
    expect(found, `role of ${project.inputs.name}`).to.have.length(1);
    return found[0];
};
const roleDoc = (c: MockCloud, role: { id: string }) => {
    const attached = c.ofType(ROLE_POLICY).filter((p) => p.inputs.role === role.id);
    expect(attached, "inline policies").to.have.length(1);
    return policyDocument(attached[0].inputs.policy);
};
const projectDoc = (c: MockCloud, name: string) => roleDoc(c, roleOf(c, projectNamed(c, name)));
/** Every resource a policy lets its role `sts:AssumeRole`. */
const assumable = (doc: { Statement: any[] }) =>
    doc.Statement.filter((s) => s.Effect === "Allow" && list(s.Action).some((a) => a === "sts:AssumeRole" || a === "sts:*")).flatMap((s) =>
        list(s.Resource),
    );
/** Every resource a policy lets its role write an object to. */
const writable = (doc: { Statement: any[] }) =>
    doc.Statement.filter((s) => s.Effect === "Allow" && list(s.Action).some((a) => /^s3:(PutObject|\*)/.test(a))).flatMap((s) =>
        list(s.Resource),
    );
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("tools stack (index.ts, Pulumi.tools.yaml)", () => {
    let target: Record<string, string>;
    let prod: Record<string, string>;
    let shippedTargets: Record<string, Record<string, string>>;
    let targetClouds: Record<string, MockCloud>;
    let cloud: MockCloud;
    let outputs: Record<string, any>;

    before(async () => {
        const shipped = await shippedStacks();
        target = shipped.targets[DEV_STACK].outputs;
        prod = shipped.targets[PROD_STACK].outputs;
        shippedTargets = { [DEV_STACK]: target, [PROD_STACK]: prod };
        targetClouds = { dev: shipped.targets[DEV_STACK].cloud, prod: shipped.targets[PROD_STACK].cloud };
        ({ cloud, outputs } = shipped.tools);
    });

    const pipeline = () => cloud.one("aws:codepipeline/pipeline:Pipeline").inputs;
    const stageNamed = (name: string) => pipeline().stages.find((s: any) => s.name === name);
    const action = (stage: string, name: string) => stageNamed(stage).actions.find((a: any) => a.name === name);
    const artifactBucket = () => cloud.one(BUCKET, "pipeline-artifacts");
    const assetsBucket = () => cloud.one(BUCKET, "pipeline-build-assets");
    const kitObject = () => cloud.one(KIT_OBJECT, "deploy-kit");
    const targetsByStage = () =>
        [
            ["dev", target],
            ["prod", prod],
        ] as const;

    it("reads each target through a stack reference named in config", () => {
        expect(cloud.ofType("pulumi:pulumi:StackReference").map((r) => r.inputs.name)).to.deep.equal([DEV_STACK, PROD_STACK]);
        expect(outputs.stages).to.deep.equal(["dev", "prod"]);
        expect(outputs.buildRoleArns).to.deep.equal({ dev: target.trustedBuildRoleArn, prod: prod.trustedBuildRoleArn });
    });

    it("exports the clone URL, pipeline, each stage's build role, artifact bucket, notification topic and drift project", () => {
        expect(outputs.notificationTopicArn).to.equal(cloud.one("aws:sns/topic:Topic").state.arn);
        expect(outputs.cloneUrlHttp).to.equal("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/product-catalog-service");
        expect(outputs.pipelineName).to.equal("product-catalog-service-pipeline");
        expect(outputs.buildRoleArns).to.deep.equal({
            dev: `arn:aws:iam::111111111111:role/${PREFIX}-dev`,
            prod: `arn:aws:iam::111111111111:role/${PREFIX}-prod`,
        });
        expect(outputs.artifactBucketName).to.equal(artifactBucket().state.bucket);
        expect(outputs.deployer).to.equal("serverless");
        expect(outputs.driftCheckProject).to.equal("product-catalog-service-drift");
    });

    describe("artifact store and build assets", () => {
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

        it("encrypts both buckets (artifacts, build assets) with that key and hardens them", () => {
            expect(cloud.ofType(BUCKET)).to.have.length(2);
            const keyArn = cloud.one("aws:kms/key:Key").state.arn;
            for (const bucket of [artifactBucket(), assetsBucket()]) {
                const of = (type: string) => {
                    const found = cloud.ofType(type).filter((r) => r.inputs.bucket === bucket.id);
                    expect(found, `${type} of ${bucket.name}`).to.have.length(1);
                    return found[0].inputs;
                };
                expect(of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules[0]).to.deep.equal(
                    {
                        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
                        bucketKeyEnabled: true,
                    },
                );
                expect(of("aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration.status).to.equal("Enabled");
                expect(of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").restrictPublicBuckets).to.equal(true);
                expect(
                    of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0].noncurrentVersionExpiration,
                ).to.be.an("object");
                expect(policyDocument(of("aws:s3/bucketPolicy:BucketPolicy").policy).Statement[0].Condition).to.deep.equal({
                    Bool: { "aws:SecureTransport": "false" },
                });
            }
        });

        it("is the pipeline's encrypted artifact store (the build-assets bucket is not)", () => {
            expect(pipeline().artifactStores).to.deep.equal([
                {
                    type: "S3",
                    location: outputs.artifactBucketName,
                    encryptionKey: { type: "KMS", id: cloud.one("aws:kms/key:Key").state.arn },
                },
            ]);
            expect(assetsBucket().state.bucket).to.not.equal(outputs.artifactBucketName);
        });
    });

    describe("deploy kit", () => {
        it("is bundled from deploy-kit/ by this stack and uploaded to the build-assets bucket under its SHA-256", () => {
            const kit = kitObject().inputs;
            expect(kit.bucket).to.equal(assetsBucket().state.bucket);
            expect(kit.contentType).to.equal("application/javascript");
            expect(kit.content).to.match(/^\/\/ deploy-kit: bundled by the tools stack/);
            expect(kit.key).to.equal(`deploy-kit/${sha256(kit.content)}.js`);
            // the same bytes each evaluation: the key changes only when the kit does
            expect(kit.content).to.equal(deployKitBundle().code);
            expect(kit.content).to.contain("DEPLOY_TARGET").and.contain("DRIFT_TARGETS");
        });

        it("every kit build (each stage's Deploy, the drift check) names that object and pins its SHA-256", () => {
            const kit = kitObject().inputs;
            for (const name of [
                "product-catalog-service-deploy-dev",
                "product-catalog-service-deploy-prod",
                "product-catalog-service-drift",
            ]) {
                expect(projectEnv(projectNamed(cloud, name)), name).to.include({
                    [DEPLOY_KIT_VARIABLES.bucket]: assetsBucket().state.bucket,
                    [DEPLOY_KIT_VARIABLES.key]: kit.key,
                    [DEPLOY_KIT_VARIABLES.sha256]: sha256(kit.content),
                });
            }
        });
    });

    describe("build projects", () => {
        const deployBuildspec = kitBuildspec("deploy");
        for (const [project, source, cached] of [
            ["product-catalog-service-test", "buildspec-test.yml", true],
            ["product-catalog-service-smoke-test", "buildspec-smoke.yml", false],
            ["product-catalog-service-deploy-dev", "the inline kit buildspec", false],
            ["product-catalog-service-deploy-prod", "the inline kit buildspec", false],
        ] as const) {
            it(`${project}: Node.js 22 image, small, unprivileged, its own log group${cached ? ", npm cache" : ""}, ${source}`, () => {
                const p = projectNamed(cloud, project).inputs;
                expect(p.environment).to.include({
                    image: BUILD_IMAGE,
                    computeType: "BUILD_GENERAL1_SMALL",
                    privilegedMode: false,
                    type: "LINUX_CONTAINER",
                });
                expect(BUILD_IMAGE).to.equal("aws/codebuild/amazonlinux-x86_64-standard:5.0");
                expect(p.source).to.deep.equal({
                    type: "CODEPIPELINE",
                    buildspec: source.endsWith(".yml") ? source : deployBuildspec,
                });
                expect(p.artifacts).to.deep.equal({ type: "CODEPIPELINE" });
                expect(p.encryptionKey).to.equal(cloud.one("aws:kms/key:Key").state.arn);
                expect(p.buildTimeout).to.be.within(5, 60);
                if (cached) {
                    // in the build-assets bucket, under the project's own prefix
                    expect(p.cache).to.deep.equal({ type: "S3", location: `${assetsBucket().state.bucket}/codebuild-cache/${project}` });
                } else {
                    expect(p.cache).to.equal(undefined);
                }
                const logGroup = cloud
                    .ofType("aws:cloudwatch/logGroup:LogGroup")
                    .find((g) => g.inputs.name === `/aws/codebuild/${project}`)!;
                expect(logGroup.inputs.retentionInDays).to.equal(30);
                expect(p.logsConfig.cloudwatchLogs).to.deep.equal({ status: "ENABLED", groupName: logGroup.inputs.name });
            });
        }

        it("every project runs as a role of its own, trusted only by CodeBuild in this account", () => {
            const projects = cloud.ofType(PROJECT);
            expect(projects.map((p) => p.inputs.name)).to.have.members([
                "product-catalog-service-test",
                "product-catalog-service-smoke-test",
                "product-catalog-service-deploy-dev",
                "product-catalog-service-deploy-prod",
                "product-catalog-service-drift",
            ]);
            const roles = projects.map((p) => roleOf(cloud, p));
            expect(new Set(roles.map((r) => r.state.arn)).size).to.equal(projects.length);
            for (const role of roles) {
                expect(policyDocument(role.inputs.assumeRolePolicy).Statement, role.name).to.deep.equal([
                    {
                        Effect: "Allow",
                        Principal: { Service: "codebuild.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: { StringEquals: { "aws:SourceAccount": TOOLS_ACCOUNT } },
                    },
                ]);
            }
        });

        it("each stage's Deploy action runs its own project, as <prefix>-<stage>, the role that stage's target trusts", () => {
            for (const [stage, t] of targetsByStage()) {
                const deploy = action(stage, "Deploy");
                expect(deploy.configuration.ProjectName).to.equal(`product-catalog-service-deploy-${stage}`);
                const role = roleOf(cloud, projectNamed(cloud, deploy.configuration.ProjectName));
                expect(role.inputs.name).to.equal(`${PREFIX}-${stage}`);
                expect(role.state.arn).to.equal(t.trustedBuildRoleArn).and.to.equal(outputs.buildRoleArns[stage]);
                // and the target's deploy role trusts exactly that role, nothing else of the tools account
                const targetTrust = policyDocument(targetClouds[stage].one(ROLE, "deploy-role").inputs.assumeRolePolicy);
                expect(targetTrust.Statement.map((s: any) => s.Condition.ArnEquals["aws:PrincipalArn"])).to.deep.equal([role.state.arn]);
            }
            expect(action("dev", "Deploy").configuration.ProjectName).to.not.equal(action("prod", "Deploy").configuration.ProjectName);
        });

        it("a stage's build role may assume that stage's deploy role and no other role (exactly one ARN)", () => {
            for (const [stage, t] of targetsByStage()) {
                const doc = projectDoc(cloud, `product-catalog-service-deploy-${stage}`);
                expectLeastPrivilege(doc);
                expect(assumable(doc), stage).to.deep.equal([t.deployRoleArn]);
                expect(statement(doc, "AssumeTargetRoles")).to.deep.include({ Action: "sts:AssumeRole", Resource: [t.deployRoleArn] });
                expect(allowedActions(doc).filter((a) => a.startsWith("sts:"))).to.deep.equal(["sts:AssumeRole"]);
            }
            expect(target.deployRoleArn).to.not.equal(prod.deployRoleArn);
        });

        it("a stage's build role reads the kit object only, writes its logs and output artifact, and nothing of the build assets", () => {
            const kitArn = `${assetsBucket().state.arn}/${kitObject().inputs.key}`;
            for (const stage of ["dev", "prod"]) {
                const doc = projectDoc(cloud, `product-catalog-service-deploy-${stage}`);
                expect(
                    doc.Statement.map((s: any) => s.Sid),
                    stage,
                ).to.deep.equal(["BuildLogs", "ArtifactBucket", "Artifacts", "DeployKit", "AssumeTargetRoles", "PipelineKey"]);
                expect(statement(doc, "DeployKit")).to.deep.include({ Action: "s3:GetObject", Resource: kitArn });
                const logGroupArn = cloud.one("aws:cloudwatch/logGroup:LogGroup", `deploy-${stage}-logs`).state.arn;
                expect(statement(doc, "BuildLogs").Resource).to.deep.equal([logGroupArn, `${logGroupArn}:*`]);
                expect(statement(doc, "Artifacts").Resource).to.equal(`${artifactBucket().state.arn}/*`);
                expect(writable(doc)).to.deep.equal([`${artifactBucket().state.arn}/*`]);
                expect(statement(doc, "PipelineKey").Resource).to.deep.equal([cloud.one("aws:kms/key:Key").state.arn]);
            }
        });

        it("the Deploy projects' buildspec is inline (the tools stack's, not the commit's) and refuses a kit whose SHA-256 differs", () => {
            for (const stage of ["dev", "prod"]) {
                const buildspec: string = projectNamed(cloud, `product-catalog-service-deploy-${stage}`).inputs.source.buildspec;
                expect(buildspec).to.equal(kitBuildspec("deploy"));
                const spec = load(buildspec) as any;
                expect(spec.version).to.equal(0.2);
                const install: string[] = spec.phases.install.commands;
                expect(spec.phases.install["on-failure"]).to.equal("ABORT");
                expect(install).to.deep.equal([
                    'aws s3api get-object --bucket "$DEPLOY_KIT_BUCKET" --key "$DEPLOY_KIT_KEY" /tmp/deploy-kit.js >/dev/null',
                    'echo "$DEPLOY_KIT_SHA256  /tmp/deploy-kit.js" | sha256sum --check --strict -',
                ]);
                expect(spec.phases.build.commands[0]).to.equal("node /tmp/deploy-kit.js deploy");
                expect(spec.phases.build["on-failure"]).to.equal("ABORT");
                // nothing of the commit runs: no npm script, no script file, no install of its dependencies
                const commands: string[] = [...install, ...spec.phases.build.commands];
                expect(commands.filter((c) => /npm |npx |\.sh\b|scripts\/|buildspec/.test(c))).to.deep.equal([]);
                expect(spec.env["exported-variables"]).to.deep.equal(["API_URL"]);
                expect(spec.artifacts).to.deep.equal({ files: ["deploy-output.json"], "discard-paths": "yes" });
            }
        });

        it("the kit check passes the uploaded kit and refuses one changed by a single byte", () => {
            const check = (load(kitBuildspec("deploy")) as any).phases.install.commands[1] as string;
            const dir = mkdtempSync(join(tmpdir(), "kit-check-"));
            try {
                const file = join(dir, "deploy-kit.js");
                const run = (content: string) => {
                    writeFileSync(file, content);
                    const env = { ...process.env, DEPLOY_KIT_SHA256: sha256(kitObject().inputs.content) };
                    return spawnSync("bash", ["-c", check.replace("/tmp/deploy-kit.js", file)], { env, encoding: "utf8" }).status;
                };
                expect(run(kitObject().inputs.content)).to.equal(0);
                expect(run(kitObject().inputs.content + " ")).to.not.equal(0);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        });

        it("the project carries only where the kit is; the target comes from the Deploy action", () => {
            for (const stage of ["dev", "prod"]) {
                expect(Object.keys(projectEnv(projectNamed(cloud, `product-catalog-service-deploy-${stage}`)))).to.deep.equal([
                    DEPLOY_KIT_VARIABLES.bucket,
                    DEPLOY_KIT_VARIABLES.key,
                    DEPLOY_KIT_VARIABLES.sha256,
                ]);
            }
        });

        it("the test and smoke-test roles (the commit's code) assume nothing and cannot write the deploy kit", () => {
            const artifacts = `${artifactBucket().state.arn}/*`;
            const assets = assetsBucket().state.arn;
            const test = projectDoc(cloud, "product-catalog-service-test");
            const smoke = projectDoc(cloud, "product-catalog-service-smoke-test");
            for (const doc of [test, smoke]) {
                expectLeastPrivilege(doc);
                expect(allowedActions(doc).filter((a) => a.startsWith("sts:"))).to.deep.equal([]);
                expect(assumable(doc)).to.deep.equal([]);
                // no listing: a build finds only the artifact objects CodePipeline names to it
                expect(allowedActions(doc)).to.not.include("s3:ListBucket");
                expect(JSON.stringify(doc)).to.not.contain(kitObject().inputs.key);
            }
            // Objects: the artifact bucket (CodePipeline chooses each output artifact's key, under the pipeline's
            // folder) and, for the test project, its own cache prefix of the build-assets bucket: never deploy-kit/.
            expect(writable(test)).to.deep.equal([artifacts, `${assets}/codebuild-cache/product-catalog-service-test/*`]);
            expect(writable(smoke)).to.deep.equal([artifacts]);
            for (const resource of [...writable(test), ...writable(smoke)]) {
                expect(resource.startsWith(`${assets}/deploy-kit`) || resource === `${assets}/*`, resource).to.equal(false);
            }
            expect(statement(test, "TestReports").Resource).to.deep.equal([cloud.one("aws:codebuild/reportGroup:ReportGroup").state.arn]);
            expect(statement(test, "BuildCacheBucket").Resource).to.equal(assets);
        });

        it("no role of the tools account but the stage build roles and the drift check's may assume any role", () => {
            const assuming = cloud
                .ofType(ROLE)
                .filter((r) => assumable(roleDoc(cloud, r)).length > 0)
                .map((r) => r.inputs.name);
            expect(assuming).to.have.members([`${PREFIX}-dev`, `${PREFIX}-prod`, `${PREFIX}-drift`]);
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
            const { stages } = JSON.parse(JSON.stringify({ stages: toolsStackWithProd()["serverless-cross-account-cicd:stages"] }));
            stages[1].rollbackOnFailure = false;
            const { cloud: c } = await runTools({ stages }, shippedTargets);
            const p = c.one("aws:codepipeline/pipeline:Pipeline").inputs;
            const byName = (n: string) => p.stages.find((s: any) => s.name === n);
            expect(byName("dev").onFailure).to.deep.equal({ result: "ROLLBACK" });
            expect(byName("prod").onFailure).to.equal(undefined);
            // the stage's setting also reaches its build, in the target it is given
            const prodTarget = parseDeployTarget(envOf(byName("prod").actions.find((a: any) => a.name === "Deploy")).DEPLOY_TARGET);
            expect(prodTarget.rollbackOnFailure).to.equal(false);
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
            // one package per serverless stage, built once and deployed by each stage's Deploy
            expect(envOf(test)).to.deep.equal({ PACKAGE_STAGES: "dev prod" });
            for (const stage of ["dev", "prod"]) {
                expect(action(stage, "Deploy").inputArtifacts).to.deep.equal(["build"]);
                expect(action(stage, "Deploy").outputArtifacts).to.deep.equal([`deploy_${stage}`]);
                expect(action(stage, "SmokeTest").inputArtifacts).to.deep.equal(["build"]);
            }
        });

        it("gives each Deploy action its target as DEPLOY_TARGET: the target stack's outputs and the stage's settings", () => {
            const settings: Record<string, Pick<DeployTarget, "approval" | "smokeTest" | "rollbackOnFailure">> = {
                dev: { approval: false, smokeTest: "full", rollbackOnFailure: true },
                prod: { approval: true, smokeTest: "read-only", rollbackOnFailure: true },
            };
            for (const [stage, t] of targetsByStage()) {
                const deploy = action(stage, "Deploy");
                expect(deploy.namespace).to.equal(`Deploy-${stage}`);
                const env = envOf(deploy);
                expect(Object.keys(env)).to.deep.equal(["DEPLOY_TARGET"]);
                expect(JSON.parse(env.DEPLOY_TARGET)).to.deep.equal({ ...t, ...settings[stage] });
                // what the kit reads back from it, by the same contract
                expect(parseDeployTarget(env.DEPLOY_TARGET)).to.deep.equal({ ...t, ...settings[stage] });
            }
            expect(parseDeployTarget(envOf(action("prod", "Deploy")).DEPLOY_TARGET).accountId).to.equal(PROD_ACCOUNT);
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

        it("pipeline role reads the repository, runs the pipeline's projects (not the drift check), publishes approvals and uses the artifact store", () => {
            const role = cloud.one(ROLE, "pipeline-role");
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({
                Service: "codepipeline.amazonaws.com",
            });
            const doc = roleDoc(cloud, role);
            expectLeastPrivilege(doc);
            expect(statement(doc, "RunBuilds").Resource).to.have.members(
                ["test", "smoke-test", "deploy-dev", "deploy-prod"].map(
                    (p) => `arn:aws:codebuild:us-east-1:${TOOLS_ACCOUNT}:project/product-catalog-service-${p}`,
                ),
            );
            expect(statement(doc, "SourceRepository").Resource).to.equal(cloud.one("aws:codecommit/repository:Repository").state.arn);
            expect(statement(doc, "ApprovalNotifications")).to.deep.include({
                Action: "sns:Publish",
                Resource: outputs.notificationTopicArn,
            });
            expect(allowedActions(doc).filter((a) => a.startsWith("sts:"))).to.deep.equal([]);
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
        const countByType = (c: MockCloud) => {
            const counts: Record<string, number> = {};
            for (const r of c.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
            return counts;
        };

        it("grows by the same number of resources per stage (1, 2, 20 stages) and stays fast under mocks", async function () {
            this.timeout(60_000);
            const runs = [];
            for (const n of [1, 2, 20]) runs.push({ n, ...(await toolsWith(n)) });
            const counts = runs.map((r) => r.c.resources.length);
            // per stage: its stack reference, and its deploy project with its own role, policy and log group
            const [one, two] = [countByType(runs[0].c), countByType(runs[1].c)];
            const added = Object.fromEntries(
                Object.keys(two)
                    .filter((t) => two[t] !== one[t])
                    .map((t) => [t, two[t] - (one[t] ?? 0)]),
            );
            expect(added).to.deep.equal({
                "pulumi:pulumi:StackReference": 1,
                "cicd:tools:BuildProject": 1,
                "aws:codebuild/project:Project": 1,
                "aws:iam/role:Role": 1,
                "aws:iam/rolePolicy:RolePolicy": 1,
                "aws:cloudwatch/logGroup:LogGroup": 1,
            });
            const perStage = counts[1] - counts[0];
            expect(perStage).to.equal(6);
            expect(counts[2] - counts[0]).to.equal(19 * perStage);
            const twenty = runs[2].c;
            const p = twenty.one("aws:codepipeline/pipeline:Pipeline").inputs;
            // stage s0 deploys directly; s1..s19 ask for an approval, each in a stage of its own
            expect(p.stages).to.have.length(2 + 20 + 19);
            expect(p.stages.slice(2).map((s: any) => s.name)).to.deep.equal(
                Array.from({ length: 20 }, (_, i) => (i === 0 ? ["s0"] : [`Approve-s${i}`, `s${i}`])).flat(),
            );
            // each of the twenty build roles may assume its own stage's deploy role only
            for (let i = 0; i < 20; i++) {
                const doc = projectDoc(twenty, `product-catalog-service-deploy-s${i}`);
                expect(assumable(doc)).to.deep.equal([`arn:aws:iam::${400000000000 + i}:role/deploy-product-catalog-service-s${i}`]);
            }
            const drift = projectDoc(twenty, "product-catalog-service-drift");
            expect(assumable(drift)).to.have.length(20);
            expect(assumable(drift).every((arn) => /:role\/drift-product-catalog-service-s\d+$/.test(arn))).to.equal(true);
            // Generous bound against pathological growth; the benchmark (npm run bench) measures it properly.
            expect(runs[2].ms).to.be.below(15_000);
            console.log(`      resources for 1/2/20 stages: ${counts.join("/")}; ms: ${runs.map((r) => r.ms).join("/")}`);
        });
    });

    describe("drift detection (driftSchedule, default daily)", () => {
        const driftProject = (c: MockCloud) => c.ofType(PROJECT).find((p) => p.inputs.name === "product-catalog-service-drift");

        it("a daily schedule starts the drift-check project, through a role that may start that project only", () => {
            const rule = cloud.one("aws:cloudwatch/eventRule:EventRule", "drift-schedule").inputs;
            expect(rule).to.include({ name: "product-catalog-service-drift-check", scheduleExpression: "rate(1 day)" });
            const eventTarget = cloud.one("aws:cloudwatch/eventTarget:EventTarget", "drift-schedule-target").inputs;
            const project = driftProject(cloud)!;
            expect(eventTarget.arn).to.equal(project.state.arn);
            const role = cloud.ofType(ROLE).find((r) => r.state.arn === eventTarget.roleArn)!;
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "events.amazonaws.com" });
            expect(roleDoc(cloud, role).Statement).to.deep.equal([
                { Sid: "StartThisBuild", Effect: "Allow", Action: "codebuild:StartBuild", Resource: project.state.arn },
            ]);
        });

        it("the project runs the deploy kit's drift check (inline buildspec, no source) against every target, publishing to the topic", () => {
            const project = driftProject(cloud)!;
            const p = project.inputs;
            expect(p.source).to.deep.equal({ type: "NO_SOURCE", buildspec: kitBuildspec("drift") });
            expect(p.artifacts).to.deep.equal({ type: "NO_ARTIFACTS" });
            const spec = load(p.source.buildspec) as any;
            expect(spec.phases.install.commands[1]).to.equal(
                'echo "$DEPLOY_KIT_SHA256  /tmp/deploy-kit.js" | sha256sum --check --strict -',
            );
            expect(spec.phases.build.commands).to.deep.equal(["node /tmp/deploy-kit.js drift"]);
            expect(p.environment).to.include({ privilegedMode: false, image: BUILD_IMAGE });
            const env = projectEnv(project);
            expect(env.NOTIFICATION_TOPIC_ARN).to.equal(outputs.notificationTopicArn);
            // what the kit reads from it, by the target contract: exactly the two targets' outputs
            const noLog = () => undefined;
            const options = driftOptionsFromEnvironment(env, noLog, noLog);
            expect(options.targets).to.deep.equal([target, prod]);
            expect(options.topicArn).to.equal(outputs.notificationTopicArn);
            expect(outputs.driftCheckProject).to.equal("product-catalog-service-drift");
        });

        it("its role, <prefix>-drift as the targets' drift roles trust it, may assume exactly their drift roles, read the kit and publish", () => {
            const project = driftProject(cloud)!;
            const role = roleOf(cloud, project);
            expect(role.inputs.name).to.equal(`${PREFIX}-drift`);
            for (const stage of ["dev", "prod"]) {
                const trust = policyDocument(targetClouds[stage].one(ROLE, "drift-role").inputs.assumeRolePolicy);
                expect(
                    trust.Statement.map((s: any) => s.Condition.ArnEquals["aws:PrincipalArn"]),
                    stage,
                ).to.deep.equal([role.state.arn]);
            }
            const doc = roleDoc(cloud, role);
            expectLeastPrivilege(doc);
            expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal([
                "BuildLogs",
                "DeployKit",
                "AssumeTargetRoles",
                "Publish",
                "PipelineKey",
            ]);
            expect(assumable(doc)).to.deep.equal([target.driftRoleArn, prod.driftRoleArn]);
            expect(assumable(doc)).to.not.include.members([target.deployRoleArn]).and.not.include.members([prod.deployRoleArn]);
            expect(statement(doc, "Publish").Resource).to.equal(outputs.notificationTopicArn);
            expect(statement(doc, "DeployKit").Resource).to.equal(`${assetsBucket().state.arn}/${kitObject().inputs.key}`);
            expect(writable(doc)).to.deep.equal([]);
            expect(JSON.stringify(doc)).to.not.contain(artifactBucket().state.arn);
            expect(allowedActions(doc).filter((a) => /^(cloudformation|codebuild|codepipeline|iam):/.test(a))).to.deep.equal([]);
        });

        it("a schedule expression is used as given", async () => {
            const { cloud: c } = await runTools({ driftSchedule: "cron(0 6 ? * MON-FRI *)" }, shippedTargets);
            expect(c.one("aws:cloudwatch/eventRule:EventRule", "drift-schedule").inputs.scheduleExpression).to.equal(
                "cron(0 6 ? * MON-FRI *)",
            );
        });

        it("off: no project, schedule or role, and nothing else changes", async () => {
            const { cloud: c, outputs: o } = await runTools({ driftSchedule: "off" }, shippedTargets);
            expect(c.resources.filter((r) => r.name.startsWith("drift")).map((r) => r.name)).to.deep.equal([]);
            expect(driftProject(c)).to.equal(undefined);
            expect(o.driftCheckProject).to.equal("off");
            expect(c.resources.length).to.equal(cloud.resources.length - cloud.resources.filter((r) => r.name.startsWith("drift")).length);
            // the kit is still uploaded: the Deploy builds run it
            expect(c.ofType(KIT_OBJECT)).to.have.length(1);
        });
    });

    describe("deployer: pulumi", () => {
        const cliSha256 = PULUMI_CLI_SHA256_EXAMPLE;
        let c: MockCloud;
        let pulumiTargets: Record<string, Record<string, unknown>>;
        before(async () => {
            const { pulumiDeployer } = await shippedStacks();
            pulumiTargets = Object.fromEntries(Object.entries(pulumiDeployer.targets).map(([name, run]) => [name, run.outputs]));
            c = pulumiDeployer.tools.cloud;
        });
        const stage = (n: string) => c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages.find((s: any) => s.name === n);

        it("each stage's deploy project runs the kit with the pinned CLI, installing the commit's program without its scripts", () => {
            const kit = c.one(KIT_OBJECT, "deploy-kit").inputs;
            const assets = c.one(BUCKET, "pipeline-build-assets");
            for (const name of ["dev", "prod"]) {
                const project = projectNamed(c, `product-catalog-service-deploy-${name}`);
                expect(project.inputs.source).to.deep.equal({
                    type: "CODEPIPELINE",
                    buildspec: kitBuildspec("deploy", { installProgram: true }),
                });
                const install: string[] = (load(project.inputs.source.buildspec) as any).phases.install.commands;
                // the kit is checked before anything of the commit is installed
                expect(install.slice(1)).to.deep.equal([
                    'echo "$DEPLOY_KIT_SHA256  /tmp/deploy-kit.js" | sha256sum --check --strict -',
                    "npm ci --ignore-scripts --prefer-offline",
                ]);
                expect(projectEnv(project)).to.deep.equal({
                    [DEPLOY_KIT_VARIABLES.bucket]: assets.state.bucket,
                    [DEPLOY_KIT_VARIABLES.key]: kit.key,
                    [DEPLOY_KIT_VARIABLES.sha256]: sha256(kit.content),
                    PULUMI_CLI_VERSION: "3.276.0",
                    PULUMI_CLI_SHA256: cliSha256,
                });
                // npm's cache in the project's own prefix of the build-assets bucket
                const cachePrefix = `codebuild-cache/product-catalog-service-deploy-${name}`;
                expect(project.inputs.cache).to.deep.equal({ type: "S3", location: `${assets.state.bucket}/${cachePrefix}` });
                const doc = roleDoc(c, roleOf(c, project));
                expectLeastPrivilege(doc);
                expect(statement(doc, "BuildCache").Resource).to.equal(`${assets.state.arn}/${cachePrefix}/*`);
                expect(assumable(doc)).to.deep.equal([pulumiTargets[name === "dev" ? DEV_STACK : PROD_STACK].deployRoleArn]);
            }
        });

        it("gives each Deploy action its pulumi target as DEPLOY_TARGET, secrets key included", () => {
            for (const [name, t] of [
                ["dev", pulumiTargets[DEV_STACK]],
                ["prod", pulumiTargets[PROD_STACK]],
            ] as const) {
                const deploy = stage(name).actions.find((a: any) => a.name === "Deploy");
                const parsed = parseDeployTarget(envOf(deploy).DEPLOY_TARGET);
                expect(parsed).to.deep.include(t);
                expect(parsed).to.include({ deployer: "pulumi", stage: name, pulumiSecretsKeyArn: t.pulumiSecretsKeyArn });
                expect(parsed).to.not.have.property("cfnExecutionRoleArn");
            }
        });

        it("keeps approvals, smoke tests and rollback as with the serverless deployer, and has no drift check", () => {
            expect(c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages.map((s: any) => s.name)).to.deep.equal(
                pipeline().stages.map((s: any) => s.name),
            );
            expect(stage("prod").actions.map((a: any) => a.name)).to.deep.equal(["Deploy", "SmokeTest"]);
            expect(stage("prod").onFailure).to.deep.equal({ result: "ROLLBACK" });
            expect(c.resources.filter((r) => r.name.startsWith("drift"))).to.deep.equal([]);
            // and packages nothing in the Test stage: pulumi up builds from the commit's program
            expect(envOf(stage("Test").actions[0])).to.deep.equal({ PACKAGE_STAGES: "" });
        });

        it("refuses targets set up for the other deployer, naming both", async () => {
            const message = await toolsFailure({ deployer: "pulumi", pulumiCliSha256: cliSha256 }, shippedTargets);
            expect(message).to.contain(
                `target stack "${DEV_STACK}" (stages[0], "dev") is set up for deployer "serverless", but this pipeline deploys with "pulumi"`,
            );
        });
    });

    describe("bad target stacks fail early with what to do", () => {
        const failure = (stackOutputs: Record<string, unknown>) => toolsFailure({}, { ...shippedTargets, [DEV_STACK]: stackOutputs });

        it("names the stack and the missing outputs", async () => {
            const { deployRoleArn: _d, permissionsBoundaryArn: _p, ...partial } = target;
            const message = await failure(partial);
            expect(message).to.contain(
                `target stack "${DEV_STACK}" (stages[0], "dev") has no output "deployRoleArn", "permissionsBoundaryArn"`,
            );
            expect(message).to.contain(`Run \`pulumi up\` on ${DEV_STACK}`);
        });

        it("asks a target from before the drift role for it", async () => {
            const { driftRoleArn: _r, ...old } = target;
            expect(await failure(old)).to.contain(`(stages[0], "dev") has no output "driftRoleArn"`);
        });

        it("refuses a target that trusts another build role than the stage's", async () => {
            const message = await failure({ ...target, trustedBuildRoleArn: `arn:aws:iam::999999999999:role/${PREFIX}-dev` });
            expect(message).to.contain(
                `trusts arn:aws:iam::999999999999:role/${PREFIX}-dev, but this pipeline deploys dev as arn:aws:iam::111111111111:role/${PREFIX}-dev`,
            );
            // a target set up for one build role for every stage (the old design) is refused too
            expect(await failure({ ...target, trustedBuildRoleArn: `arn:aws:iam::111111111111:role/${PREFIX}` })).to.contain(
                `but this pipeline deploys dev as arn:aws:iam::111111111111:role/${PREFIX}-dev`,
            );
        });

        it("refuses a target deployed for another stage", async () => {
            const message = await failure({ ...target, stage: "prod" });
            expect(message).to.contain('deploys stage "prod", not "dev"');
        });

        it("refuses a target's role in another account than the target's", async () => {
            const foreign = target.driftRoleArn.replace(TARGET_ACCOUNT, "999999999999");
            expect(await failure({ ...target, driftRoleArn: foreign })).to.contain(
                `target stack "${DEV_STACK}" (stages[0], "dev"): driftRoleArn is in account 999999999999, not ${TARGET_ACCOUNT}`,
            );
        });

        it("refuses an ARN that is not exactly one ARN (a newline would reach the build's AWS config)", async () => {
            const injected = `${target.deployRoleArn}\n[profile admin]`;
            expect(await failure({ ...target, deployRoleArn: injected })).to.contain(
                `(stages[0], "dev"): deployRoleArn must be an IAM role ARN such as arn:aws:iam::222222222222:role/deploy-example; got ${JSON.stringify(injected)}`,
            );
        });

        it("refuses a target set up for another service", async () => {
            expect(await failure({ ...target, serviceName: "other-service" })).to.contain(
                'serviceName is "other-service": the target was set up for another service than "product-catalog-service"',
            );
        });
    });

    describe("stages whose names prefix each other", () => {
        const stages = [
            { name: "dev", targetStack: DEV_STACK },
            { name: "dev-eu", targetStack: "acme/serverless-cross-account-cicd/target-dev-eu" },
        ];

        it("are refused in one account: dev's roles are scoped to names dev-eu's resources have too", async () => {
            const devEu = targetFor(target, "dev-eu", TARGET_ACCOUNT);
            expect(devEu.trustedBuildRoleArn).to.equal(`arn:aws:iam::111111111111:role/${PREFIX}-dev-eu`);
            const message = await toolsFailure({ stages }, { [DEV_STACK]: target, [stages[1].targetStack]: devEu });
            expect(message).to.equal(
                `stages "dev" and "dev-eu" are both in account ${TARGET_ACCOUNT}, and "dev-" begins "dev-eu": ` +
                    'the roles of dev are scoped to names "<service>-dev-*", which include dev-eu\'s. ' +
                    'Rename one of them (e.g. "dev-main") or give it its own account',
            );
        });

        it("are accepted in two accounts, each stage with its own deploy project and role", async () => {
            const devEu = targetFor(target, "dev-eu", "444444444444");
            const { cloud: c, outputs: o } = await runTools({ stages }, { [DEV_STACK]: target, [stages[1].targetStack]: devEu });
            expect(o.stages).to.deep.equal(["dev", "dev-eu"]);
            expect(assumable(projectDoc(c, "product-catalog-service-deploy-dev"))).to.deep.equal([target.deployRoleArn]);
            expect(assumable(projectDoc(c, "product-catalog-service-deploy-dev-eu"))).to.deep.equal([
                "arn:aws:iam::444444444444:role/deploy-product-catalog-service-dev-eu",
            ]);
        });
    });
});
