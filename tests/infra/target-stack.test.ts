// The target stack, evaluated from index.ts with the shipped Pulumi.target.yaml under Pulumi's mock runtime.

import { expect } from "chai";
import { allowedActions, expectLeastPrivilege, list, statement } from "../helpers/iam";
import { policyDocument, RecordedResource, runStack, TARGET_ACCOUNT, MockCloud } from "../helpers/pulumi-mocks";
import { loadStackFile } from "../helpers/stack-files";
import { DEPLOY_STACK_ACTIONS } from "../../components/policies";
import { parseTargetOutputs, targetOutputNames } from "../../components/target-contract";

/** Read actions as IAM names them (apigateway:GET reads API Gateway). */
const READ = /^[a-z0-9-]+:(Get|Describe|List|GET$)/;

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

describe("target stack (index.ts, Pulumi.target.yaml)", () => {
    let cloud: MockCloud;
    let outputs: Record<string, any>;

    before(async () => {
        ({ cloud, outputs } = await runStack({ stack: "target", accountId: TARGET_ACCOUNT, config: loadStackFile("Pulumi.target.yaml") }));
    });

    const policyOf = (roleSuffix: string) => {
        const role = cloud.one(ROLE, roleSuffix);
        const attached = cloud.ofType(ROLE_POLICY).filter((p) => p.inputs.role === role.id);
        expect(attached, `inline policies of ${role.name}`).to.have.length(1);
        return policyDocument(attached[0].inputs.policy);
    };

    it("exports what the tools stack reads, derived from the resources", () => {
        expect(outputs).to.deep.equal({
            deployer: "serverless",
            serviceName: "product-catalog-service",
            stage: "dev",
            accountId: TARGET_ACCOUNT,
            region: "us-east-1",
            deployRoleArn: "arn:aws:iam::222222222222:role/deploy-product-catalog-service-dev",
            deploymentBucketName: cloud.one("aws:s3/bucket:Bucket").state.bucket,
            permissionsBoundaryArn: "arn:aws:iam::222222222222:policy/boundary-product-catalog-service-dev",
            trustedBuildRoleArn: "arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build-dev",
            cfnExecutionRoleArn: "arn:aws:iam::222222222222:role/cfn-exec-product-catalog-service-dev",
            driftRoleArn: "arn:aws:iam::222222222222:role/drift-product-catalog-service-dev",
        });
        expect(outputs.deployRoleArn).to.equal(cloud.one(ROLE, "deploy-role").state.arn);
        expect(outputs.cfnExecutionRoleArn).to.equal(cloud.one(ROLE, "cfn-execution-role").state.arn);
        expect(outputs.driftRoleArn).to.equal(cloud.one(ROLE, "drift-role").state.arn);
    });

    it("exports exactly the contract's outputs for its deployer, each valid by the contract's checks", () => {
        expect(Object.keys(outputs)).to.have.members([...targetOutputNames("serverless")]);
        expect(parseTargetOutputs(outputs, "target")).to.deep.equal({ outputs, problems: [] });
    });

    it("tags every resource through the provider and pins the account", () => {
        const provider = cloud.one("pulumi:providers:aws");
        const tags = JSON.parse(provider.inputs.defaultTags).tags;
        expect(tags).to.deep.equal({ project: "serverless-cross-account-cicd", stack: "target", stage: "dev", "managed-by": "pulumi" });
        expect(JSON.parse(provider.inputs.allowedAccountIds)).to.deep.equal([TARGET_ACCOUNT]);
        expect(provider.inputs.region).to.equal("us-east-1");
    });

    describe("deploy role", () => {
        it("is assumable only by this stage's build role of the tools account, <prefix>-dev", () => {
            const role = cloud.one(ROLE, "deploy-role");
            const trust = policyDocument(role.inputs.assumeRolePolicy);
            expect(trust.Statement).to.deep.equal([
                {
                    Sid: "ThisStagesBuildRoleOnly",
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::111111111111:root" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build-dev" },
                    },
                },
            ]);
            expect(trust.Statement[0].Condition.ArnEquals["aws:PrincipalArn"]).to.equal(outputs.trustedBuildRoleArn);
            expect(role.inputs.maxSessionDuration).to.equal(3600);
        });

        it("trusts another prefix's stage role when pipelineBuildRoleName says so, and never the drift check's", async () => {
            const config = {
                ...loadStackFile("Pulumi.target-prod.yaml"),
                "serverless-cross-account-cicd:pipelineBuildRoleName": "team-build",
            };
            const { cloud: c, outputs: o } = await runStack({ stack: "target-prod", accountId: "333333333333", config });
            const principals = (suffix: string) =>
                policyDocument(c.one(ROLE, suffix).inputs.assumeRolePolicy).Statement.map(
                    (s: any) => s.Condition.ArnEquals["aws:PrincipalArn"],
                );
            expect(principals("deploy-role")).to.deep.equal(["arn:aws:iam::111111111111:role/team-build-prod"]);
            expect(principals("drift-role")).to.deep.equal(["arn:aws:iam::111111111111:role/team-build-drift"]);
            expect(o.trustedBuildRoleArn).to.equal("arn:aws:iam::111111111111:role/team-build-prod");
        });

        it("runs change sets of this stage's stack only, and never creates, updates or deletes a stack itself", () => {
            const doc = policyOf("deploy-role");
            const stack = statement(doc, "ServiceStack");
            expect(stack.Resource).to.equal("arn:aws:cloudformation:us-east-1:222222222222:stack/product-catalog-service-dev/*");
            expect(list(stack.Action)).to.deep.equal(DEPLOY_STACK_ACTIONS);
            expect(list(stack.Action)).to.include.members([
                "cloudformation:CreateChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DescribeStacks",
            ]);
            const cloudFormation = allowedActions(doc).filter((a) => a.startsWith("cloudformation:"));
            for (const a of ["CreateStack", "UpdateStack", "DeleteStack", "DetectStackDrift"]) {
                expect(cloudFormation).to.not.include(`cloudformation:${a}`);
            }
        });

        it("uses the deployment bucket under this stage's prefix only", () => {
            const doc = policyOf("deploy-role");
            const bucket = outputs.deploymentBucketName;
            expect(statement(doc, "DeploymentBucketLocation").Resource).to.equal(`arn:aws:s3:::${bucket}`);
            expect(statement(doc, "DeploymentBucketListing")).to.deep.include({
                Action: "s3:ListBucket",
                Resource: `arn:aws:s3:::${bucket}`,
                Condition: { StringLike: { "s3:prefix": "serverless/product-catalog-service/dev/*" } },
            });
            expect(statement(doc, "DeploymentArtifacts").Resource).to.equal(
                `arn:aws:s3:::${bucket}/serverless/product-catalog-service/dev/*`,
            );
        });

        it("may pass only the execution role, only to CloudFormation", () => {
            const pass = statement(policyOf("deploy-role"), "PassExecutionRoleToCloudFormation");
            expect(pass.Resource).to.equal(outputs.cfnExecutionRoleArn);
            expect(pass.Condition).to.deep.equal({ StringEquals: { "iam:PassedToService": "cloudformation.amazonaws.com" } });
        });

        it("has no IAM, Lambda, DynamoDB, logs or API Gateway right at all but PassRole, and no wildcard", () => {
            const doc = policyOf("deploy-role");
            expectLeastPrivilege(doc);
            expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal([
                "ServiceStack",
                "DeploymentBucketLocation",
                "DeploymentBucketListing",
                "DeploymentArtifacts",
                "PassExecutionRoleToCloudFormation",
            ]);
            const otherServices = allowedActions(doc).filter((a) => /^(iam|lambda|dynamodb|logs|apigateway|sts):/.test(a));
            expect(otherServices).to.deep.equal(["iam:PassRole"]);
        });
    });

    describe("drift role", () => {
        it("is assumable only by the tools account's drift check, <prefix>-drift", () => {
            const role = cloud.one(ROLE, "drift-role");
            expect(role.inputs.name).to.equal("drift-product-catalog-service-dev");
            expect(policyDocument(role.inputs.assumeRolePolicy).Statement).to.deep.equal([
                {
                    Sid: "DriftCheckOnly",
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::111111111111:root" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build-drift" },
                    },
                },
            ]);
            expect(role.inputs.maxSessionDuration).to.equal(3600);
        });

        it("detects drift on this stage's stack and reads exactly what the execution role may read there; writes nothing", () => {
            const doc = policyOf("drift-role");
            expect(statement(doc, "DetectStackDrift")).to.deep.equal({
                Sid: "DetectStackDrift",
                Effect: "Allow",
                Action: [
                    "cloudformation:DetectStackDrift",
                    "cloudformation:DetectStackResourceDrift",
                    "cloudformation:DescribeStackResourceDrifts",
                ],
                Resource: "arn:aws:cloudformation:us-east-1:222222222222:stack/product-catalog-service-dev/*",
            });
            expectLeastPrivilege(doc, ["cloudformation:DescribeStackDriftDetectionStatus"]);
            const exec = policyOf("cfn-execution-role");
            const reads = doc.Statement.filter((s: any) => s.Sid.startsWith("DriftRead"));
            expect(reads.map((s: any) => s.Sid)).to.deep.equal([
                "DriftReadServiceFunctions",
                "DriftReadFunctionLogGroups",
                "DriftReadDescribeLogGroups",
                "DriftReadRestApis",
                "DriftReadServiceTable",
                "DriftReadReadAndRemoveFunctionRole",
            ]);
            for (const read of reads) {
                const source = statement(exec, read.Sid.slice("DriftRead".length));
                expect(read.Resource, read.Sid).to.deep.equal(source.Resource);
                expect(list(read.Action), read.Sid).to.deep.equal(
                    list(source.Action).filter((a: string) => READ.test(a) && a !== "iam:PassRole"),
                );
                expect(read.Condition, read.Sid).to.equal(undefined);
            }
            // nothing but reads and the drift detection itself: no write, no PassRole, no role to assume
            const detection = ["cloudformation:DetectStackDrift", "cloudformation:DetectStackResourceDrift"];
            expect(allowedActions(doc).filter((a) => !READ.test(a) && !detection.includes(a))).to.deep.equal([]);
            expect(doc.Statement.every((s: any) => s.Effect === "Allow")).to.equal(true);
        });

        it("is a role of its own: the deploy role does not trust the drift check, nor the drift role a stage's build", () => {
            expect(outputs.driftRoleArn).to.not.equal(outputs.deployRoleArn);
            const principal = (suffix: string) =>
                policyDocument(cloud.one(ROLE, suffix).inputs.assumeRolePolicy).Statement.map(
                    (st: any) => st.Condition.ArnEquals["aws:PrincipalArn"],
                );
            expect(principal("deploy-role")).to.not.include("arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build-drift");
            expect(principal("drift-role")).to.not.include(outputs.trustedBuildRoleArn);
        });
    });

    describe("CloudFormation execution role", () => {
        it("is assumable only by CloudFormation in this account", () => {
            const trust = policyDocument(cloud.one(ROLE, "cfn-execution-role").inputs.assumeRolePolicy);
            expect(trust.Statement).to.deep.equal([
                {
                    Effect: "Allow",
                    Principal: { Service: "cloudformation.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": TARGET_ACCOUNT } },
                },
            ]);
        });

        it("creates or changes function roles only with the permissions boundary", () => {
            const doc = policyOf("cfn-execution-role");
            const roles = statement(doc, "FunctionRoleWithBoundary");
            // the one function role by its exact name: a pattern would also match a stage "dev-<suffix>"'s role
            expect(roles.Resource).to.equal("arn:aws:iam::222222222222:role/product-catalog-service-dev-lambda");
            expect(roles.Condition).to.deep.equal({ StringEquals: { "iam:PermissionsBoundary": outputs.permissionsBoundaryArn } });
            expect(list(roles.Action)).to.include.members(["iam:CreateRole", "iam:PutRolePolicy"]);
            // no managed policy (AdministratorAccess, say) can be attached to it
            expect(allowedActions(doc)).to.not.include("iam:AttachRolePolicy");
            // Every other statement that grants an IAM write must not be able to create or edit policies.
            const unconditionalIam = doc.Statement.filter((s: any) => s.Sid !== "FunctionRoleWithBoundary")
                .flatMap((s: any) => list(s.Action))
                .filter((a: string) => /^iam:(Create|Put|Attach|Update)/.test(a));
            expect(unconditionalIam).to.deep.equal([]);
            const pass = statement(doc, "PassFunctionRoleToLambda");
            expect(pass.Condition).to.deep.equal({ StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } });
        });

        it("scopes functions, logs and tables to <service>-<stage>-*", () => {
            const doc = policyOf("cfn-execution-role");
            expect(statement(doc, "ServiceFunctions").Resource).to.equal(
                "arn:aws:lambda:us-east-1:222222222222:function:product-catalog-service-dev-*",
            );
            expect(statement(doc, "FunctionLogGroups").Resource).to.deep.equal([
                "arn:aws:logs:us-east-1:222222222222:log-group:/aws/lambda/product-catalog-service-dev-*",
            ]);
            expect(statement(doc, "ServiceTable").Resource).to.equal(
                "arn:aws:dynamodb:us-east-1:222222222222:table/product-catalog-service-dev-*",
            );
            expect(list(statement(doc, "ServiceTable").Action)).to.not.include("dynamodb:DeleteTable");
            expectLeastPrivilege(doc);
        });

        it("is not itself named like the roles it may manage", () => {
            for (const suffix of ["cfn-execution-role", "deploy-role", "drift-role"]) {
                expect(cloud.one(ROLE, suffix).inputs.name).to.not.match(/^product-catalog-service-dev-/);
            }
        });
    });

    describe("permissions boundary", () => {
        it("caps function roles to the stage's tables, logs and tracing and protects itself", () => {
            const boundary = cloud.one("aws:iam/policy:Policy", "permissions-boundary");
            expect(boundary.inputs.name).to.equal("boundary-product-catalog-service-dev");
            const doc = policyDocument(boundary.inputs.policy);
            expectLeastPrivilege(doc, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
            expect(statement(doc, "ServiceTableItems").Resource).to.deep.equal([
                "arn:aws:dynamodb:us-east-1:222222222222:table/product-catalog-service-dev-*",
                "arn:aws:dynamodb:us-east-1:222222222222:table/product-catalog-service-dev-*/index/*",
            ]);
            const deny = statement(doc, "DenyChangingThisBoundary");
            expect(deny.Effect).to.equal("Deny");
            expect(deny.Resource).to.equal(outputs.permissionsBoundaryArn);
            expect(list(deny.Action)).to.include.members(["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"]);
            expect(statement(doc, "DenyRemovingAnyBoundary").Effect).to.equal("Deny");
        });
    });

    describe("deployment bucket", () => {
        let parts: Record<string, RecordedResource>;
        before(() => {
            const bucketId = cloud.one("aws:s3/bucket:Bucket").id;
            parts = Object.fromEntries(
                cloud.resources.filter((r) => r.inputs.bucket === bucketId).map((r) => [r.type.split(":").pop()!, r]),
            );
        });

        it("is encrypted, versioned and expires old versions", () => {
            expect(parts.BucketServerSideEncryptionConfiguration.inputs.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({
                sseAlgorithm: "AES256",
            });
            expect(parts.BucketVersioning.inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
            const rule = parts.BucketLifecycleConfiguration.inputs.rules[0];
            expect(rule.status).to.equal("Enabled");
            expect(rule.noncurrentVersionExpiration.noncurrentDays).to.be.greaterThan(0);
        });

        it("blocks public access, enforces the owner and refuses plain HTTP", () => {
            expect(parts.BucketPublicAccessBlock.inputs).to.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            expect(parts.BucketOwnershipControls.inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
            const [deny] = policyDocument(parts.BucketPolicy.inputs.policy).Statement;
            expect(deny).to.deep.include({
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            });
        });
    });

    it("creates exactly the resources of a target account", () => {
        const counts: Record<string, number> = {};
        for (const r of cloud.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
        expect(counts).to.deep.equal({
            "pulumi:providers:aws": 1,
            "cicd:target:CrossAccountRoles": 1,
            "cicd:storage:SecureBucket": 1,
            "aws:s3/bucket:Bucket": 1,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
            "aws:s3/bucketVersioning:BucketVersioning": 1,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
            "aws:s3/bucketPolicy:BucketPolicy": 1,
            "aws:iam/policy:Policy": 1,
            "aws:iam/role:Role": 3,
            "aws:iam/rolePolicy:RolePolicy": 3,
        });
    });
});

describe("target stack for the pulumi deployer (Pulumi.target.yaml + deployer: pulumi)", () => {
    let cloud: MockCloud;
    let outputs: Record<string, any>;
    before(async () => {
        const config = { ...loadStackFile("Pulumi.target.yaml"), "serverless-cross-account-cicd:deployer": "pulumi" };
        ({ cloud, outputs } = await runStack({ stack: "target", accountId: TARGET_ACCOUNT, config }));
    });
    const deployPolicy = () => {
        const role = cloud.one(ROLE, "deploy-role");
        return policyDocument(cloud.ofType(ROLE_POLICY).find((p) => p.inputs.role === role.id)!.inputs.policy);
    };

    it("has no CloudFormation execution role, and a rotated secrets key that only this account's IAM grants", () => {
        expect(cloud.ofType(ROLE).map((r) => r.name)).to.deep.equal(["cross-account-deploy-role"]);
        const key = cloud.one("aws:kms/key:Key", "pulumi-secrets-key");
        expect(key.inputs.enableKeyRotation).to.equal(true);
        expect(JSON.parse(key.inputs.policy).Statement).to.deep.equal([
            {
                Sid: "EnableIamPoliciesOfThisAccount",
                Effect: "Allow",
                Principal: { AWS: "arn:aws:iam::222222222222:root" },
                Action: "kms:*",
                Resource: "*",
            },
        ]);
        expect(cloud.one("aws:kms/alias:Alias").inputs.name).to.equal("alias/pulumi-secrets-product-catalog-service-dev");
        expect(outputs).to.include({ deployer: "pulumi", pulumiSecretsKeyArn: key.state.arn });
        expect(outputs).to.not.have.property("cfnExecutionRoleArn");
        expect(outputs).to.not.have.property("driftRoleArn");
        expect(Object.keys(outputs)).to.have.members([...targetOutputNames("pulumi")]);
        expect(parseTargetOutputs(outputs, "target").problems).to.deep.equal([]);
    });

    it("gives the deploy role what the execution role would have, minus reading code from the bucket, plus its state and key", () => {
        const doc = deployPolicy();
        expect(doc.Statement.map((s: any) => s.Sid)).to.deep.equal([
            "DeploymentBucketLocation",
            "DeploymentBucketListing",
            "PulumiState",
            "PulumiSecrets",
            "ServiceFunctions",
            "ApiGatewayMayInvokeFunctions",
            "FunctionLogGroups",
            "DescribeLogGroups",
            "RestApis",
            "DenyOtherRestApiNames",
            "DenyOtherRestApis",
            "ServiceTable",
            "FunctionRoleWithBoundary",
            "ReadAndRemoveFunctionRole",
            "PassFunctionRoleToLambda",
        ]);
        const bucket = outputs.deploymentBucketName;
        expect(statement(doc, "PulumiState").Resource).to.equal(`arn:aws:s3:::${bucket}/pulumi/product-catalog-service/dev/*`);
        expect(statement(doc, "DeploymentBucketListing").Condition).to.deep.equal({
            StringLike: { "s3:prefix": "pulumi/product-catalog-service/dev/*" },
        });
        expect(statement(doc, "PulumiSecrets").Resource).to.equal(outputs.pulumiSecretsKeyArn);
        expect(statement(doc, "FunctionRoleWithBoundary").Condition).to.deep.equal({
            StringEquals: { "iam:PermissionsBoundary": outputs.permissionsBoundaryArn },
        });
        expect(allowedActions(doc).filter((a) => /^(cloudformation|sts):/.test(a))).to.deep.equal([]);
        // the same trust as with the serverless deployer: this stage's build role only
        const trust = policyDocument(cloud.one(ROLE, "deploy-role").inputs.assumeRolePolicy);
        expect(trust.Statement.map((s: any) => s.Condition.ArnEquals["aws:PrincipalArn"])).to.deep.equal([
            "arn:aws:iam::111111111111:role/product-catalog-service-pipeline-build-dev",
        ]);
        expectLeastPrivilege(doc);
    });
});
