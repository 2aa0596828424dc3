// IAM simulation of the cross-account deployment: every role, trust policy, inline policy and boundary comes
// from the stacks evaluated under Pulumi mocks and from `sls package` (tests/iam/policies-from-stacks.ts); each
// case is a request AWS would evaluate, run through @cloud-copilot/iam-simulate (tests/iam/simulate.ts).
// What a case asks (principal, action, resource, context) is written here; what is allowed never is.
// The matrix is printed as a markdown table after the run.

import { expect } from "chai";
import { AllStacks, loadAllStacks, NamedPolicy, PolicyDoc, RoleModel } from "./policies-from-stacks";
import { Caller, CaseResult, IamCase, matrixTable, simulate } from "./simulate";

// Principals and roles that are not the project's: the attacker's side of a case.
const THIRD_ACCOUNT = "333333333333";
const doc = (...Statement: any[]): PolicyDoc => ({ Version: "2012-10-17", Statement });
/** What an administrator of another account or of the tools account holds: everything its own account grants. */
const ADMIN: NamedPolicy = { name: "AdministratorAccess", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) };
const AWS_ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess";

const caller = (label: string, role: RoleModel): Caller => ({ label, principal: role.arn, identity: role.inline, boundary: role.boundary });
const service = (principal: string): Caller => ({ label: principal, principal, identity: [] });

type CaseFactory = (s: AllStacks) => IamCase;

/** Everything the cases refer to, derived from the stacks and the packaged template. */
function world(s: AllStacks) {
    const { target, tools, api, sls } = s;
    const targetAccount = target.outputs.accountId as string;
    const toolsAccount = tools.role("build-role").accountId;
    const region = target.outputs.region as string;
    const arn = (svc: string, rest: string, account = targetAccount) => `arn:aws:${svc}:${region}:${account}:${rest}`;
    const fnRole = sls.functionRole;
    const [tableName] = sls.propertyOf("AWS::DynamoDB::Table", "TableName") as string[];
    const [code] = sls.propertyOf("AWS::Lambda::Function", "Code") as { S3Bucket: string; S3Key: string }[];
    const deploymentBucket = target.bucket("deployment-bucket");
    const apiTable = api.cloud.one("aws:dynamodb/table:Table").state.arn as string;
    return {
        targetAccount,
        toolsAccount,
        region,
        arn,
        build: caller("pipeline build role (tools)", tools.role("build-role")),
        pipelineRole: caller("pipeline role (tools)", tools.role("pipeline-role")),
        ci: caller("test/smoke-test role (tools)", tools.role("ci-role")),
        reportGroupArn: tools.cloud.one("aws:codebuild/reportGroup:ReportGroup").state.arn as string,
        events: caller("EventBridge push-rule role (tools)", tools.role("push-rule-role")),
        deploy: caller("deploy role (target)", target.role("deploy-role")),
        cfn: caller("CFN execution role (target)", target.role("cfn-execution-role")),
        fn: caller("function role (sls template ∩ boundary)", fnRole),
        apiFn: caller(`ProductApi role (api stack, ${api.outputs.stage} ∩ boundary)`, api.role("function-role")),
        deployRole: target.role("deploy-role"),
        cfnRole: target.role("cfn-execution-role"),
        fnRole,
        boundaryArn: target.outputs.permissionsBoundaryArn as string,
        stackArn: (stack: string) => arn("cloudformation", `stack/${stack}/6a1e2f40-0000-11ef-9c4a-0a1b2c3d4e5f`),
        stackName: sls.stackName,
        table: arn("dynamodb", `table/${tableName}`),
        otherTable: arn("dynamodb", "table/other-table"),
        apiTable,
        functionArn: (name: string) => arn("lambda", `function:${name}`),
        apiGateway: (p: string) => `arn:aws:apigateway:${region}::${p}`,
        prefix: `${target.outputs.serviceName}-${target.outputs.stage}`,
        artifact: { bucket: code.S3Bucket, key: code.S3Key, bucketPolicy: deploymentBucket.policy },
        deploymentBucket,
        pipelineArn: tools.cloud.one("aws:codepipeline/pipeline:Pipeline").state.arn as string,
        artifactBucket: tools.bucket("artifacts"),
        drift: caller("drift-check role (tools)", tools.role("drift-role")),
        driftRole: tools.role("drift-role"),
        driftSchedule: caller("EventBridge drift-schedule role (tools)", tools.role("drift-schedule-role")),
        topicArn: tools.outputs.notificationTopicArn as string,
        projectArn: (name: string) => arn("codebuild", `project/${target.outputs.serviceName}-${name}`, toolsAccount),
        pulumiDeploy: caller("deploy role, pulumi deployer (target)", s.targetForPulumi.role("deploy-role")),
        pulumiKeyArn: s.targetForPulumi.outputs.pulumiSecretsKeyArn as string,
        // KMS needs its key policy to allow too; the secrets key's (and, for the other key, the same default one)
        pulumiKeyPolicy: JSON.parse(s.targetForPulumi.cloud.one("aws:kms/key:Key", "pulumi-secrets-key").inputs.policy) as PolicyDoc,
        pulumiState: (stage: string) =>
            `arn:aws:s3:::${s.targetForPulumi.outputs.deploymentBucketName}/pulumi/${target.outputs.serviceName}/${stage}/.pulumi/stacks/serverless-cross-account-cicd/${stage}.json`,
        pulumiBoundaryArn: s.targetForPulumi.outputs.permissionsBoundaryArn as string,
    };
}

const assume = (c: Caller, role: RoleModel, expected: IamCase["expected"], context?: Record<string, string>): IamCase => ({
    caller: c,
    action: "sts:AssumeRole",
    resource: role.arn,
    resourcePolicy: role.trust,
    context,
    expected,
});

const CASES: [string, CaseFactory][] = [
    // ---- who may assume the deploy role (build role identity policy AND deploy role trust) ----
    [
        "build role assumes the deploy role",
        (s) => {
            const w = world(s);
            return assume(w.build, w.deployRole, "Allowed", { "aws:PrincipalArn": w.build.principal });
        },
    ],
    [
        "tools account root cannot assume the deploy role",
        (s) => {
            const w = world(s);
            const root = `arn:aws:iam::${w.toolsAccount}:root`;
            return assume({ label: "tools account root (all permissions)", principal: root, identity: [ADMIN] }, w.deployRole, "Denied", {
                "aws:PrincipalArn": root,
            });
        },
    ],
    [
        "another tools-account role, even an admin, cannot assume the deploy role",
        (s) => {
            const w = world(s);
            const admin = `arn:aws:iam::${w.toolsAccount}:role/tools-admin`;
            return assume(
                { label: "other tools role (AdministratorAccess)", principal: admin, identity: [ADMIN] },
                w.deployRole,
                "Denied",
                { "aws:PrincipalArn": admin },
            );
        },
    ],
    [
        "the test/smoke-test role cannot assume the deploy role (the code under test never gets deploy rights)",
        (s) => {
            const w = world(s);
            return assume(w.ci, w.deployRole, "Denied", { "aws:PrincipalArn": w.ci.principal });
        },
    ],
    [
        "the test/smoke-test role may write its test reports",
        (s) => {
            const w = world(s);
            return {
                caller: w.ci,
                action: "codebuild:BatchPutTestCases",
                resource: w.reportGroupArn,
                resourceAccount: w.toolsAccount,
                expected: "Allowed",
            };
        },
    ],
    [
        "the pipeline's own CodePipeline role cannot assume the deploy role",
        (s) => {
            const w = world(s);
            return assume(w.pipelineRole, w.deployRole, "Denied", { "aws:PrincipalArn": w.pipelineRole.principal });
        },
    ],
    [
        "a third account's role with the build role's name cannot assume the deploy role",
        (s) => {
            const w = world(s);
            const imposter = w.build.principal.replace(`::${w.toolsAccount}:`, `::${THIRD_ACCOUNT}:`);
            return assume(
                { label: `${THIRD_ACCOUNT} role named like the build role (admin)`, principal: imposter, identity: [ADMIN] },
                w.deployRole,
                "Denied",
                {
                    "aws:PrincipalArn": imposter,
                },
            );
        },
    ],
    [
        "build role cannot assume the CFN execution role",
        (s) => {
            const w = world(s);
            return assume(w.build, w.cfnRole, "Denied", { "aws:PrincipalArn": w.build.principal });
        },
    ],
    [
        "build role cannot assume another target role, even one trusting the tools account",
        (s) => {
            const w = world(s);
            const role: RoleModel = {
                source: "hypothetical",
                name: "OrganizationAccountAccessRole",
                arn: `arn:aws:iam::${w.targetAccount}:role/OrganizationAccountAccessRole`,
                accountId: w.targetAccount,
                trust: doc({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${w.toolsAccount}:root` }, Action: "sts:AssumeRole" }),
                inline: [],
            };
            return assume(w.build, role, "Denied", { "aws:PrincipalArn": w.build.principal });
        },
    ],

    // ---- the deploy role ----
    [
        "deploy role passes the CFN execution role to CloudFormation",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "iam:PassRole",
                resource: w.cfnRole.arn,
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
                expected: "Allowed",
            };
        },
    ],
    [
        "deploy role cannot pass the CFN execution role to Lambda",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "iam:PassRole",
                resource: w.cfnRole.arn,
                context: { "iam:PassedToService": "lambda.amazonaws.com" },
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role cannot pass another role (the function role)",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "iam:PassRole",
                resource: w.fnRole.arn,
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role cannot create IAM users",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "iam:CreateUser",
                resource: `arn:aws:iam::${w.targetAccount}:user/backdoor`,
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role cannot attach AdministratorAccess to itself",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "iam:AttachRolePolicy",
                resource: w.deployRole.arn,
                context: { "iam:PolicyARN": AWS_ADMIN_POLICY },
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role creates a change set on the service stack",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "cloudformation:CreateChangeSet", resource: w.stackArn(w.stackName), expected: "Allowed" };
        },
    ],
    [
        "deploy role cannot create a change set on another stack",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "cloudformation:CreateChangeSet", resource: w.stackArn("other-stack"), expected: "Denied" };
        },
    ],
    [
        "deploy role cannot delete the service stack",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "cloudformation:DeleteStack", resource: w.stackArn(w.stackName), expected: "Denied" };
        },
    ],
    [
        "deploy role uploads the packaged artifact (key from the template)",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "s3:PutObject",
                resource: `arn:aws:s3:::${w.artifact.bucket}/${w.artifact.key}`,
                resourceAccount: w.targetAccount,
                resourcePolicy: w.artifact.bucketPolicy,
                context: { "aws:SecureTransport": "true" },
                expected: "Allowed",
            };
        },
    ],
    [
        "deploy role cannot write to another bucket",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "s3:PutObject",
                resource: `arn:aws:s3:::other-bucket/${w.artifact.key}`,
                resourceAccount: w.targetAccount,
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role cannot write under another stage's prefix",
        (s) => {
            const w = world(s);
            const key = w.artifact.key.replace(`/${s.sls.stage}/`, "/prod/");
            return {
                caller: w.deploy,
                action: "s3:PutObject",
                resource: `arn:aws:s3:::${w.artifact.bucket}/${key}`,
                resourceAccount: w.targetAccount,
                resourcePolicy: w.artifact.bucketPolicy,
                context: { "aws:SecureTransport": "true" },
                expected: "Denied",
            };
        },
    ],
    [
        "deploy role cannot update function code directly",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "lambda:UpdateFunctionCode",
                resource: w.functionArn(`${w.prefix}-createProduct`),
                expected: "Denied",
            };
        },
    ],

    // ---- the CloudFormation execution role ----
    [
        "CFN role creates the function role with the boundary (name and boundary from the template)",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:CreateRole",
                resource: w.fnRole.arn,
                context: { "iam:PermissionsBoundary": w.fnRole.boundary!.arn },
                expected: "Allowed",
            };
        },
    ],
    [
        "CFN role cannot create the function role without a boundary",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "iam:CreateRole", resource: w.fnRole.arn, expected: "Denied" };
        },
    ],
    [
        "CFN role cannot create the function role with another boundary",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:CreateRole",
                resource: w.fnRole.arn,
                context: { "iam:PermissionsBoundary": AWS_ADMIN_POLICY },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role cannot create a role outside the service prefix",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:CreateRole",
                resource: `arn:aws:iam::${w.targetAccount}:role/admin`,
                context: { "iam:PermissionsBoundary": w.boundaryArn },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role cannot add a policy to itself",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:PutRolePolicy",
                resource: w.cfnRole.arn,
                context: { "iam:PermissionsBoundary": w.boundaryArn },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role cannot remove the function role's boundary",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "iam:DeleteRolePermissionsBoundary", resource: w.fnRole.arn, expected: "Denied" };
        },
    ],
    [
        "CFN role cannot delete the boundary policy",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "iam:DeletePolicy", resource: w.boundaryArn, expected: "Denied" };
        },
    ],
    [
        "CFN role cannot rewrite the boundary policy",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "iam:CreatePolicyVersion", resource: w.boundaryArn, expected: "Denied" };
        },
    ],
    [
        "CFN role creates a function named with the service prefix",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "lambda:CreateFunction", resource: w.functionArn(`${w.prefix}-x`), expected: "Allowed" };
        },
    ],
    [
        "CFN role cannot create another function",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "lambda:CreateFunction", resource: w.functionArn("other-fn"), expected: "Denied" };
        },
    ],
    [
        "CFN role creates the service table (name from the template)",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "dynamodb:CreateTable", resource: w.table, expected: "Allowed" };
        },
    ],
    [
        "CFN role cannot create another table",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "dynamodb:CreateTable", resource: w.otherTable, expected: "Denied" };
        },
    ],
    [
        "CFN role cannot delete the service table",
        (s) => {
            const w = world(s);
            return { caller: w.cfn, action: "dynamodb:DeleteTable", resource: w.table, expected: "Denied" };
        },
    ],
    [
        "CFN role passes the function role to Lambda",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:PassRole",
                resource: w.fnRole.arn,
                context: { "iam:PassedToService": "lambda.amazonaws.com" },
                expected: "Allowed",
            };
        },
    ],
    [
        "CFN role cannot pass the function role to EC2",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "iam:PassRole",
                resource: w.fnRole.arn,
                context: { "iam:PassedToService": "ec2.amazonaws.com" },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role creates the service's REST API (name from the template)",
        (s) => {
            const w = world(s);
            const [apiName] = s.sls.propertyOf("AWS::ApiGateway::RestApi", "Name") as string[];
            return {
                caller: w.cfn,
                action: "apigateway:POST",
                resource: w.apiGateway("/restapis"),
                resourceAccount: w.targetAccount,
                context: { "apigateway:Request/ApiName": apiName },
                expected: "Allowed",
            };
        },
    ],
    [
        "CFN role cannot delete another REST API of the target account",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "apigateway:DELETE",
                resource: w.apiGateway("/restapis/a1b2c3d4e5"),
                resourceAccount: w.targetAccount,
                context: { "apigateway:Resource/ApiName": "other-team-api" },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role may update its own REST API",
        (s) => {
            const w = world(s);
            const [apiName] = s.sls.propertyOf("AWS::ApiGateway::RestApi", "Name") as string[];
            return {
                caller: w.cfn,
                action: "apigateway:PATCH",
                resource: w.apiGateway("/restapis/a1b2c3d4e5"),
                resourceAccount: w.targetAccount,
                context: { "apigateway:Resource/ApiName": apiName, "apigateway:Request/ApiName": apiName },
                expected: "Allowed",
            };
        },
    ],
    [
        "CFN role cannot rename its REST API to another name",
        (s) => {
            const w = world(s);
            const [apiName] = s.sls.propertyOf("AWS::ApiGateway::RestApi", "Name") as string[];
            return {
                caller: w.cfn,
                action: "apigateway:PATCH",
                resource: w.apiGateway("/restapis/a1b2c3d4e5"),
                resourceAccount: w.targetAccount,
                context: { "apigateway:Resource/ApiName": apiName, "apigateway:Request/ApiName": "other-team-api" },
                expected: "Denied",
            };
        },
    ],
    [
        "CFN role may let API Gateway invoke a service function",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "lambda:AddPermission",
                resource: `arn:aws:lambda:us-east-1:${w.targetAccount}:function:product-catalog-service-dev-createProduct`,
                resourceAccount: w.targetAccount,
                context: { "lambda:Principal": "apigateway.amazonaws.com" },
                expected: "Allowed",
            };
        },
    ],
    [
        "CFN role cannot let anyone else invoke a service function",
        (s) => {
            const w = world(s);
            return {
                caller: w.cfn,
                action: "lambda:AddPermission",
                resource: `arn:aws:lambda:us-east-1:${w.targetAccount}:function:product-catalog-service-dev-createProduct`,
                resourceAccount: w.targetAccount,
                context: { "lambda:Principal": "*" },
                expected: "Denied",
            };
        },
    ],
    [
        "CloudFormation of the target account assumes the CFN role",
        (s) => {
            const w = world(s);
            return assume(service("cloudformation.amazonaws.com"), w.cfnRole, "Allowed", { "aws:SourceAccount": w.targetAccount });
        },
    ],
    [
        "CloudFormation acting for another account cannot assume the CFN role",
        (s) => {
            const w = world(s);
            return assume(service("cloudformation.amazonaws.com"), w.cfnRole, "Denied", { "aws:SourceAccount": THIRD_ACCOUNT });
        },
    ],

    // ---- the function role (serverless template) within its boundary ----
    [
        "function role writes items of its table",
        (s) => {
            const w = world(s);
            return { caller: w.fn, action: "dynamodb:PutItem", resource: w.table, expected: "Allowed" };
        },
    ],
    [
        "function role reads items of its table",
        (s) => {
            const w = world(s);
            return { caller: w.fn, action: "dynamodb:GetItem", resource: w.table, expected: "Allowed" };
        },
    ],
    [
        "function role cannot scan its table",
        (s) => {
            const w = world(s);
            return { caller: w.fn, action: "dynamodb:Scan", resource: w.table, expected: "Denied" };
        },
    ],
    [
        "function role cannot delete items",
        (s) => {
            const w = world(s);
            return { caller: w.fn, action: "dynamodb:DeleteItem", resource: w.table, expected: "Denied" };
        },
    ],
    [
        "function role cannot write another table",
        (s) => {
            const w = world(s);
            return { caller: w.fn, action: "dynamodb:PutItem", resource: w.otherTable, expected: "Denied" };
        },
    ],
    [
        "function role writes its own log stream",
        (s) => {
            const w = world(s);
            return {
                caller: w.fn,
                action: "logs:PutLogEvents",
                resource: w.arn("logs", `log-group:/aws/lambda/${w.prefix}-createProduct:log-stream:2026/01/01/[$LATEST]0a1b`),
                expected: "Allowed",
            };
        },
    ],
    [
        "boundary cuts the framework's `<prefix>*` log statement down to `<prefix>-*`",
        (s) => {
            const w = world(s);
            return {
                caller: w.fn,
                action: "logs:PutLogEvents",
                resource: w.arn("logs", `log-group:/aws/lambda/${w.prefix}elopment-x:log-stream:s`),
                expected: "Denied",
            };
        },
    ],

    // ---- the api stack's function role within its boundary ----
    [
        "ProductApi role writes items of its table",
        (s) => {
            const w = world(s);
            return { caller: w.apiFn, action: "dynamodb:PutItem", resource: w.apiTable, expected: "Allowed" };
        },
    ],
    [
        "ProductApi role cannot scan its table",
        (s) => {
            const w = world(s);
            return { caller: w.apiFn, action: "dynamodb:Scan", resource: w.apiTable, expected: "Denied" };
        },
    ],
    [
        "ProductApi role cannot write the pipeline-deployed stage's table",
        (s) => {
            const w = world(s);
            return { caller: w.apiFn, action: "dynamodb:PutItem", resource: w.table, expected: "Denied" };
        },
    ],

    // ---- tools account ----
    [
        "EventBridge role starts its pipeline",
        (s) => {
            const w = world(s);
            return { caller: w.events, action: "codepipeline:StartPipelineExecution", resource: w.pipelineArn, expected: "Allowed" };
        },
    ],
    [
        "EventBridge role cannot start another pipeline",
        (s) => {
            const w = world(s);
            return {
                caller: w.events,
                action: "codepipeline:StartPipelineExecution",
                resource: w.arn("codepipeline", "other-pipeline", w.toolsAccount),
                expected: "Denied",
            };
        },
    ],
    [
        "build role cannot read artifacts without TLS (bucket policy)",
        (s) => {
            const w = world(s);
            return {
                caller: w.build,
                action: "s3:GetObject",
                resource: `${w.artifactBucket.arn}/source/abc.zip`,
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.artifactBucket.policy,
                context: { "aws:SecureTransport": "false" },
                expected: "Denied",
            };
        },
    ],

    // ---- drift detection: the drift-check role (tools) and the deploy role's read-only drift statements ----
    [
        "drift-check role assumes the deploy role",
        (s) => {
            const w = world(s);
            return assume(w.drift, w.deployRole, "Allowed", { "aws:PrincipalArn": w.drift.principal });
        },
    ],
    [
        "drift-check role cannot assume the CFN execution role",
        (s) => {
            const w = world(s);
            return assume(w.drift, w.cfnRole, "Denied", { "aws:PrincipalArn": w.drift.principal });
        },
    ],
    [
        "deploy role detects drift on the service stack",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "cloudformation:DetectStackDrift", resource: w.stackArn(w.stackName), expected: "Allowed" };
        },
    ],
    [
        "deploy role cannot detect drift on another stack",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "cloudformation:DetectStackDrift", resource: w.stackArn("other-stack"), expected: "Denied" };
        },
    ],
    [
        "deploy role reads the drift of the service stack's resources",
        (s) => {
            const w = world(s);
            return {
                caller: w.deploy,
                action: "cloudformation:DescribeStackResourceDrifts",
                resource: w.stackArn(w.stackName),
                expected: "Allowed",
            };
        },
    ],
    [
        "deploy role reads the table, as drift detection does",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "dynamodb:DescribeTable", resource: w.table, expected: "Allowed" };
        },
    ],
    [
        "deploy role cannot change the table (drift reads are no writes)",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "dynamodb:UpdateTable", resource: w.table, expected: "Denied" };
        },
    ],
    [
        "deploy role reads the function role, as drift detection does",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "iam:GetRole", resource: w.fnRole.arn, expected: "Allowed" };
        },
    ],
    [
        "deploy role cannot read roles outside the service (its own)",
        (s) => {
            const w = world(s);
            return { caller: w.deploy, action: "iam:GetRole", resource: w.deployRole.arn, expected: "Denied" };
        },
    ],
    [
        "drift-check role publishes to the pipeline topic",
        (s) => {
            const w = world(s);
            return { caller: w.drift, action: "sns:Publish", resource: w.topicArn, expected: "Allowed" };
        },
    ],
    [
        "drift-check role cannot publish to another topic",
        (s) => {
            const w = world(s);
            return { caller: w.drift, action: "sns:Publish", resource: w.arn("sns", "other-topic", w.toolsAccount), expected: "Denied" };
        },
    ],
    [
        "drift schedule role starts the drift-check project",
        (s) => {
            const w = world(s);
            return { caller: w.driftSchedule, action: "codebuild:StartBuild", resource: w.projectArn("drift"), expected: "Allowed" };
        },
    ],
    [
        "drift schedule role cannot start the deploy project",
        (s) => {
            const w = world(s);
            return { caller: w.driftSchedule, action: "codebuild:StartBuild", resource: w.projectArn("deploy"), expected: "Denied" };
        },
    ],

    // ---- the deploy role of a target set up for the pulumi deployer ----
    [
        "pulumi deploy role creates the function role with the permissions boundary",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "iam:CreateRole",
                resource: w.fnRole.arn,
                context: { "iam:PermissionsBoundary": w.pulumiBoundaryArn },
                expected: "Allowed",
            };
        },
    ],
    [
        "pulumi deploy role cannot create the function role without the boundary",
        (s) => {
            const w = world(s);
            return { caller: w.pulumiDeploy, action: "iam:CreateRole", resource: w.fnRole.arn, expected: "Denied" };
        },
    ],
    [
        "pulumi deploy role passes the function role to Lambda only",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "iam:PassRole",
                resource: w.fnRole.arn,
                context: { "iam:PassedToService": "lambda.amazonaws.com" },
                expected: "Allowed",
            };
        },
    ],
    [
        "pulumi deploy role creates the stage's table",
        (s) => {
            const w = world(s);
            return { caller: w.pulumiDeploy, action: "dynamodb:CreateTable", resource: w.table, expected: "Allowed" };
        },
    ],
    [
        "pulumi deploy role cannot create another table",
        (s) => {
            const w = world(s);
            return { caller: w.pulumiDeploy, action: "dynamodb:CreateTable", resource: w.otherTable, expected: "Denied" };
        },
    ],
    [
        "pulumi deploy role writes its stage's Pulumi state",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "s3:PutObject",
                resource: w.pulumiState("dev"),
                resourceAccount: w.targetAccount,
                expected: "Allowed",
            };
        },
    ],
    [
        "pulumi deploy role cannot write another stage's Pulumi state",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "s3:PutObject",
                resource: w.pulumiState("prod"),
                resourceAccount: w.targetAccount,
                expected: "Denied",
            };
        },
    ],
    [
        "pulumi deploy role decrypts with the stage's secrets key",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "kms:Decrypt",
                resource: w.pulumiKeyArn,
                resourcePolicy: w.pulumiKeyPolicy,
                expected: "Allowed",
            };
        },
    ],
    [
        "pulumi deploy role cannot use another key",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "kms:Decrypt",
                resource: w.arn("kms", "key/0a1b2c3d-other-key"),
                resourcePolicy: w.pulumiKeyPolicy,
                expected: "Denied",
            };
        },
    ],
    [
        "pulumi deploy role has no CloudFormation rights",
        (s) => {
            const w = world(s);
            return {
                caller: w.pulumiDeploy,
                action: "cloudformation:CreateChangeSet",
                resource: w.stackArn(w.stackName),
                expected: "Denied",
            };
        },
    ],
];

describe("IAM simulation (policies from the stacks and the sls template)", function () {
    this.timeout(60_000);
    let stacks: AllStacks;
    const rows: { c: IamCase; r?: CaseResult }[] = [];

    before(async () => {
        stacks = await loadAllStacks();
    });

    after(() => {
        if (rows.length > 0) {
            const allowed = rows.filter((row) => row.c.expected === "Allowed").length;
            console.log(
                `\n${matrixTable(rows)}\n\n${rows.length} cases: ${allowed} expected Allowed, ${rows.length - allowed} expected Denied\n`,
            );
        }
    });

    describe("matrix", () => {
        for (const [title, make] of CASES) {
            it(title, async function () {
                const c = make(stacks);
                const row: { c: IamCase; r?: CaseResult } = { c };
                rows.push(row);
                row.r = await simulate(c);
                expect(row.r.ignoredContextKeys, "context keys the simulator ignored for this action").to.deep.equal([]);
                expect(row.r.actual, `${c.caller.label} ${c.action} ${c.resource}: ${row.r.detail}`).to.equal(c.expected);
            });
        }
    });

    describe("coverage and provenance", () => {
        it("has at least 25 cases, both Allowed and Denied", () => {
            expect(CASES.length).to.be.at.least(25);
            const expected = CASES.map(([, make]) => make(stacks).expected);
            expect(expected).to.include("Allowed").and.to.include("Denied");
        });

        it("simulates every role of every stack and of the template, as caller or as assumed role", () => {
            const seen = new Set(
                CASES.map(([, make]) => make(stacks)).flatMap((c) =>
                    c.action === "sts:AssumeRole" ? [c.caller.principal, c.resource] : [c.caller.principal],
                ),
            );
            const missing = stacks.allRoles.filter((r) => !seen.has(r.arn)).map((r) => r.source);
            expect(missing).to.deep.equal([]);
            expect(stacks.allRoles.length, "roles found in the stacks and the template").to.be.at.least(7);
        });

        it("models every function role with the target stack's boundary, the one the pipeline passes", () => {
            const { sls, target, api } = stacks;
            expect(sls.params.permissionsBoundaryArn).to.equal(target.outputs.permissionsBoundaryArn);
            expect(sls.functionRole.boundary?.arn).to.equal(target.outputs.permissionsBoundaryArn);
            expect(api.role("function-role").boundary?.arn).to.equal(api.cloud.one("aws:iam/policy:Policy").state.arn);
            expect(sls.params.cfnRoleArn).to.equal(target.outputs.cfnExecutionRoleArn);
        });

        it("the CFN execution role may create every named resource the packaged template declares", async () => {
            const w = world(stacks);
            const { sls } = stacks;
            const requests: IamCase[] = [
                ...(sls.propertyOf("AWS::Lambda::Function", "FunctionName") as string[]).map((name): IamCase => ({
                    caller: w.cfn,
                    action: "lambda:CreateFunction",
                    resource: w.functionArn(name),
                    expected: "Allowed",
                })),
                ...(sls.propertyOf("AWS::Logs::LogGroup", "LogGroupName") as string[]).map((name): IamCase => ({
                    caller: w.cfn,
                    action: "logs:CreateLogGroup",
                    resource: w.arn("logs", `log-group:${name}`),
                    expected: "Allowed",
                })),
                ...(sls.propertyOf("AWS::Lambda::Function", "Code") as { S3Bucket: string; S3Key: string }[]).map((code): IamCase => ({
                    caller: w.cfn,
                    action: "s3:GetObject",
                    resource: `arn:aws:s3:::${code.S3Bucket}/${code.S3Key}`,
                    resourceAccount: w.targetAccount,
                    resourcePolicy: w.deploymentBucket.policy,
                    context: { "aws:SecureTransport": "true" },
                    expected: "Allowed",
                })),
                {
                    caller: w.cfn,
                    action: "iam:CreateRole",
                    resource: w.fnRole.arn,
                    context: { "iam:PermissionsBoundary": w.fnRole.boundary!.arn },
                    expected: "Allowed",
                },
                { caller: w.cfn, action: "dynamodb:CreateTable", resource: w.table, expected: "Allowed" },
            ];
            expect(requests.length).to.be.at.least(7);
            for (const c of requests) {
                const r = await simulate(c);
                expect(r.actual, `${c.action} ${c.resource}: ${r.detail}`).to.equal("Allowed");
            }
        });

        it("the simulator can say Denied for a request the stacks would allow with a changed policy (no vacuous passes)", async () => {
            // The build role's own policy, with the AssumeRole statement removed, must no longer reach the deploy role.
            const w = world(stacks);
            const stripped = w.build.identity.map((p) => ({
                name: p.name,
                policy: { ...p.policy, Statement: p.policy.Statement.filter((st: any) => ![st.Action].flat().includes("sts:AssumeRole")) },
            }));
            const r = await simulate(
                assume({ ...w.build, identity: stripped }, w.deployRole, "Denied", { "aws:PrincipalArn": w.build.principal }),
            );
            expect(r.actual).to.equal("Denied");
        });
    });
});
