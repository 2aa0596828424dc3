// The same rules (policy/cfn-rules.ts) on the CloudFormation template `sls package` makes of serverless.yml —
// what the pipeline actually deploys into a target account. The packaged template has no key, bucket, build
// project or pipeline, so the test adds hardened ones (which must pass) before breaking one property at a time.

import { expect } from "chai";
import { CFN_RULES, CfnTemplateLike, validateTemplate } from "../../policy/cfn-rules";
import { policies, RULE } from "../../policy/rules";
import { packageService } from "../helpers/sls-package";
import { clone } from "./harness";
import { ROUTES } from "../../functions/route-table";

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

const sub = (s: string) => ({ "Fn::Sub": s });
const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });

/** Hardened resources of the kinds the packaged template lacks, in CloudFormation's own property names. */
const ADDITIONS: Template["Resources"] = {
    ArtifactKey: {
        Type: "AWS::KMS::Key",
        Properties: {
            EnableKeyRotation: true,
            KeyPolicy: {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { AWS: sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                        Action: "kms:*",
                        Resource: "*",
                    },
                ],
            },
        },
    },
    ArtifactBucket: {
        Type: "AWS::S3::Bucket",
        Properties: {
            BucketEncryption: {
                ServerSideEncryptionConfiguration: [
                    { ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: arnOf("ArtifactKey") } },
                ],
            },
            VersioningConfiguration: { Status: "Enabled" },
            PublicAccessBlockConfiguration: {
                BlockPublicAcls: true,
                BlockPublicPolicy: true,
                IgnorePublicAcls: "true",
                RestrictPublicBuckets: true,
            },
        },
    },
    ArtifactBucketPolicy: {
        Type: "AWS::S3::BucketPolicy",
        Properties: {
            Bucket: { Ref: "ArtifactBucket" },
            PolicyDocument: {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [arnOf("ArtifactBucket"), { "Fn::Join": ["", [arnOf("ArtifactBucket"), "/*"]] }],
                        Condition: { Bool: { "aws:SecureTransport": false } },
                    },
                ],
            },
        },
    },
    BuildProject: {
        Type: "AWS::CodeBuild::Project",
        Properties: {
            Environment: {
                Type: "LINUX_CONTAINER",
                ComputeType: "BUILD_GENERAL1_SMALL",
                Image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                PrivilegedMode: false,
            },
            LogsConfig: { CloudWatchLogs: { Status: "ENABLED", GroupName: "/aws/codebuild/x" } },
            Source: { Type: "CODEPIPELINE" },
            Artifacts: { Type: "CODEPIPELINE" },
            ServiceRole: "arn:aws:iam::111111111111:role/build",
        },
    },
    Pipeline: {
        Type: "AWS::CodePipeline::Pipeline",
        Properties: {
            RoleArn: "arn:aws:iam::111111111111:role/pipeline",
            ArtifactStore: { Type: "S3", Location: { Ref: "ArtifactBucket" }, EncryptionKey: { Type: "KMS", Id: arnOf("ArtifactKey") } },
            Stages: [],
        },
    },
    CrossAccountRole: {
        Type: "AWS::IAM::Role",
        Properties: {
            AssumeRolePolicyDocument: {
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { AWS: "arn:aws:iam::111111111111:root" },
                        Action: "sts:AssumeRole",
                        Condition: { ArnEquals: { "aws:PrincipalArn": sub("arn:${AWS::Partition}:iam::111111111111:role/build") } },
                    },
                ],
            },
        },
    },
};

interface BadTemplate {
    readonly rule: string;
    readonly title: string;
    readonly edit: (r: Template["Resources"]) => void;
    readonly reported: string[];
    readonly says: string;
}

const lambdaPolicy = (r: Template["Resources"]) => r.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument;
const trust = (r: Template["Resources"], id: string) => r[id].Properties.AssumeRolePolicyDocument.Statement[0];

const BAD: BadTemplate[] = [
    {
        rule: RULE.noWildcardAdmin,
        title: "function role statement * on *",
        edit: (r) => lambdaPolicy(r).Statement.push({ Effect: "Allow", Action: "*", Resource: "*" }),
        reported: ["IamRoleLambdaExecution"],
        says: "Policies[0].PolicyDocument",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: 'function role statement dynamodb:* on ["*"]',
        edit: (r) => lambdaPolicy(r).Statement.push({ Effect: "Allow", Action: ["dynamodb:*"], Resource: ["*"] }),
        reported: ["IamRoleLambdaExecution"],
        says: "dynamodb:*",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "key policy: default statement for another account's root",
        edit: (r) => (r.ArtifactKey.Properties.KeyPolicy.Statement[0].Principal = { AWS: "arn:aws:iam::333333333333:root" }),
        reported: ["ArtifactKey"],
        says: "kms:*",
    },
    // The trust rule's variants break the cross-account role: the function role is under a permissions boundary,
    // where any other principal is (also) rule 12's business — see its own variants below.
    {
        rule: RULE.trustPinned,
        title: "role trusts its own account root (Fn::Sub) without a condition",
        edit: (r) => {
            trust(r, "CrossAccountRole").Principal = { AWS: sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") };
            delete trust(r, "CrossAccountRole").Condition;
        },
        reported: ["CrossAccountRole"],
        says: "without a condition pinning aws:PrincipalArn",
    },
    {
        rule: RULE.trustPinned,
        title: "cross-account role loses its PrincipalArn condition",
        edit: (r) => delete trust(r, "CrossAccountRole").Condition,
        reported: ["CrossAccountRole"],
        says: "arn:aws:iam::111111111111:root",
    },
    {
        rule: RULE.trustPinned,
        title: 'role trusts "*"',
        edit: (r) => (trust(r, "CrossAccountRole").Principal = "*"),
        reported: ["CrossAccountRole"],
        says: "every principal",
    },
    {
        rule: RULE.s3Hardened,
        title: "bucket versioning Suspended",
        edit: (r) => (r.ArtifactBucket.Properties.VersioningConfiguration.Status = "Suspended"),
        reported: ["ArtifactBucket"],
        says: "not versioned",
    },
    {
        rule: RULE.s3Hardened,
        title: "bucket without encryption",
        edit: (r) => delete r.ArtifactBucket.Properties.BucketEncryption,
        reported: ["ArtifactBucket"],
        says: "no default encryption",
    },
    {
        rule: RULE.s3Hardened,
        title: 'public access block BlockPublicAcls "false"',
        edit: (r) => (r.ArtifactBucket.Properties.PublicAccessBlockConfiguration.BlockPublicAcls = "false"),
        reported: ["ArtifactBucket"],
        says: "blockPublicAcls",
    },
    {
        rule: RULE.s3Hardened,
        title: "bucket policy without the TLS deny (objects not covered)",
        edit: (r) => (r.ArtifactBucketPolicy.Properties.PolicyDocument.Statement[0].Resource = [arnOf("ArtifactBucket")]),
        reported: ["ArtifactBucket"],
        says: "no TLS-only bucket policy",
    },
    {
        rule: RULE.kmsRotation,
        title: "key without rotation",
        edit: (r) => (r.ArtifactKey.Properties.EnableKeyRotation = false),
        reported: ["ArtifactKey"],
        says: "rotation",
    },
    {
        rule: RULE.codebuildPrivileged,
        title: "build project privileged",
        edit: (r) => (r.BuildProject.Properties.Environment.PrivilegedMode = true),
        reported: ["BuildProject"],
        says: "privileged mode",
    },
    {
        rule: RULE.codebuildLogs,
        title: "build project logs DISABLED",
        edit: (r) => (r.BuildProject.Properties.LogsConfig.CloudWatchLogs.Status = "DISABLED"),
        reported: ["BuildProject"],
        says: "DISABLED",
    },
    {
        rule: RULE.pipelineEncrypted,
        title: "pipeline artifact store without EncryptionKey",
        edit: (r) => delete r.Pipeline.Properties.ArtifactStore.EncryptionKey,
        reported: ["Pipeline"],
        says: "no encryptionKey",
    },
    {
        rule: RULE.pipelineEncrypted,
        title: "multi-region ArtifactStores, one without EncryptionKey",
        edit: (r) => {
            const store = r.Pipeline.Properties.ArtifactStore;
            delete r.Pipeline.Properties.ArtifactStore;
            r.Pipeline.Properties.ArtifactStores = [
                { Region: "us-east-1", ArtifactStore: store },
                { Region: "eu-west-1", ArtifactStore: { Type: "S3", Location: "artifacts-eu" } },
            ];
        },
        reported: ["Pipeline"],
        says: "artifact store artifacts-eu",
    },
    {
        rule: RULE.dynamodbPitr,
        title: "table without PITR",
        edit: (r) => (r.ProductsTable.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled = false),
        reported: ["ProductsTable"],
        says: "point-in-time recovery",
    },
    {
        rule: RULE.dynamodbDeletionProtection,
        title: "table without deletion protection",
        edit: (r) => delete r.ProductsTable.Properties.DeletionProtectionEnabled,
        reported: ["ProductsTable"],
        says: "deletion protection",
    },
    {
        rule: RULE.lambdaRuntime,
        title: "function on nodejs16.x",
        edit: (r) => (r.CreateProductLambdaFunction.Properties.Runtime = "nodejs16.x"),
        reported: ["CreateProductLambdaFunction"],
        says: "nodejs16.x is deprecated",
    },
    {
        rule: RULE.logRetention,
        title: "log group without RetentionInDays",
        edit: (r) => delete r.FindProductLogGroup.Properties.RetentionInDays,
        reported: ["FindProductLogGroup"],
        says: "no retention",
    },
    {
        rule: RULE.functionRoleTrust,
        title: "function role (under the boundary) also trusts a role of another account",
        edit: (r) => (trust(r, "IamRoleLambdaExecution").Principal.AWS = "arn:aws:iam::333333333333:role/intruder"),
        reported: ["IamRoleLambdaExecution"],
        says: "AWS:arn:aws:iam::333333333333:role/intruder",
    },
    {
        rule: RULE.functionRoleTrust,
        title: "function role trusts EC2 instead of Lambda",
        edit: (r) => (trust(r, "IamRoleLambdaExecution").Principal = { Service: ["ec2.amazonaws.com"] }),
        reported: ["IamRoleLambdaExecution"],
        says: "trusts only lambda.amazonaws.com",
    },
    {
        rule: RULE.tableRetained,
        title: "table deleted with the stack (no DeletionPolicy)",
        edit: (r) => delete (r.ProductsTable as { DeletionPolicy?: string }).DeletionPolicy,
        reported: ["ProductsTable"],
        says: "got none / Retain",
    },
    {
        rule: RULE.tableRetained,
        title: "table replaced away (UpdateReplacePolicy Delete)",
        edit: (r) => ((r.ProductsTable as { UpdateReplacePolicy?: string }).UpdateReplacePolicy = "Delete"),
        reported: ["ProductsTable"],
        says: "got Retain / Delete",
    },
];

describe("policy rules on the `sls package` CloudFormation template", () => {
    let packaged: CfnTemplateLike;
    let extended: Template;

    before(async () => {
        packaged = (await packageService()).template as CfnTemplateLike;
        extended = { Resources: { ...clone(packaged.Resources as Template["Resources"]), ...clone(ADDITIONS) } };
    });

    it("the packaged template has no violation", () => {
        expect(validateTemplate(packaged)).to.deep.equal([]);
    });

    it("the packaged template gives the IAM, DynamoDB, Lambda and log rules something to check", () => {
        const types = Object.values(packaged.Resources).map((r) => r.Type);
        expect(types).to.include.members(["AWS::IAM::Role", "AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::Logs::LogGroup"]);
    });

    it("the hardened additions pass too", () => {
        expect(validateTemplate(extended)).to.deep.equal([]);
    });

    it("has the Pulumi pack's rules plus the template-only table retention, and a bad template for each", () => {
        const ids = [...policies.map((p) => p.name), RULE.tableRetained].sort();
        expect([...new Set([...CFN_RULES.map((r) => r.id), RULE.s3Hardened])].sort()).to.deep.equal(ids);
        expect([...new Set(BAD.map((b) => b.rule))].sort()).to.deep.equal(ids);
    });

    for (const bad of BAD) {
        it(`${bad.rule}: ${bad.title}`, () => {
            const template = clone(extended);
            bad.edit(template.Resources);
            const violations = validateTemplate(template);
            const detail = violations.map((v) => `${v.policy} @ ${v.logicalId}: ${v.message}`).join("\n");
            expect(
                violations.map((v) => `${v.policy} @ ${v.logicalId}`),
                detail,
            ).to.deep.equal(bad.reported.map((r) => `${bad.rule} @ ${r}`));
            for (const v of violations) expect(v.message).to.include(bad.says);
        });
    }

    it("the packaged function role is bounded and trusts Lambda only; the packaged table is retained", () => {
        // What makes "no violation" above a passing case of rules 12 and 13 rather than nothing to check.
        const role = packaged.Resources.IamRoleLambdaExecution;
        expect(role.Properties?.PermissionsBoundary).to.not.equal(undefined);
        expect(role.Properties?.AssumeRolePolicyDocument.Statement.map((s: { Principal: unknown }) => s.Principal)).to.deep.equal([
            { Service: ["lambda.amazonaws.com"] },
        ]);
        expect([packaged.Resources.ProductsTable.DeletionPolicy, packaged.Resources.ProductsTable.UpdateReplacePolicy]).to.deep.equal([
            "Retain",
            "Retain",
        ]);
    });

    it("iam-bounded-role-trusts-lambda-only applies to bounded roles only; a role without a boundary may trust a service", () => {
        const template = clone(extended);
        trust(template.Resources, "CrossAccountRole").Principal = { Service: "codebuild.amazonaws.com" };
        delete trust(template.Resources, "CrossAccountRole").Condition;
        expect(validateTemplate(template)).to.deep.equal([]);
        // the same trust with a boundary: now a function role, and refused
        template.Resources.CrossAccountRole.Properties.PermissionsBoundary = "arn:aws:iam::222222222222:policy/boundary";
        expect(validateTemplate(template).map((v) => `${v.policy} @ ${v.logicalId}`)).to.deep.equal([
            `${RULE.functionRoleTrust} @ CrossAccountRole`,
        ]);
    });

    it("allowedRuntimes narrows or widens the runtime rule", () => {
        expect(validateTemplate(packaged, { allowedRuntimes: ["nodejs24.x"] }).map((v) => v.policy)).to.deep.equal(
            ROUTES.map(() => RULE.lambdaRuntime),
        );
        const old = clone(packaged) as Template;
        old.Resources.CreateProductLambdaFunction.Properties.Runtime = "nodejs20.x";
        expect(validateTemplate(old, { allowedRuntimes: ["nodejs20.x", "nodejs22.x"] })).to.deep.equal([]);
    });
});
