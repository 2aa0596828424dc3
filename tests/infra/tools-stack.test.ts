// The tools stack, evaluated from index.ts with the shipped Pulumi.tools.yaml under Pulumi's mock runtime.
// Its stack reference returns what the target stack itself exported when evaluated from Pulumi.target.yaml:
// no ARN is typed twice, here or in the program.

import { expect } from "chai";
import { ConfigError } from "../../config";
import { expectLeastPrivilege, list, statement } from "../helpers/iam";
import { MockCloud, policyDocument, runStack, TARGET_ACCOUNT, TOOLS_ACCOUNT } from "../helpers/pulumi-mocks";
import { loadStackFile } from "../helpers/stack-files";

const SHIPPED_TARGET_STACK = "acme/serverless-cross-account-cicd/target";

async function targetOutputs(overrides: Record<string, unknown> = {}, accountId = TARGET_ACCOUNT) {
    const { outputs } = await runStack({
        stack: "target",
        accountId,
        config: { ...loadStackFile("Pulumi.target.yaml"), "aws:allowedAccountIds": [accountId], ...overrides },
    });
    return outputs as Record<string, string>;
}

async function runTools(config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>>) {
    return runStack({ stack: "tools", accountId: TOOLS_ACCOUNT, config: { ...loadStackFile("Pulumi.tools.yaml"), ...config }, stackOutputs });
}

const envOf = (action: any): Record<string, string> =>
    Object.fromEntries(JSON.parse(action.configuration.EnvironmentVariables).map((v: any) => [v.name, v.value]));

describe("tools stack (index.ts, Pulumi.tools.yaml)", () => {
    let target: Record<string, string>;
    let cloud: MockCloud;
    let outputs: Record<string, any>;

    before(async () => {
        target = await targetOutputs();
        ({ cloud, outputs } = await runTools({}, { [SHIPPED_TARGET_STACK]: target }));
    });

    const pipeline = () => cloud.one("aws:codepipeline/pipeline:Pipeline").inputs;

    it("reads the target through a stack reference named in config", () => {
        const ref = cloud.one("pulumi:pulumi:StackReference");
        expect(ref.inputs.name).to.equal(SHIPPED_TARGET_STACK);
        expect(outputs.stages).to.deep.equal(["dev"]);
        expect(outputs.buildRoleArn).to.equal(target.trustedBuildRoleArn);
    });

    it("exports the clone URL, pipeline, build role and artifact bucket", () => {
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
            const [stmt] = JSON.parse(key.policy).Statement;
            expect(stmt.Principal).to.deep.equal({ AWS: `arn:aws:iam::${TOOLS_ACCOUNT}:root` });
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
            expect(of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0].noncurrentVersionExpiration).to.be.an("object");
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

    describe("build", () => {
        it("runs a Node.js 22 image, small, unprivileged, logging to its own group with retention", () => {
            const project = cloud.one("aws:codebuild/project:Project").inputs;
            expect(project.environment).to.include({
                image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                computeType: "BUILD_GENERAL1_SMALL",
                privilegedMode: false,
                type: "LINUX_CONTAINER",
            });
            expect(project.buildTimeout).to.equal(30);
            expect(project.encryptionKey).to.equal(cloud.one("aws:kms/key:Key").state.arn);
            const logGroup = cloud.one("aws:cloudwatch/logGroup:LogGroup").inputs;
            expect(logGroup).to.deep.include({ name: "/aws/codebuild/product-catalog-service-deploy", retentionInDays: 30 });
            expect(project.logsConfig.cloudwatchLogs).to.deep.equal({ status: "ENABLED", groupName: logGroup.name });
            expect(project.source).to.deep.equal({ type: "CODEPIPELINE", buildspec: "buildspec.yml" });
        });

        it("build role has the name the target trusts, trusted only by CodeBuild in this account", () => {
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

        it("build role may assume the target deploy role and touch only its logs, artifacts and key", () => {
            const role = cloud.one("aws:iam/role:Role", "build-role");
            const doc = policyDocument(cloud.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);
            expectLeastPrivilege(doc);
            expect(statement(doc, "AssumeTargetDeployRoles")).to.deep.include({ Action: "sts:AssumeRole", Resource: [target.deployRoleArn] });
            const logGroupArn = cloud.one("aws:cloudwatch/logGroup:LogGroup").state.arn;
            expect(statement(doc, "BuildLogs").Resource).to.deep.equal([logGroupArn, `${logGroupArn}:*`]);
            const bucketArn = cloud.one("aws:s3/bucket:Bucket").state.arn;
            expect(statement(doc, "Artifacts").Resource).to.equal(`${bucketArn}/*`);
            expect(statement(doc, "ArtifactKey").Resource).to.equal(cloud.one("aws:kms/key:Key").state.arn);
            expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal(["BuildLogs", "ArtifactBucket", "Artifacts", "ArtifactKey", "AssumeTargetDeployRoles"]);
        });
    });

    describe("pipeline", () => {
        it("is a V2 pipeline that queues executions", () => {
            expect(pipeline()).to.include({ pipelineType: "V2", executionMode: "QUEUED", name: "product-catalog-service-pipeline" });
        });

        it("runs Source then Deploy, passing the source artifact", () => {
            const stages = pipeline().stages;
            expect(stages.map((s: any) => s.name)).to.deep.equal(["Source", "Deploy-dev"]);
            const [source] = stages[0].actions;
            expect(source).to.deep.include({ category: "Source", provider: "CodeCommit", outputArtifacts: ["source"] });
            expect(source.configuration).to.deep.equal({
                RepositoryName: "product-catalog-service",
                BranchName: "main",
                PollForSourceChanges: "false",
                OutputArtifactFormat: "CODE_ZIP",
            });
            const [deploy] = stages[1].actions;
            expect(deploy).to.deep.include({ category: "Build", provider: "CodeBuild", inputArtifacts: ["source"], namespace: "Deploy-dev" });
            expect(deploy.configuration.ProjectName).to.equal("product-catalog-service-deploy");
        });

        it("gives the Deploy action the target's environment from the stack reference", () => {
            const [deploy] = pipeline().stages[1].actions;
            expect(envOf(deploy)).to.deep.equal({
                STAGE: "dev",
                SERVICE_NAME: "product-catalog-service",
                TARGET_ACCOUNT_ID: target.accountId,
                TARGET_REGION: target.region,
                DEPLOY_ROLE_ARN: target.deployRoleArn,
                CFN_EXECUTION_ROLE_ARN: target.cfnExecutionRoleArn,
                DEPLOYMENT_BUCKET: target.deploymentBucketName,
                PERMISSIONS_BOUNDARY_ARN: target.permissionsBoundaryArn,
            });
        });

        it("pipeline role reads the repository, runs the project and uses the artifact store", () => {
            const role = cloud.one("aws:iam/role:Role", "pipeline-role");
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "codepipeline.amazonaws.com" });
            const doc = policyDocument(cloud.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);
            expectLeastPrivilege(doc);
            expect(statement(doc, "RunBuilds").Resource).to.deep.equal([cloud.one("aws:codebuild/project:Project").state.arn]);
            expect(statement(doc, "SourceRepository").Resource).to.equal(cloud.one("aws:codecommit/repository:Repository").state.arn);
            expect(list(statement(doc, "RunBuilds").Action)).to.not.include("codebuild:CreateProject");
        });
    });

    describe("trigger", () => {
        it("starts on pushes to the configured branch of this repository only", () => {
            const rule = cloud.one("aws:cloudwatch/eventRule:EventRule").inputs;
            expect(JSON.parse(rule.eventPattern)).to.deep.equal({
                source: ["aws.codecommit"],
                "detail-type": ["CodeCommit Repository State Change"],
                resources: [cloud.one("aws:codecommit/repository:Repository").state.arn],
                detail: { event: ["referenceCreated", "referenceUpdated"], referenceType: ["branch"], referenceName: ["main"] },
            });
        });

        it("uses a role that may start this pipeline and nothing else", () => {
            const target = cloud.one("aws:cloudwatch/eventTarget:EventTarget").inputs;
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

    describe("several targets", () => {
        it("deploys to each target in order and may assume exactly their deploy roles", async () => {
            const prod = await targetOutputs({ "serverless-cross-account-cicd:stage": "prod" }, "333333333333");
            const { cloud: c } = await runTools(
                {
                    stages: [
                        { name: "dev", targetStack: "acme/serverless-cross-account-cicd/target-dev" },
                        { name: "prod", targetStack: "acme/serverless-cross-account-cicd/target-prod" },
                    ],
                },
                { "acme/serverless-cross-account-cicd/target-dev": target, "acme/serverless-cross-account-cicd/target-prod": prod },
            );
            const stages = c.one("aws:codepipeline/pipeline:Pipeline").inputs.stages;
            expect(stages.map((s: any) => s.name)).to.deep.equal(["Source", "Deploy-dev", "Deploy-prod"]);
            expect(envOf(stages[2].actions[0])).to.include({ STAGE: "prod", TARGET_ACCOUNT_ID: "333333333333", DEPLOY_ROLE_ARN: prod.deployRoleArn });
            const role = c.one("aws:iam/role:Role", "build-role");
            const doc = policyDocument(c.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.id)!.inputs.policy);
            expect(statement(doc, "AssumeTargetDeployRoles").Resource).to.deep.equal([target.deployRoleArn, prod.deployRoleArn]);
        });
    });

    describe("bad target stacks fail early with what to do", () => {
        async function failure(stackOutputs: Record<string, unknown>): Promise<string> {
            try {
                await runTools({}, { [SHIPPED_TARGET_STACK]: stackOutputs });
            } catch (e) {
                expect(e).to.be.instanceOf(ConfigError);
                return (e as Error).message;
            }
            throw new Error("expected the tools stack to fail");
        }

        it("names the stack and the missing outputs", async () => {
            const { deployRoleArn: _d, permissionsBoundaryArn: _p, ...partial } = target;
            const message = await failure(partial);
            expect(message).to.contain(`target stack "${SHIPPED_TARGET_STACK}" (stages[0], "dev") has no output "deployRoleArn", "permissionsBoundaryArn"`);
            expect(message).to.contain(`Run \`pulumi up\` on ${SHIPPED_TARGET_STACK}`);
        });

        it("refuses a target that trusts another build role", async () => {
            const message = await failure({ ...target, trustedBuildRoleArn: "arn:aws:iam::999999999999:role/product-catalog-service-pipeline-build" });
            expect(message).to.contain("trusts arn:aws:iam::999999999999:role/product-catalog-service-pipeline-build");
            expect(message).to.contain("but this pipeline builds as arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build");
        });

        it("refuses a target deployed for another stage", async () => {
            const message = await failure({ ...target, stage: "prod" });
            expect(message).to.contain('deploys stage "prod", not "dev"');
        });
    });
});
