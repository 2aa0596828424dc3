import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Deployer, SERVICE_NAME, SmokeTestMode, SourceConfig } from "../config";
import { pulumiStatePrefix } from "./naming";
import { CodeCommitSource, CodeConnectionsSource, PipelineSource, SOURCE_ARTIFACT } from "./pipeline-source";
import {
    AccountContext,
    buildRolePolicy,
    ciRolePolicy,
    notificationTopicPolicy,
    pipelineKeyPolicy,
    pipelineRolePolicy,
    serviceTrustPolicy,
} from "./policies";
import { SecureBucket } from "./secure-bucket";

/** What the pipeline needs to know about one target stack (read from its outputs) and how to promote to it. */
export interface DeployTarget {
    readonly stage: string;
    readonly accountId: string;
    readonly region: string;
    readonly deployRoleArn: string;
    readonly deploymentBucketName: string;
    readonly permissionsBoundaryArn: string;
    /** serverless deployer: the role CloudFormation deploys the stack as */
    readonly cfnExecutionRoleArn?: string;
    /** pulumi deployer: the key the stage's Pulumi secrets are encrypted with */
    readonly pulumiSecretsKeyArn?: string;
    /** A person approves before this stage deploys. */
    readonly approval: boolean;
    readonly smokeTest: SmokeTestMode;
    /** A failed stage (its smoke test, typically) is rolled back to its last successful execution. */
    readonly rollbackOnFailure: boolean;
}

/** The Pulumi CLI the pulumi deployer installs in each Deploy build: exactly this release file, by checksum. */
export interface PulumiCli {
    readonly version: string;
    readonly sha256: string;
}

export interface DeploymentPipelineArgs {
    readonly source: SourceConfig;
    readonly branch: pulumi.Input<string>;
    /** Deterministic name of the deploy project's role; the targets' deploy roles trust exactly this name. */
    readonly buildRoleName: pulumi.Input<string>;
    /** Deploy stages, in promotion order. */
    readonly targets: readonly DeployTarget[];
    /** The tools account and region. */
    readonly account: pulumi.Input<AccountContext>;
    readonly logRetentionDays: pulumi.Input<number>;
    /** Subscribed to failures, successes and approvals (each address confirms by e-mail). */
    readonly notificationEmails?: readonly string[];
    readonly serviceName?: string;
    readonly deployTimeoutMinutes?: pulumi.Input<number>;
    /** What the Deploy actions run (default serverless); `pulumi` needs `pulumiCli`. */
    readonly deployer?: Deployer;
    readonly pulumiCli?: PulumiCli;
}

/** Buildspec of the deploy project, by deployer. */
export const DEPLOY_BUILDSPECS: Record<Deployer, string> = { serverless: "buildspec.yml", pulumi: "buildspec-pulumi.yml" };

/** CodeBuild image with Node.js 22 (Amazon Linux 2023 standard 5.0). */
export const BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/**
 * The container every CodeBuild project of this project runs in, with these plain-text variables. No Docker builds
 * here: privileged mode would give the build root on the host's Docker daemon.
 */
export function buildEnvironment(variables: Record<string, pulumi.Input<string>>): aws.types.input.codebuild.ProjectEnvironment {
    return {
        type: "LINUX_CONTAINER",
        computeType: "BUILD_GENERAL1_SMALL",
        image: BUILD_IMAGE,
        imagePullCredentialsType: "CODEBUILD",
        privilegedMode: false,
        environmentVariables: Object.entries(variables).map(([name, value]) => ({ name, value, type: "PLAINTEXT" })),
    };
}

/** The artifact the Test stage produces (sources + tested bundles) and every later action consumes. */
export const BUILD_ARTIFACT = "build";

/** The pipeline stage holding a target stage's manual approval. */
export const approvalStageName = (stage: string) => `Approve-${stage}`;

/** Pipeline variable namespace of a stage's Deploy action; later actions read `#{<namespace>.API_URL}`. */
export const deployNamespace = (stage: string) => `Deploy-${stage}`;

/** Notification events: a run failed or succeeded, or an approval waits. */
export const NOTIFICATION_EVENTS = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-pipeline-execution-succeeded",
    "codepipeline-pipeline-manual-approval-needed",
];

/**
 * Environment a Deploy action gives the build: the names buildspec.yml / scripts/ci-deploy.sh (serverless) or
 * buildspec-pulumi.yml / scripts/pulumi-deploy.sh (pulumi) rely on.
 */
export function deployEnvironment(target: DeployTarget & { serviceName: string }): Record<string, string> {
    const common = {
        STAGE: target.stage,
        SERVICE_NAME: target.serviceName,
        TARGET_ACCOUNT_ID: target.accountId,
        TARGET_REGION: target.region,
        DEPLOY_ROLE_ARN: target.deployRoleArn,
        DEPLOYMENT_BUCKET: target.deploymentBucketName,
        PERMISSIONS_BOUNDARY_ARN: target.permissionsBoundaryArn,
    };
    if (target.cfnExecutionRoleArn !== undefined) return { ...common, CFN_EXECUTION_ROLE_ARN: target.cfnExecutionRoleArn };
    if (target.pulumiSecretsKeyArn === undefined)
        throw new Error(`target ${target.stage} has neither an execution role nor a Pulumi secrets key`);
    return {
        ...common,
        // One stack per stage in a self-managed backend in the target's own bucket: the state never leaves the account.
        PULUMI_BACKEND_URL: `s3://${target.deploymentBucketName}/${pulumiStatePrefix(target.stage, target.serviceName).replace(/\/$/, "")}?region=${target.region}`,
        PULUMI_SECRETS_PROVIDER: `awskms:///${target.pulumiSecretsKeyArn}?region=${target.region}`,
        PULUMI_STACK: target.stage,
    };
}

/** Environment a SmokeTest action gives buildspec-smoke.yml: the URL its stage's Deploy exported. */
export function smokeTestEnvironment(stage: string, mode: SmokeTestMode): Record<string, string> {
    return { STAGE: stage, SMOKE_TEST_MODE: mode, API_URL: `#{${deployNamespace(stage)}.API_URL}` };
}

/** CodePipeline takes a CodeBuild action's environment as a JSON string of {name, value, type}. */
function codeBuildEnvironmentVariables(vars: Record<string, string>): string {
    return JSON.stringify(Object.entries(vars).map(([name, value]) => ({ name, value, type: "PLAINTEXT" })));
}

/**
 * The tools-account pipeline. Source → Test (unit tests with a report, then the bundles: one artifact that every
 * later stage deploys, so what was tested is what ships) → per target stage: [Approve-<stage>] → <stage>: Deploy
 * (assume the target's deploy role, then `sls deploy` or `pulumi up`) → SmokeTest (against the URL Deploy
 * exported), rolled back to its last good execution when it fails. Runs queue; failures, successes and approvals
 * are notified on an encrypted SNS topic.
 */
export class DeploymentPipeline extends pulumi.ComponentResource {
    public readonly source: PipelineSource;
    public readonly key: aws.kms.Key;
    public readonly artifactBucket: SecureBucket;
    public readonly buildRole: aws.iam.Role;
    public readonly ciRole: aws.iam.Role;
    public readonly testProject: aws.codebuild.Project;
    public readonly deployProject: aws.codebuild.Project;
    public readonly smokeTestProject: aws.codebuild.Project;
    public readonly testReportGroup: aws.codebuild.ReportGroup;
    public readonly pipelineRole: aws.iam.Role;
    public readonly pipeline: aws.codepipeline.Pipeline;
    public readonly notifications: aws.sns.Topic;

    public readonly pipelineName: pulumi.Output<string>;
    public readonly cloneUrlHttp: pulumi.Output<string | undefined>;
    public readonly buildRoleArn: pulumi.Output<string>;
    public readonly artifactBucketName: pulumi.Output<string>;
    public readonly notificationTopicArn: pulumi.Output<string>;

    constructor(name: string, args: DeploymentPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:DeploymentPipeline", name, {}, opts);

        if (args.targets.length === 0) throw new Error("DeploymentPipeline needs at least one deploy target");
        const service = args.serviceName ?? SERVICE_NAME;
        const account = pulumi.output(args.account);

        this.source =
            args.source.kind === "codecommit"
                ? new CodeCommitSource(
                      `${name}-source`,
                      {
                          repositoryName: args.source.repositoryName,
                          branch: args.branch,
                          accountId: account.accountId,
                          description: `Source of ${service}, deployed by the ${name} pipeline`,
                      },
                      { parent: this },
                  )
                : new CodeConnectionsSource(
                      `${name}-source`,
                      {
                          connectionArn: args.source.connectionArn,
                          fullRepositoryId: args.source.fullRepositoryId,
                          branch: args.branch,
                          triggerFilePaths: args.source.triggerFilePaths,
                      },
                      { parent: this },
                  );

        // ---- one customer-managed key: artifacts, build outputs and notifications ----
        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the ${service} pipeline's artifacts and notifications`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: account.apply((ctx) => JSON.stringify(pipelineKeyPolicy(ctx))),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${service}-pipeline`, targetKeyId: this.key.keyId }, { parent: this });
        this.artifactBucket = new SecureBucket(`${name}-artifacts`, { kmsKeyArn: this.key.arn, forceDestroy: true }, { parent: this });

        // ---- notifications ----
        this.notifications = new aws.sns.Topic(
            `${name}-notifications`,
            { name: `${service}-pipeline-notifications`, kmsMasterKeyId: this.key.arn },
            { parent: this },
        );
        new aws.sns.TopicPolicy(
            `${name}-notifications-policy`,
            {
                arn: this.notifications.arn,
                policy: pulumi
                    .all([this.notifications.arn, account])
                    .apply(([topicArn, ctx]) => notificationTopicPolicy({ topicArn, accountId: ctx.accountId })),
            },
            { parent: this },
        );
        for (const [i, email] of (args.notificationEmails ?? []).entries()) {
            new aws.sns.TopicSubscription(
                `${name}-notifications-email-${i}`,
                { topic: this.notifications.arn, protocol: "email", endpoint: email },
                { parent: this },
            );
        }

        // ---- build projects ----
        const logGroup = (project: string) =>
            new aws.cloudwatch.LogGroup(
                `${name}-${project}-logs`,
                { name: `/aws/codebuild/${service}-${project}`, retentionInDays: args.logRetentionDays },
                { parent: this },
            );
        const testLogs = logGroup("test");
        const deployLogs = logGroup("deploy");
        const smokeTestLogs = logGroup("smoke-test");

        // CodeBuild names a report group `<project>-<report>`; the test buildspec's report is `mocha`.
        this.testReportGroup = new aws.codebuild.ReportGroup(
            `${name}-test-reports`,
            { name: `${service}-test-mocha`, type: "TEST", exportConfig: { type: "NO_EXPORT" }, deleteReports: true },
            { parent: this },
        );

        this.buildRole = new aws.iam.Role(
            `${name}-build-role`,
            {
                name: args.buildRoleName,
                description: `Runs the ${service} deploy builds; may assume the target deploy roles`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codebuild.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const buildPolicy = new aws.iam.RolePolicy(
            `${name}-build-policy`,
            {
                role: this.buildRole.id,
                policy: pulumi
                    .all([deployLogs.arn, this.artifactBucket.arn, this.key.arn, pulumi.all(args.targets.map((t) => t.deployRoleArn))])
                    .apply(([logGroupArn, artifactBucketArn, artifactKeyArn, deployRoleArns]) =>
                        buildRolePolicy({ logGroupArn, artifactBucketArn, artifactKeyArn, deployRoleArns }),
                    ),
            },
            { parent: this },
        );

        this.ciRole = new aws.iam.Role(
            `${name}-ci-role`,
            {
                description: `Runs the ${service} unit tests and smoke tests; may assume no role`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codebuild.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const ciPolicy = new aws.iam.RolePolicy(
            `${name}-ci-policy`,
            {
                role: this.ciRole.id,
                policy: pulumi
                    .all([testLogs.arn, smokeTestLogs.arn, this.artifactBucket.arn, this.key.arn, this.testReportGroup.arn])
                    .apply(([testLogArn, smokeLogArn, artifactBucketArn, artifactKeyArn, reportGroupArn]) =>
                        ciRolePolicy({
                            logGroupArns: [testLogArn, smokeLogArn],
                            artifactBucketArn,
                            artifactKeyArn,
                            reportGroupArns: [reportGroupArn],
                        }),
                    ),
            },
            { parent: this },
        );

        const project = (
            kind: "test" | "deploy" | "smoke-test",
            settings: {
                role: aws.iam.Role;
                rolePolicy: aws.iam.RolePolicy;
                logGroup: aws.cloudwatch.LogGroup;
                buildspec: string;
                timeoutMinutes: pulumi.Input<number>;
                description: string;
                environment?: Record<string, string>;
            },
        ) =>
            new aws.codebuild.Project(
                `${name}-${kind}-project`,
                {
                    name: `${service}-${kind}`,
                    description: settings.description,
                    serviceRole: settings.role.arn,
                    encryptionKey: this.key.arn,
                    buildTimeout: settings.timeoutMinutes,
                    queuedTimeout: 60,
                    source: { type: "CODEPIPELINE", buildspec: settings.buildspec },
                    artifacts: { type: "CODEPIPELINE" },
                    // npm's download cache, kept in the artifact bucket between builds (npm ci stays lockfile-exact).
                    cache: { type: "S3", location: pulumi.interpolate`${this.artifactBucket.bucketName}/codebuild-cache/${kind}` },
                    environment: buildEnvironment({ SERVICE_NAME: service, ...settings.environment }),
                    logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: settings.logGroup.name } },
                },
                // CodeBuild checks the role's permissions on first use; attach them before the project exists.
                { parent: this, dependsOn: [settings.rolePolicy] },
            );

        this.testProject = project("test", {
            role: this.ciRole,
            rolePolicy: ciPolicy,
            logGroup: testLogs,
            buildspec: "buildspec-test.yml",
            timeoutMinutes: 20,
            description: `Type-checks and unit-tests ${service}, then builds the function bundles every stage deploys`,
        });
        const deployer = args.deployer ?? "serverless";
        if (deployer === "pulumi" && !args.pulumiCli) throw new Error("DeploymentPipeline: deployer pulumi needs pulumiCli");
        this.deployProject = project("deploy", {
            role: this.buildRole,
            rolePolicy: buildPolicy,
            logGroup: deployLogs,
            buildspec: DEPLOY_BUILDSPECS[deployer],
            timeoutMinutes: args.deployTimeoutMinutes ?? 30,
            description:
                deployer === "serverless"
                    ? `Assumes a target's deploy role and deploys ${service} with the Serverless Framework`
                    : `Assumes a target's deploy role and deploys ${service} with pulumi up (ProductApi)`,
            environment:
                deployer === "pulumi"
                    ? { PULUMI_CLI_VERSION: args.pulumiCli!.version, PULUMI_CLI_SHA256: args.pulumiCli!.sha256 }
                    : undefined,
        });
        this.smokeTestProject = project("smoke-test", {
            role: this.ciRole,
            rolePolicy: ciPolicy,
            logGroup: smokeTestLogs,
            buildspec: "buildspec-smoke.yml",
            timeoutMinutes: 10,
            description: `Calls a freshly deployed ${service} API over HTTPS`,
        });

        // ---- pipeline ----
        this.pipelineRole = new aws.iam.Role(
            `${name}-pipeline-role`,
            {
                description: `Runs the ${service} pipeline`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codepipeline.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const pipelinePolicy = new aws.iam.RolePolicy(
            `${name}-pipeline-policy`,
            {
                role: this.pipelineRole.id,
                policy: pulumi
                    .all([
                        this.artifactBucket.arn,
                        this.key.arn,
                        pulumi.all([this.testProject.arn, this.deployProject.arn, this.smokeTestProject.arn]),
                        this.notifications.arn,
                        this.source.pipelineRoleStatements,
                    ])
                    .apply(([artifactBucketArn, artifactKeyArn, buildProjectArns, notificationTopicArn, sourceStatements]) =>
                        pipelineRolePolicy({ artifactBucketArn, artifactKeyArn, buildProjectArns, notificationTopicArn, sourceStatements }),
                    ),
            },
            { parent: this },
        );

        const testStage = {
            name: "Test",
            actions: [
                {
                    name: "UnitTests",
                    category: "Build",
                    owner: "AWS",
                    provider: "CodeBuild",
                    version: "1",
                    inputArtifacts: [SOURCE_ARTIFACT],
                    outputArtifacts: [BUILD_ARTIFACT],
                    configuration: { ProjectName: this.testProject.name },
                },
            ],
        };

        // Per target: an approval stage when asked for, then the stage itself, Deploy → SmokeTest. The approval is a
        // stage of its own so that rolling the stage back (below) redeploys at once, without waiting for a person.
        const targetStages = args.targets.flatMap((target, i) => {
            const previous = i > 0 ? args.targets[i - 1].stage : undefined;
            const approval = {
                name: approvalStageName(target.stage),
                actions: [
                    {
                        name: "Approve",
                        category: "Approval",
                        owner: "AWS",
                        provider: "Manual",
                        version: "1",
                        configuration: {
                            NotificationArn: this.notifications.arn,
                            CustomData: previous
                                ? `Deploy commit #{SourceVariables.CommitId} to ${target.stage}? It passed ${previous}'s smoke test at #{${deployNamespace(previous)}.API_URL}.`
                                : `Deploy commit #{SourceVariables.CommitId} to ${target.stage}? It passed the unit tests.`,
                            ...(previous ? { ExternalEntityLink: `#{${deployNamespace(previous)}.API_URL}` } : {}),
                        },
                    },
                ],
            };
            const deploy = {
                name: "Deploy",
                category: "Build",
                owner: "AWS",
                provider: "CodeBuild",
                version: "1",
                runOrder: 1,
                namespace: deployNamespace(target.stage),
                inputArtifacts: [BUILD_ARTIFACT],
                outputArtifacts: [`deploy_${target.stage.replace(/-/g, "_")}`],
                configuration: {
                    ProjectName: this.deployProject.name,
                    EnvironmentVariables: codeBuildEnvironmentVariables(deployEnvironment({ ...target, serviceName: service })),
                },
            };
            const smokeTest = {
                name: "SmokeTest",
                category: "Test",
                owner: "AWS",
                provider: "CodeBuild",
                version: "1",
                runOrder: 2,
                inputArtifacts: [BUILD_ARTIFACT],
                configuration: {
                    ProjectName: this.smokeTestProject.name,
                    EnvironmentVariables: codeBuildEnvironmentVariables(smokeTestEnvironment(target.stage, target.smokeTest)),
                },
            };
            const stage = {
                name: target.stage,
                actions: [deploy, smokeTest],
                // CodePipeline V2 stage rollback: when Deploy or SmokeTest fails, the stage is run again with the
                // artifacts and variables of its last successful execution, so the failing build is never what
                // stays deployed. With no successful execution yet (a stage's first deploy) there is nothing to
                // roll back to and the stage simply fails. Either way this execution stops here and is notified.
                ...(target.rollbackOnFailure ? { onFailure: { result: "ROLLBACK" } } : {}),
            };
            return target.approval ? [approval, stage] : [stage];
        });

        this.pipeline = new aws.codepipeline.Pipeline(
            `${name}-pipeline`,
            {
                name: `${service}-pipeline`,
                pipelineType: "V2",
                // Pushes that arrive while a run is in progress wait their turn: one deploy per stage at a time,
                // in push order (SUPERSEDED could skip a commit, PARALLEL could race two deploys of one stage).
                executionMode: "QUEUED",
                roleArn: this.pipelineRole.arn,
                artifactStores: [
                    { type: "S3", location: this.artifactBucket.bucketName, encryptionKey: { type: "KMS", id: this.key.arn } },
                ],
                triggers: this.source.triggers.length > 0 ? this.source.triggers : undefined,
                stages: [{ name: "Source", actions: [this.source.action] }, testStage, ...targetStages],
            },
            { parent: this, dependsOn: [pipelinePolicy] },
        );
        this.source.startOnChange(this.pipeline);

        new aws.codestarnotifications.NotificationRule(
            `${name}-notification-rule`,
            {
                name: `${service}-pipeline`,
                resource: this.pipeline.arn,
                detailType: "FULL",
                eventTypeIds: NOTIFICATION_EVENTS,
                targets: [{ type: "SNS", address: this.notifications.arn }],
            },
            { parent: this },
        );

        this.pipelineName = this.pipeline.name;
        this.cloneUrlHttp = this.source.cloneUrlHttp;
        this.buildRoleArn = this.buildRole.arn;
        this.artifactBucketName = this.artifactBucket.bucketName;
        this.notificationTopicArn = this.notifications.arn;
        this.registerOutputs({
            pipelineName: this.pipelineName,
            cloneUrlHttp: this.cloneUrlHttp,
            buildRoleArn: this.buildRoleArn,
            artifactBucketName: this.artifactBucketName,
            notificationTopicArn: this.notificationTopicArn,
        });
    }
}
