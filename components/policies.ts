// Every IAM document this project creates, as typed objects, in one place.
//
// Functions here are pure: they take resolved names/ARNs and return a policy document. Components call them
// inside `pulumi.all(...).apply(...)`; tests and the IAM simulation call them with the values a stack produced.
// Rules kept throughout:
//   - every Allow names its resources; a `*` resource appears only where AWS offers no resource-level
//     permission for that action, with a comment saying so;
//   - no trust of a bare account root or `*`: cross-account trust is pinned to one role ARN by condition,
//     service trust to this account by `aws:SourceAccount` (confused-deputy protection).

import type * as aws from "@pulumi/aws";
import { driftRoleName } from "../config";
import { deploymentObjectPrefix, pulumiStatePrefix, serviceNames } from "./naming";

export type PolicyDocument = aws.iam.PolicyDocument;
export type PolicyStatement = aws.iam.PolicyStatement;

/** Where a policy lives: the partition, account and region ARNs are built from. */
export interface AccountContext {
    readonly partition: string;
    readonly accountId: string;
    readonly region: string;
}

const document = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement: statements });

export const arns = {
    role: (ctx: Pick<AccountContext, "partition" | "accountId">, name: string) => `arn:${ctx.partition}:iam::${ctx.accountId}:role/${name}`,
    policy: (ctx: Pick<AccountContext, "partition" | "accountId">, name: string) =>
        `arn:${ctx.partition}:iam::${ctx.accountId}:policy/${name}`,
    bucket: (partition: string, bucket: string) => `arn:${partition}:s3:::${bucket}`,
    cloudFormationStack: (ctx: AccountContext, stack: string) =>
        `arn:${ctx.partition}:cloudformation:${ctx.region}:${ctx.accountId}:stack/${stack}/*`,
    lambdaFunctions: (ctx: AccountContext, prefix: string) =>
        `arn:${ctx.partition}:lambda:${ctx.region}:${ctx.accountId}:function:${prefix}-*`,
    logGroups: (ctx: AccountContext, groupPrefix: string) =>
        `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:${groupPrefix}*`,
    tables: (ctx: AccountContext, prefix: string) => `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.accountId}:table/${prefix}-*`,
    apiGateway: (ctx: AccountContext, path: string) => `arn:${ctx.partition}:apigateway:${ctx.region}::${path}`,
};

// ---------------------------------------------------------------------------------------------------------
// Trust policies

/**
 * Trust for a role assumed by an AWS service of this account. `aws:SourceAccount` stops another account's
 * pipeline, build or stack from having the service act on its behalf with this role (confused deputy).
 */
export function serviceTrustPolicy(service: string, accountId: string): PolicyDocument {
    return document({
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    });
}

/**
 * Trust of a function's execution role. No `aws:SourceAccount` condition: Lambda assumes an execution role only
 * for a function of this account that was given the role, which takes `iam:PassRole` here; serverless.yml's
 * function role trusts Lambda the same way.
 */
export function lambdaTrustPolicy(): PolicyDocument {
    return document({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" });
}

/**
 * Trust of the target's deploy role: the tools account, but only its pipeline build role and its drift-check
 * role (`<build role name>-drift`, which runs read-only drift detection).
 *
 * The principal is the tools account with an `aws:PrincipalArn` condition rather than the role ARNs themselves,
 * because IAM rejects a trust policy naming a role that does not exist yet: this way the target stack can be
 * deployed before the tools stack (and whether or not drift detection is on), and recreating a role does not
 * silently break the trust (a role principal is stored by its unique ID). The condition pins it to exactly these
 * roles, unlike the blog sample, which trusted every principal of the tools account.
 */
export function deployRoleTrustPolicy(args: { partition: string; toolsAccountId: string; buildRoleName: string }): PolicyDocument {
    const tools = { partition: args.partition, accountId: args.toolsAccountId };
    return document({
        Sid: "PipelineRolesOnly",
        Effect: "Allow",
        Principal: { AWS: `arn:${args.partition}:iam::${args.toolsAccountId}:root` },
        Action: "sts:AssumeRole",
        Condition: {
            ArnEquals: { "aws:PrincipalArn": [arns.role(tools, args.buildRoleName), arns.role(tools, driftRoleName(args.buildRoleName))] },
        },
    });
}

// ---------------------------------------------------------------------------------------------------------
// Target account

export interface TargetPolicyArgs {
    readonly ctx: AccountContext;
    readonly service: string;
    readonly stage: string;
    readonly deploymentBucketName: string;
}

/** Actions on the service's CloudFormation stack that `sls deploy --package` and `sls info` make. */
export const DEPLOY_STACK_ACTIONS = [
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStackResources",
    "cloudformation:GetTemplate",
    "cloudformation:GetTemplateSummary",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:ListChangeSets",
    "cloudformation:CancelUpdateStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:RollbackStack",
    // Serverless tags the stack (STAGE); creating a tagged stack or change set needs these.
    "cloudformation:TagResource",
    "cloudformation:UntagResource",
];

/**
 * What the pipeline may do in the target account once it assumed the deploy role, for the deployer the target is
 * set up for:
 *  - serverless: drive CloudFormation for this stage's stack, with the execution role, from the deployment
 *    bucket. It cannot create or change IAM, Lambda, API Gateway or DynamoDB resources itself; CloudFormation does
 *    that with the execution role. Plus read-only drift detection on that stack.
 *  - pulumi: `pulumi up` of ProductApi creates the resources itself, so the role gets what the execution role
 *    would (the same statements: same resource types, same names, function roles only with the boundary), plus
 *    the Pulumi state under `pulumi/<service>/<stage>/` of the deployment bucket and the stage's secrets key.
 */
export function deployRolePolicy(
    args: TargetPolicyArgs &
        (
            | { deployer: "serverless"; cfnExecutionRoleArn: string; permissionsBoundaryArn: string }
            | { deployer: "pulumi"; pulumiSecretsKeyArn: string; permissionsBoundaryArn: string }
        ),
): PolicyDocument {
    const { ctx } = args;
    const bucketArn = arns.bucket(ctx.partition, args.deploymentBucketName);
    const deploymentBucket: PolicyStatement = {
        Sid: "DeploymentBucket",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:GetBucketLocation"],
        Resource: bucketArn,
    };
    if (args.deployer === "pulumi") {
        return document(
            deploymentBucket,
            {
                // The self-managed backend: stack state, history, backups and locks of this stage only.
                Sid: "PulumiState",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                Resource: `${bucketArn}/${pulumiStatePrefix(args.stage, args.service)}*`,
            },
            {
                Sid: "PulumiSecrets",
                Effect: "Allow",
                Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                Resource: args.pulumiSecretsKeyArn,
            },
            ...serviceResourceStatements({ ...args, functionCodeFromBucket: false }),
        );
    }
    const names = serviceNames(args.stage, args.service);
    const stackArn = arns.cloudFormationStack(ctx, names.stack);
    return document(
        {
            Sid: "ServiceStack",
            Effect: "Allow",
            Action: DEPLOY_STACK_ACTIONS,
            Resource: stackArn,
        },
        {
            // ValidateTemplate supports no resource-level permissions (AWS requires "*"); it only parses a template.
            Sid: "ValidateTemplate",
            Effect: "Allow",
            Action: "cloudformation:ValidateTemplate",
            Resource: "*",
        },
        deploymentBucket,
        {
            Sid: "DeploymentArtifacts",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            Resource: `${bucketArn}/${deploymentObjectPrefix(args.stage, args.service)}*`,
        },
        {
            Sid: "PassExecutionRoleToCloudFormation",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: args.cfnExecutionRoleArn,
            Condition: { StringEquals: { "iam:PassedToService": "cloudformation.amazonaws.com" } },
        },
        {
            // `sls deploy` reads the functions it deployed to tell whether code changed (it only warns without).
            Sid: "ReadServiceFunctions",
            Effect: "Allow",
            Action: "lambda:GetFunction",
            Resource: arns.lambdaFunctions(ctx, names.prefix),
        },
        // No API Gateway write: osls calls API Gateway only for settings serverless.yml does not use (its
        // "update-stage hack" for provider.tracing.apiGateway, logs.restApi, tags and metrics; API keys).
        // tests/deploy runs the deploy with this policy enforced and sees no API Gateway call.
        ...driftDetectionStatements({ ...args, stackArn }),
    );
}

/**
 * Drift detection on the stage's stack, read-only. CloudFormation reads the live resources with the caller's
 * credentials, so the caller needs read access to each resource type of the template: exactly the read actions
 * (Get/Describe/List) the execution role holds, on the same resources. No write.
 */
function driftDetectionStatements(args: TargetPolicyArgs & { stackArn: string; permissionsBoundaryArn: string }): PolicyStatement[] {
    const reads = serviceResourceStatements({ ...args, functionCodeFromBucket: false })
        .filter((s) => s.Effect === "Allow")
        .map((s) => ({ ...s, Action: actionsOf(s).filter((a) => READ_ACTION.test(a) && a !== "iam:PassRole") }))
        .filter((s) => s.Action.length > 0)
        .map(({ Condition: _condition, ...s }) => ({ ...s, Sid: `DriftRead${s.Sid}` }));
    return [
        {
            Sid: "DetectStackDrift",
            Effect: "Allow",
            Action: [
                "cloudformation:DetectStackDrift",
                "cloudformation:DetectStackResourceDrift",
                "cloudformation:DescribeStackResourceDrifts",
            ],
            Resource: args.stackArn,
        },
        {
            // DescribeStackDriftDetectionStatus takes a detection ID and has no resource-level permission: AWS requires "*".
            Sid: "DriftDetectionStatus",
            Effect: "Allow",
            Action: "cloudformation:DescribeStackDriftDetectionStatus",
            Resource: "*",
        },
        ...reads,
    ];
}

/** Read actions, as IAM names them; apigateway:GET reads API Gateway. */
const READ_ACTION = /^[a-z0-9-]+:(Get|Describe|List|GET$)/;

function actionsOf(s: PolicyStatement): string[] {
    const action = (s as { Action?: string | string[] }).Action;
    return action === undefined ? [] : Array.isArray(action) ? action : [action];
}

/**
 * What CloudFormation may do when it deploys the service's stack: create and update exactly the resources
 * serverless.yml declares, all named `<service>-<stage>-*`. Function roles can only be created or changed
 * while they carry the permissions boundary, so nothing deployed can grant itself more than the boundary
 * allows; this closes the blog sample's `iam:*Role*` on `*` privilege escalation.
 */
export function cfnExecutionRolePolicy(args: TargetPolicyArgs & { permissionsBoundaryArn: string }): PolicyDocument {
    return document(...serviceResourceStatements({ ...args, functionCodeFromBucket: true }));
}

/**
 * The product API's resources, by type: functions, their resource policies, log groups, the REST API, the
 * table and the function role. Whoever creates them holds these: CloudFormation's execution role (serverless
 * deployer), or the deploy role itself (pulumi deployer). `functionCodeFromBucket`: the function code is read
 * from the deployment bucket by the caller of CreateFunction (CloudFormation's case; Pulumi uploads the zip).
 */
function serviceResourceStatements(
    args: TargetPolicyArgs & { permissionsBoundaryArn: string; functionCodeFromBucket: boolean },
): PolicyStatement[] {
    const { ctx } = args;
    const names = serviceNames(args.stage, args.service);
    const functionRoles = arns.role(ctx, `${names.prefix}-*`);
    const bucketArn = arns.bucket(ctx.partition, args.deploymentBucketName);
    const logGroupPrefix = `/aws/lambda/${names.prefix}-`;
    const functionCode: PolicyStatement = {
        Sid: "FunctionCode",
        Effect: "Allow",
        // Lambda fetches the code zip with the credentials of whoever calls CreateFunction: this role.
        Action: ["s3:GetObject", "s3:GetObjectVersion"],
        Resource: `${bucketArn}/${deploymentObjectPrefix(args.stage, args.service)}*`,
    };
    const statements: PolicyStatement[] = [
        {
            Sid: "ServiceFunctions",
            Effect: "Allow",
            Action: [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PublishVersion",
                "lambda:ListVersionsByFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:GetPolicy",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
            ],
            Resource: arns.lambdaFunctions(ctx, names.prefix),
        },
        {
            // Resource policies on the functions may only let API Gateway invoke them.
            Sid: "ApiGatewayMayInvokeFunctions",
            Effect: "Allow",
            Action: "lambda:AddPermission",
            Resource: arns.lambdaFunctions(ctx, names.prefix),
            Condition: { StringEquals: { "lambda:Principal": "apigateway.amazonaws.com" } },
        },
        ...(args.functionCodeFromBucket ? [functionCode] : []),
        {
            Sid: "FunctionLogGroups",
            Effect: "Allow",
            Action: [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
            ],
            Resource: [arns.logGroups(ctx, logGroupPrefix)],
        },
        {
            // DescribeLogGroups is authorized against the account's log-group namespace, not one group.
            Sid: "DescribeLogGroups",
            Effect: "Allow",
            Action: "logs:DescribeLogGroups",
            Resource: arns.logGroups(ctx, ""),
        },
        {
            // API Gateway resource ARNs carry IDs generated at creation, not names, so a REST API cannot be
            // scoped to `<service>-<stage>` by ARN: this allows REST APIs of this region of this account, and
            // the two Deny statements below narrow it by the API's name.
            Sid: "RestApis",
            Effect: "Allow",
            Action: ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
            Resource: [arns.apiGateway(ctx, "/restapis"), arns.apiGateway(ctx, "/restapis/*"), arns.apiGateway(ctx, "/tags/*")],
        },
        {
            // Creating or renaming a REST API: only to this service's name.
            Sid: "DenyOtherRestApiNames",
            Effect: "Deny",
            Action: ["apigateway:POST", "apigateway:PATCH"],
            Resource: [arns.apiGateway(ctx, "/restapis"), arns.apiGateway(ctx, "/restapis/*")],
            Condition: {
                StringNotEquals: { "apigateway:Request/ApiName": names.restApi },
                Null: { "apigateway:Request/ApiName": "false" },
            },
        },
        {
            // Changing or deleting an existing REST API: only this service's. (Requests on an API's methods,
            // stages and deployments carry no ApiName key; a dedicated target account closes that last gap.)
            Sid: "DenyOtherRestApis",
            Effect: "Deny",
            Action: ["apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"],
            Resource: [arns.apiGateway(ctx, "/restapis"), arns.apiGateway(ctx, "/restapis/*")],
            Condition: {
                StringNotEquals: { "apigateway:Resource/ApiName": names.restApi },
                Null: { "apigateway:Resource/ApiName": "false" },
            },
        },
        {
            // No DeleteTable: the table is retained (DeletionPolicy: Retain) and deletion-protected.
            Sid: "ServiceTable",
            Effect: "Allow",
            Action: [
                "dynamodb:CreateTable",
                "dynamodb:UpdateTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:DescribeContributorInsights",
                "dynamodb:DescribeKinesisStreamingDestination",
                "dynamodb:GetResourcePolicy",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
            ],
            Resource: arns.tables(ctx, names.prefix),
        },
        {
            // Creating or changing a function role, or its policies, is allowed only while the role carries
            // the permissions boundary: whatever the statements say, the role can never exceed the boundary.
            Sid: "FunctionRolesWithBoundary",
            Effect: "Allow",
            Action: [
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            Resource: functionRoles,
            Condition: { StringEquals: { "iam:PermissionsBoundary": args.permissionsBoundaryArn } },
        },
        {
            Sid: "ReadAndRemoveFunctionRoles",
            Effect: "Allow",
            Action: [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:DeleteRole",
            ],
            Resource: functionRoles,
        },
        {
            Sid: "PassFunctionRolesToLambda",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: functionRoles,
            Condition: { StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } },
        },
    ];
    return statements;
}

/**
 * The most a function role may ever do, whatever its own statements say: item-level access to the stage's
 * tables, writing its logs, sending traces. It also denies changing or detaching the boundary itself.
 */
export function permissionsBoundaryPolicy(args: {
    ctx: AccountContext;
    service: string;
    stage: string;
    boundaryPolicyName: string;
}): PolicyDocument {
    const { ctx } = args;
    const names = serviceNames(args.stage, args.service);
    const tables = arns.tables(ctx, names.prefix);
    const logGroups = arns.logGroups(ctx, `/aws/lambda/${names.prefix}-`);
    return document(
        {
            Sid: "ServiceTableItems",
            Effect: "Allow",
            Action: [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:Query",
            ],
            Resource: [tables, `${tables}/index/*`],
        },
        {
            Sid: "FunctionLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [logGroups, `${logGroups}:*`],
        },
        {
            // X-Ray's trace APIs have no resource-level permissions: AWS requires "*".
            Sid: "Tracing",
            Effect: "Allow",
            Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            Resource: "*",
        },
        {
            Sid: "DenyChangingThisBoundary",
            Effect: "Deny",
            Action: ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            Resource: arns.policy(ctx, args.boundaryPolicyName),
        },
        {
            Sid: "DenyRemovingAnyBoundary",
            Effect: "Deny",
            Action: ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"],
            Resource: arns.role(ctx, "*"),
        },
    );
}

/**
 * The function role of the product API: write its logs, read and write items of its own table, send traces.
 * serverless.yml grants the same (its framework adds the log and X-Ray statements); a parity test compares them.
 */
export function functionRolePolicy(args: { ctx: AccountContext; service: string; stage: string; tableArn: string }): PolicyDocument {
    const logGroups = arns.logGroups(args.ctx, `/aws/lambda/${serviceNames(args.stage, args.service).prefix}-`);
    return document(
        {
            Sid: "FunctionLogGroups",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"],
            Resource: `${logGroups}:*`,
        },
        { Sid: "FunctionLogEvents", Effect: "Allow", Action: "logs:PutLogEvents", Resource: `${logGroups}:*:*` },
        { Sid: "ProductsTable", Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:GetItem"], Resource: args.tableArn },
        {
            // X-Ray's trace APIs have no resource-level permissions: AWS requires "*".
            Sid: "Tracing",
            Effect: "Allow",
            Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            Resource: "*",
        },
    );
}

// ---------------------------------------------------------------------------------------------------------
// Tools account

/** Writing to the given CodeBuild log groups. */
function buildLogStatement(logGroupArns: readonly string[]): PolicyStatement {
    return {
        Sid: "BuildLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: logGroupArns.flatMap((arn) => [arn, `${arn}:*`]),
    };
}

/** The deploy project's role: its own logs, the artifact bucket and key, and the configured deploy roles. Nothing else. */
export function buildRolePolicy(args: {
    logGroupArn: string;
    artifactBucketArn: string;
    artifactKeyArn: string;
    deployRoleArns: readonly string[];
}): PolicyDocument {
    return document(buildLogStatement([args.logGroupArn]), ...artifactStatements(args.artifactBucketArn, args.artifactKeyArn), {
        Sid: "AssumeTargetDeployRoles",
        Effect: "Allow",
        Action: "sts:AssumeRole",
        Resource: [...args.deployRoleArns],
    });
}

/**
 * The drift-check project's role: its logs, its own source object, the configured deploy roles (whose drift
 * statements are read-only), and publishing what it finds to the pipeline's encrypted topic. Nothing else.
 */
export function driftRolePolicy(args: {
    logGroupArn: string;
    sourceBucketArn: string;
    sourceObjectArn: string;
    deployRoleArns: readonly string[];
    notificationTopicArn: string;
    keyArn: string;
}): PolicyDocument {
    return document(
        buildLogStatement([args.logGroupArn]),
        {
            // CodeBuild reads an S3 source's bucket location and ACL before the object.
            Sid: "DriftCheckSourceBucket",
            Effect: "Allow",
            Action: ["s3:GetBucketLocation", "s3:GetBucketAcl"],
            Resource: args.sourceBucketArn,
        },
        { Sid: "DriftCheckSource", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: args.sourceObjectArn },
        { Sid: "AssumeTargetDeployRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: [...args.deployRoleArns] },
        { Sid: "PublishDrift", Effect: "Allow", Action: "sns:Publish", Resource: args.notificationTopicArn },
        {
            // The source object and the topic are encrypted with the pipeline key: reading one and publishing to
            // the other need it (SNS asks for a data key on the publisher's behalf).
            Sid: "PipelineKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: args.keyArn,
        },
    );
}

/** EventBridge may start this one build project (the drift check's schedule). */
export function startBuildPolicy(projectArn: string): PolicyDocument {
    return document({ Sid: "StartThisBuild", Effect: "Allow", Action: "codebuild:StartBuild", Resource: projectArn });
}

/**
 * The test and smoke-test projects' role: their logs, the artifacts, and the test reports. It can assume no
 * role: the code under test never runs with deploy permissions.
 */
export function ciRolePolicy(args: {
    logGroupArns: readonly string[];
    artifactBucketArn: string;
    artifactKeyArn: string;
    reportGroupArns: readonly string[];
}): PolicyDocument {
    return document(buildLogStatement(args.logGroupArns), ...artifactStatements(args.artifactBucketArn, args.artifactKeyArn), {
        Sid: "TestReports",
        Effect: "Allow",
        Action: ["codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"],
        Resource: [...args.reportGroupArns],
    });
}

/** The pipeline role: artifacts, the key, its build projects, approval notifications, plus what its source needs. */
export function pipelineRolePolicy(args: {
    artifactBucketArn: string;
    artifactKeyArn: string;
    buildProjectArns: readonly string[];
    notificationTopicArn: string;
    sourceStatements: readonly PolicyStatement[];
}): PolicyDocument {
    return document(
        ...artifactStatements(args.artifactBucketArn, args.artifactKeyArn),
        {
            Sid: "RunBuilds",
            Effect: "Allow",
            Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"],
            Resource: [...args.buildProjectArns],
        },
        {
            // Manual approval actions publish their request to the topic as the pipeline role.
            Sid: "ApprovalNotifications",
            Effect: "Allow",
            Action: "sns:Publish",
            Resource: args.notificationTopicArn,
        },
        ...args.sourceStatements,
    );
}

/** The CodeCommit source action reads one repository. */
export function codeCommitSourceStatement(repositoryArn: string): PolicyStatement {
    return {
        Sid: "SourceRepository",
        Effect: "Allow",
        Action: [
            "codecommit:GetBranch",
            "codecommit:GetCommit",
            "codecommit:GetRepository",
            "codecommit:UploadArchive",
            "codecommit:GetUploadArchiveStatus",
            "codecommit:CancelUploadArchive",
        ],
        Resource: repositoryArn,
    };
}

/**
 * A CodeConnections source action uses one connection. Connections created before the service's rename have
 * `codestar-connections` ARNs and are authorized under that prefix; newer ones under `codeconnections`.
 */
export function codeConnectionSourceStatement(connectionArn: string): PolicyStatement {
    const prefix = connectionArn.split(":")[2];
    return { Sid: "SourceConnection", Effect: "Allow", Action: `${prefix}:UseConnection`, Resource: connectionArn };
}

/** EventBridge may start this one pipeline. */
export function startPipelinePolicy(pipelineArn: string): PolicyDocument {
    return document({ Sid: "StartThisPipeline", Effect: "Allow", Action: "codepipeline:StartPipelineExecution", Resource: pipelineArn });
}

function artifactStatements(bucketArn: string, keyArn: string): PolicyStatement[] {
    return [
        {
            Sid: "ArtifactBucket",
            Effect: "Allow",
            Action: ["s3:GetBucketLocation", "s3:GetBucketVersioning"],
            Resource: bucketArn,
        },
        {
            Sid: "Artifacts",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            Resource: `${bucketArn}/*`,
        },
        {
            Sid: "ArtifactKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Resource: keyArn,
        },
    ];
}

/**
 * The statement AWS puts in every key policy by default. In a key policy, "*" as the resource means "this key".
 * It lets IAM policies in this account grant use of the key (as the role policies here do) and keeps the key
 * manageable; without it a key can become unmanageable. It is a key policy, not a role trust: no other account
 * gets anything.
 */
function keyOfThisAccountStatement(args: { partition: string; accountId: string }): PolicyStatement {
    return {
        Sid: "EnableIamPoliciesOfThisAccount",
        Effect: "Allow",
        Principal: { AWS: `arn:${args.partition}:iam::${args.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
    };
}

/** Key policy of a key that only IAM policies of its own account grant (the pulumi deployer's secrets key). */
export function accountKeyPolicy(args: { partition: string; accountId: string }): PolicyDocument {
    return document(keyOfThisAccountStatement(args));
}

/**
 * Key policy of the pipeline key (artifacts and notifications): the default statement, and CodeStar
 * Notifications may publish to the encrypted topic, only through SNS in this account.
 */
export function pipelineKeyPolicy(args: { partition: string; accountId: string; region: string }): PolicyDocument {
    return document(keyOfThisAccountStatement(args), {
        Sid: "NotificationsToEncryptedTopic",
        Effect: "Allow",
        Principal: { Service: "codestar-notifications.amazonaws.com" },
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: "*",
        Condition: {
            StringEquals: { "kms:ViaService": `sns.${args.region}.amazonaws.com`, "aws:SourceAccount": args.accountId },
        },
    });
}

/** Topic policy of the pipeline's notifications: only CodeStar Notifications, for this account, may publish. */
export function notificationTopicPolicy(args: { topicArn: string; accountId: string }): PolicyDocument {
    return document({
        Sid: "CodeStarNotificationsOnly",
        Effect: "Allow",
        Principal: { Service: "codestar-notifications.amazonaws.com" },
        Action: "sns:Publish",
        Resource: args.topicArn,
        Condition: { StringEquals: { "aws:SourceAccount": args.accountId } },
    });
}

/** Bucket policy refusing any request not made over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
    return document({
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
}
