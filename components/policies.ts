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
 * Trust of a target role that exactly one tools-account role may assume: the deploy role (trusted by its stage's
 * build role only) and the read-only drift role (trusted by the drift check's role only).
 *
 * The principal is the tools account with an `aws:PrincipalArn` condition rather than the role ARN itself, because
 * IAM rejects a trust policy naming a role that does not exist yet: this way the target stack can be deployed before
 * the tools stack, and recreating the tools role does not silently break the trust (a role principal is stored by
 * its unique ID). The condition pins it to exactly that role, unlike the blog sample, which trusted every principal
 * of the tools account — and unlike one build role for every stage, which let any stage's build reach them all.
 */
export function toolsRoleTrustPolicy(args: { partition: string; toolsAccountId: string; roleName: string; sid: string }): PolicyDocument {
    return document({
        Sid: args.sid,
        Effect: "Allow",
        Principal: { AWS: `arn:${args.partition}:iam::${args.toolsAccountId}:root` },
        Action: "sts:AssumeRole",
        Condition: {
            ArnEquals: { "aws:PrincipalArn": arns.role({ partition: args.partition, accountId: args.toolsAccountId }, args.roleName) },
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

/**
 * Actions on the service's CloudFormation stack that the deploy kit makes (deploy-kit/serverless.ts): read the
 * stack, create a change set for the release, read it, execute it or delete it, read the events of a failure. It
 * never creates, updates or deletes the stack directly.
 */
export const DEPLOY_STACK_ACTIONS = [
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    // The kit tags the stack with its stage; creating a tagged change set needs this.
    "cloudformation:TagResource",
];

/**
 * What the pipeline may do in the target account once it assumed the deploy role, for the deployer the target is
 * set up for:
 *  - serverless: create and execute change sets of this stage's stack, with the execution role, from the
 *    deployment bucket. It cannot create or change IAM, Lambda, API Gateway or DynamoDB resources itself;
 *    CloudFormation does that with the execution role.
 *  - pulumi: `pulumi up` of ProductApi creates the resources itself, so the role gets what the execution role
 *    would (the same statements: same resource types, same names, the function role only with the boundary), plus
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
    switch (args.deployer) {
        case "pulumi": {
            const statePrefix = pulumiStatePrefix(args.stage, args.service);
            return document(
                ...deploymentBucketStatements(bucketArn, statePrefix),
                {
                    // The self-managed backend: stack state, history, backups and locks of this stage only.
                    Sid: "PulumiState",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    Resource: `${bucketArn}/${statePrefix}*`,
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
        case "serverless": {
            const artifactPrefix = deploymentObjectPrefix(args.stage, args.service);
            return document(
                {
                    Sid: "ServiceStack",
                    Effect: "Allow",
                    Action: DEPLOY_STACK_ACTIONS,
                    Resource: arns.cloudFormationStack(ctx, serviceNames(args.stage, args.service).stack),
                },
                ...deploymentBucketStatements(bucketArn, artifactPrefix),
                {
                    // The release's function zips and template (CloudFormation reads the template with the caller's
                    // credentials), and deleting the releases past the five newest.
                    Sid: "DeploymentArtifacts",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    Resource: `${bucketArn}/${artifactPrefix}*`,
                },
                {
                    Sid: "PassExecutionRoleToCloudFormation",
                    Effect: "Allow",
                    Action: "iam:PassRole",
                    Resource: args.cfnExecutionRoleArn,
                    Condition: { StringEquals: { "iam:PassedToService": "cloudformation.amazonaws.com" } },
                },
            );
        }
    }
}

/** Listing the deployment bucket under one prefix only (releases, or a stage's state), and where the bucket is. */
function deploymentBucketStatements(bucketArn: string, prefix: string): PolicyStatement[] {
    return [
        {
            Sid: "DeploymentBucketLocation",
            Effect: "Allow",
            Action: "s3:GetBucketLocation",
            Resource: bucketArn,
        },
        {
            Sid: "DeploymentBucketListing",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": `${prefix}*` } },
        },
    ];
}

/**
 * The target's read-only drift role (serverless deployer), assumed by the tools account's drift check only: drift
 * detection on the stage's stack. CloudFormation reads the live resources with the caller's credentials, so the
 * caller needs read access to each resource type of the template: exactly the read actions (Get/Describe/List) the
 * execution role holds, on the same resources. No write of any kind.
 */
export function driftReadRolePolicy(args: TargetPolicyArgs & { permissionsBoundaryArn: string }): PolicyDocument {
    const stackArn = arns.cloudFormationStack(args.ctx, serviceNames(args.stage, args.service).stack);
    const reads = serviceResourceStatements({ ...args, functionCodeFromBucket: false })
        .filter((s) => s.Effect === "Allow")
        .map((s) => ({ ...s, Action: actionsOf(s).filter((a) => READ_ACTION.test(a) && a !== "iam:PassRole") }))
        .filter((s) => s.Action.length > 0)
        .map(({ Condition: _condition, ...s }) => ({ ...s, Sid: `DriftRead${s.Sid}` }));
    return document(
        {
            Sid: "DetectStackDrift",
            Effect: "Allow",
            Action: [
                "cloudformation:DetectStackDrift",
                "cloudformation:DetectStackResourceDrift",
                "cloudformation:DescribeStackResourceDrifts",
            ],
            Resource: stackArn,
        },
        {
            // DescribeStackDriftDetectionStatus takes a detection ID and has no resource-level permission: AWS requires "*".
            Sid: "DriftDetectionStatus",
            Effect: "Allow",
            Action: "cloudformation:DescribeStackDriftDetectionStatus",
            Resource: "*",
        },
        ...reads,
    );
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
    // The one function role, by its exact name: a pattern `<service>-<stage>-*` would also match the roles of a
    // stage named `<stage>-<suffix>` in the same account.
    const functionRole = arns.role(ctx, names.functionRole);
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
            // No DeleteLogGroup: a release cannot delete the functions' logs (the log groups are retained when a
            // function goes away; serverless.yml and ProductApi say so, so that CloudFormation and Pulumi never try).
            Action: [
                "logs:CreateLogGroup",
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
            // Creating or changing the function role, or its inline policies, is allowed only while the role carries
            // the permissions boundary: whatever its statements say, the role can never exceed the boundary. No
            // AttachRolePolicy: a release cannot attach a managed policy (AdministratorAccess, say) to it.
            Sid: "FunctionRoleWithBoundary",
            Effect: "Allow",
            Action: ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"],
            Resource: functionRole,
            Condition: { StringEquals: { "iam:PermissionsBoundary": args.permissionsBoundaryArn } },
        },
        {
            Sid: "ReadAndRemoveFunctionRole",
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
            Resource: functionRole,
        },
        {
            Sid: "PassFunctionRoleToLambda",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: functionRole,
            Condition: { StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } },
        },
    ];
    return statements;
}

/**
 * The most a function role may ever do, whatever its own statements say: item-level access to the stage's tables and
 * writing its logs — only from within the stage's own functions — and sending traces. It also denies changing or
 * detaching the boundary itself.
 *
 * `lambda:SourceFunctionArn` is set by Lambda on every request made with a function's execution-role credentials from
 * inside its execution environment, and on the CloudWatch Logs calls Lambda makes for it (Lambda developer guide,
 * "Using source function ARN to control function access behavior"). A role created with this boundary but trusting
 * someone else (a release cannot choose a role's trust through IAM conditions) gets a session without that key, and
 * so nothing: the data and logs are reachable only through the stage's functions. X-Ray is left unconditioned: Lambda
 * sends some telemetry without the key, and a stranger could only write traces.
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
    const fromTheStagesFunctions = { ArnLike: { [SOURCE_FUNCTION_ARN]: arns.lambdaFunctions(ctx, names.prefix) } };
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
            Condition: fromTheStagesFunctions,
        },
        {
            Sid: "FunctionLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [logGroups, `${logGroups}:*`],
            Condition: fromTheStagesFunctions,
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

/** The condition key Lambda sets on requests made with a function's execution-role credentials. */
export const SOURCE_FUNCTION_ARN = "lambda:SourceFunctionArn";

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

/**
 * What a CodeBuild project's role may be granted; every field is optional and grants exactly that:
 *  - `logGroupArns`: write its project's log group(s);
 *  - `artifacts`: read the pipeline's artifacts and write its action's output artifact (the bucket and its key);
 *  - `cache`: read and write its own prefix of the build-assets bucket (CodeBuild's S3 cache);
 *  - `deployKit`: read the deploy kit object the tools stack uploaded (and decrypt it);
 *  - `assumeRoleArns`: assume exactly these roles (a stage's deploy role; the targets' drift roles);
 *  - `reportGroupArns`: write test reports;
 *  - `publishTopic`: publish to the pipeline's (encrypted) topic.
 */
export interface BuildRoleGrants {
    readonly logGroupArns: readonly string[];
    readonly artifacts?: { readonly bucketArn: string; readonly keyArn: string };
    readonly cache?: { readonly bucketArn: string; readonly prefix: string; readonly keyArn: string };
    readonly deployKit?: { readonly objectArn: string; readonly keyArn: string };
    readonly assumeRoleArns?: readonly string[];
    readonly reportGroupArns?: readonly string[];
    readonly publishTopic?: { readonly topicArn: string; readonly keyArn: string };
}

/**
 * The policy of one CodeBuild project's role, from what it is granted. The roles of the pipeline:
 *  - the CI role (Test and SmokeTest, which run the commit's code): logs, artifacts, cache, reports; it assumes no
 *    role, so tested code never runs with deploy rights;
 *  - each stage's build role (its Deploy project, which runs the tools stack's deploy kit): logs, artifacts, the
 *    kit, and exactly its own stage's deploy role;
 *  - the drift check's role: logs, the kit, the targets' read-only drift roles, publishing what it finds.
 */
export function buildRolePolicy(grants: BuildRoleGrants): PolicyDocument {
    const keys = new Set<string>();
    const statements: PolicyStatement[] = [buildLogStatement(grants.logGroupArns)];
    if (grants.artifacts) {
        statements.push(...artifactStatements(grants.artifacts.bucketArn));
        keys.add(grants.artifacts.keyArn);
    }
    if (grants.cache) {
        statements.push(
            {
                // CodeBuild reads the cache bucket's location and ACL before it restores or saves a cache.
                Sid: "BuildCacheBucket",
                Effect: "Allow",
                Action: ["s3:GetBucketLocation", "s3:GetBucketAcl"],
                Resource: grants.cache.bucketArn,
            },
            {
                Sid: "BuildCache",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject"],
                Resource: `${grants.cache.bucketArn}/${grants.cache.prefix}*`,
            },
        );
        keys.add(grants.cache.keyArn);
    }
    if (grants.deployKit) {
        statements.push({ Sid: "DeployKit", Effect: "Allow", Action: "s3:GetObject", Resource: grants.deployKit.objectArn });
        keys.add(grants.deployKit.keyArn);
    }
    if (grants.assumeRoleArns && grants.assumeRoleArns.length > 0) {
        statements.push({ Sid: "AssumeTargetRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: [...grants.assumeRoleArns] });
    }
    if (grants.reportGroupArns && grants.reportGroupArns.length > 0) {
        statements.push({
            Sid: "TestReports",
            Effect: "Allow",
            Action: ["codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"],
            Resource: [...grants.reportGroupArns],
        });
    }
    if (grants.publishTopic) {
        statements.push({ Sid: "Publish", Effect: "Allow", Action: "sns:Publish", Resource: grants.publishTopic.topicArn });
        keys.add(grants.publishTopic.keyArn);
    }
    if (keys.size > 0) {
        // Artifacts, cache, kit and topic are encrypted with the pipeline's key (SNS asks for a data key on the
        // publisher's behalf).
        statements.push({
            Sid: "PipelineKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Resource: [...keys],
        });
    }
    return document(...statements);
}

/** EventBridge may start this one build project (the drift check's schedule). */
export function startBuildPolicy(projectArn: string): PolicyDocument {
    return document({ Sid: "StartThisBuild", Effect: "Allow", Action: "codebuild:StartBuild", Resource: projectArn });
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
        ...artifactStatements(args.artifactBucketArn),
        {
            Sid: "ArtifactKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Resource: args.artifactKeyArn,
        },
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

/**
 * Reading the pipeline's artifacts and writing an action's output artifact. CodePipeline names each artifact object
 * with a random key under the pipeline's folder, and no build role may list the bucket, so a build writes the
 * object CodePipeline told it to and cannot find another execution's. The deploy kit and the build caches are in
 * the separate build-assets bucket, which no build role may write except its own cache prefix.
 */
function artifactStatements(bucketArn: string): PolicyStatement[] {
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
