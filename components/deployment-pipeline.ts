import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { API_URL_VARIABLE, BuildProject, DEPLOY_KIT_VARIABLES, kitBuildspec } from "./codebuild";
import { deployKitBundle } from "./deploy-kit-bundle";
import { DeployerSettings, SERVICE_NAME, SmokeTestMode, SourceConfig, stageBuildRoleName } from "./domain";
import { CodeCommitSource, CodeConnectionsSource, PipelineSource, SOURCE_ARTIFACT } from "./pipeline-source";
import { deployNamespace, deployOutputArtifact, ModelAction, ModelStage, pipelineModel } from "./pipeline-model";
import { AccountContext, arns, notificationTopicPolicy, pipelineKeyPolicy, pipelineRolePolicy, serviceTrustPolicy } from "./policies";
import { SecureBucket } from "./secure-bucket";
import { DeployTarget, deployTargetEnvironment } from "./target-contract";

export interface DeploymentPipelineArgs {
    readonly source: SourceConfig;
    readonly branch: pulumi.Input<string>;
    /** Prefix of the stage build roles, `<prefix>-<stage>`: each target's deploy role trusts its own stage's. */
    readonly buildRolePrefix: string;
    /** Deploy targets, in promotion order. */
    readonly targets: readonly DeployTarget[];
    /** What deploys them (every target is set up for it) and what its builds need. */
    readonly deployer: DeployerSettings;
    /** The tools account and region. */
    readonly account: pulumi.Input<AccountContext>;
    readonly logRetentionDays: pulumi.Input<number>;
    /** Subscribed to failures, successes and approvals (each address confirms by e-mail). */
    readonly notificationEmails?: readonly string[];
}

/** The artifact the Test stage produces (sources, tested bundles, a package per stage) and every later action consumes. */
export const BUILD_ARTIFACT = "build";

/** The variable the Test action reads the stages to package from (space-separated). */
export const PACKAGE_STAGES_VARIABLE = "PACKAGE_STAGES";

/** Notification events: a run failed or succeeded, or an approval waits. */
export const NOTIFICATION_EVENTS = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-pipeline-execution-succeeded",
    "codepipeline-pipeline-manual-approval-needed",
];

/** The deploy project of a stage; its role is the stage's build role. */
export const deployProjectName = (stage: string) => `${SERVICE_NAME}-deploy-${stage}`;

/** Environment a SmokeTest action gives buildspec-smoke.yml: the URL its stage's Deploy exported. */
export function smokeTestEnvironment(stage: string, mode: SmokeTestMode): Record<string, string> {
    return { STAGE: stage, SMOKE_TEST_MODE: mode, API_URL: `#{${deployNamespace(stage)}.${API_URL_VARIABLE}}` };
}

/** CodePipeline takes a CodeBuild action's environment as a JSON string of {name, value, type}. */
function codeBuildEnvironmentVariables(vars: Record<string, string>): string {
    return JSON.stringify(Object.entries(vars).map(([name, value]) => ({ name, value, type: "PLAINTEXT" })));
}

/**
 * The tools-account pipeline, rendered from its model (pipeline-model.ts): Source → Test (the commit's tests, then
 * its bundles and a package per stage: one artifact that every later stage deploys, so what was tested is what
 * ships) → per target stage [Approve-<stage>] → <stage>: Deploy → SmokeTest, rolled back to its last good execution
 * when it fails.
 *
 * Stages are isolated: each stage's Deploy runs its own CodeBuild project as its own build role (`<prefix>-<stage>`),
 * which may assume that stage's deploy role and nothing else, and runs the deploy kit of this stack (an inline
 * buildspec fetching a pinned object), not code of the commit. The Test and SmokeTest projects, which do run the
 * commit's code, may assume no role at all.
 */
export class DeploymentPipeline extends pulumi.ComponentResource {
    public readonly source: PipelineSource;
    public readonly key: aws.kms.Key;
    public readonly artifactBucket: SecureBucket;
    /** The deploy kit and the build caches: written by `pulumi up` and by each project under its own cache prefix only. */
    public readonly assetsBucket: SecureBucket;
    public readonly deployKit: aws.s3.BucketObjectv2;
    /** The SHA-256 every kit build checks the object against. */
    public readonly deployKitSha256: string;
    public readonly testProject: BuildProject;
    public readonly smokeTestProject: BuildProject;
    /** Per target stage, its deploy project (with its build role). */
    public readonly deployProjects: Record<string, BuildProject>;
    public readonly testReportGroup: aws.codebuild.ReportGroup;
    public readonly pipelineRole: aws.iam.Role;
    public readonly pipeline: aws.codepipeline.Pipeline;
    public readonly notifications: aws.sns.Topic;

    public readonly pipelineName: pulumi.Output<string>;
    public readonly cloneUrlHttp: pulumi.Output<string | undefined>;
    public readonly artifactBucketName: pulumi.Output<string>;
    public readonly notificationTopicArn: pulumi.Output<string>;
    /** Per target stage, its build role's ARN (what the stage's deploy role trusts). */
    public readonly buildRoleArns: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DeploymentPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:DeploymentPipeline", name, {}, opts);

        const model = pipelineModel(args.targets);
        const account = pulumi.output(args.account);

        this.source =
            args.source.kind === "codecommit"
                ? new CodeCommitSource(
                      `${name}-source`,
                      {
                          repositoryName: args.source.repositoryName,
                          branch: args.branch,
                          accountId: account.accountId,
                          description: `Source of ${SERVICE_NAME}, deployed by the ${name} pipeline`,
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

        // ---- one customer-managed key: artifacts, build assets and notifications ----
        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the ${SERVICE_NAME} pipeline's artifacts, build assets and notifications`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: account.apply((ctx) => JSON.stringify(pipelineKeyPolicy(ctx))),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${SERVICE_NAME}-pipeline`, targetKeyId: this.key.keyId }, { parent: this });
        this.artifactBucket = new SecureBucket(`${name}-artifacts`, { kmsKeyArn: this.key.arn, forceDestroy: true }, { parent: this });
        this.assetsBucket = new SecureBucket(`${name}-build-assets`, { kmsKeyArn: this.key.arn, forceDestroy: true }, { parent: this });

        const kit = deployKitBundle();
        this.deployKit = new aws.s3.BucketObjectv2(
            `${name}-deploy-kit`,
            { bucket: this.assetsBucket.bucketName, key: kit.key, content: kit.code, contentType: "application/javascript" },
            { parent: this },
        );
        this.deployKitSha256 = kit.sha256;
        const kitEnvironment = {
            [DEPLOY_KIT_VARIABLES.bucket]: this.assetsBucket.bucketName,
            [DEPLOY_KIT_VARIABLES.key]: this.deployKit.key,
            [DEPLOY_KIT_VARIABLES.sha256]: kit.sha256,
        };

        // ---- notifications ----
        this.notifications = new aws.sns.Topic(
            `${name}-notifications`,
            { name: `${SERVICE_NAME}-pipeline-notifications`, kmsMasterKeyId: this.key.arn },
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
        // CodeBuild names a report group `<project>-<report>`; the test buildspec's report is `mocha`.
        this.testReportGroup = new aws.codebuild.ReportGroup(
            `${name}-test-reports`,
            { name: `${SERVICE_NAME}-test-mocha`, type: "TEST", exportConfig: { type: "NO_EXPORT" }, deleteReports: true },
            { parent: this },
        );
        const artifacts = { bucketArn: this.artifactBucket.arn, keyArn: this.key.arn };
        const cache = { bucketName: this.assetsBucket.bucketName, bucketArn: this.assetsBucket.arn };
        const common = {
            account,
            encryptionKeyArn: this.key.arn,
            logRetentionDays: args.logRetentionDays,
            source: "CODEPIPELINE" as const,
        };
        this.testProject = new BuildProject(
            `${name}-test`,
            {
                ...common,
                projectName: `${SERVICE_NAME}-test`,
                description: `Type-checks and unit-tests ${SERVICE_NAME}, then builds the bundles and packages every stage deploys; may assume no role`,
                grants: { artifacts, reportGroupArns: [this.testReportGroup.arn] },
                buildspec: "buildspec-test.yml",
                environment: {},
                timeoutMinutes: 20,
                cache,
            },
            { parent: this },
        );
        this.smokeTestProject = new BuildProject(
            `${name}-smoke-test`,
            {
                ...common,
                projectName: `${SERVICE_NAME}-smoke-test`,
                description: `Calls a freshly deployed ${SERVICE_NAME} API over HTTPS; may assume no role`,
                grants: { artifacts },
                buildspec: "buildspec-smoke.yml",
                environment: {},
                timeoutMinutes: 10,
            },
            { parent: this },
        );
        const deployer = args.deployer;
        this.deployProjects = Object.fromEntries(
            args.targets.map((target) => [
                target.stage,
                new BuildProject(
                    `${name}-deploy-${target.stage}`,
                    {
                        ...common,
                        projectName: deployProjectName(target.stage),
                        roleName: stageBuildRoleName(args.buildRolePrefix, target.stage),
                        description:
                            `Deploys ${SERVICE_NAME} to ${target.stage} (${target.accountId}) with the ${deployer.kind} deployer; ` +
                            "may assume that stage's deploy role only",
                        grants: {
                            artifacts,
                            deployKit: {
                                objectArn: pulumi.interpolate`${this.assetsBucket.arn}/${this.deployKit.key}`,
                                keyArn: this.key.arn,
                            },
                            assumeRoleArns: [target.deployRoleArn],
                        },
                        buildspec: kitBuildspec("deploy", { installProgram: deployer.kind === "pulumi" }),
                        environment: {
                            ...kitEnvironment,
                            ...(deployer.kind === "pulumi"
                                ? { PULUMI_CLI_VERSION: deployer.cli.version, PULUMI_CLI_SHA256: deployer.cli.sha256 }
                                : {}),
                        },
                        timeoutMinutes: 30,
                        cache: deployer.kind === "pulumi" ? cache : undefined,
                    },
                    { parent: this },
                ),
            ]),
        );

        // ---- pipeline ----
        this.pipelineRole = new aws.iam.Role(
            `${name}-pipeline-role`,
            {
                description: `Runs the ${SERVICE_NAME} pipeline`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codepipeline.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const projects = [this.testProject, this.smokeTestProject, ...Object.values(this.deployProjects)];
        const pipelinePolicy = new aws.iam.RolePolicy(
            `${name}-pipeline-policy`,
            {
                role: this.pipelineRole.id,
                policy: pulumi
                    .all([
                        this.artifactBucket.arn,
                        this.key.arn,
                        pulumi.all(projects.map((p) => p.projectArn)),
                        this.notifications.arn,
                        this.source.pipelineRoleStatements,
                    ])
                    .apply(([artifactBucketArn, artifactKeyArn, buildProjectArns, notificationTopicArn, sourceStatements]) =>
                        pipelineRolePolicy({ artifactBucketArn, artifactKeyArn, buildProjectArns, notificationTopicArn, sourceStatements }),
                    ),
            },
            { parent: this },
        );

        this.pipeline = new aws.codepipeline.Pipeline(
            `${name}-pipeline`,
            {
                name: `${SERVICE_NAME}-pipeline`,
                pipelineType: "V2",
                // Pushes that arrive while a run is in progress wait their turn: one deploy per stage at a time,
                // in push order (SUPERSEDED could skip a commit, PARALLEL could race two deploys of one stage).
                executionMode: "QUEUED",
                roleArn: this.pipelineRole.arn,
                artifactStores: [
                    { type: "S3", location: this.artifactBucket.bucketName, encryptionKey: { type: "KMS", id: this.key.arn } },
                ],
                triggers: this.source.triggers.length > 0 ? this.source.triggers : undefined,
                stages: [{ name: "Source", actions: [this.source.action] }, ...model.stages.map((stage) => this.renderStage(stage))],
            },
            { parent: this, dependsOn: [pipelinePolicy] },
        );
        this.source.startOnChange(this.pipeline);

        new aws.codestarnotifications.NotificationRule(
            `${name}-notification-rule`,
            {
                name: `${SERVICE_NAME}-pipeline`,
                resource: this.pipeline.arn,
                detailType: "FULL",
                eventTypeIds: NOTIFICATION_EVENTS,
                targets: [{ type: "SNS", address: this.notifications.arn }],
            },
            { parent: this },
        );

        this.pipelineName = this.pipeline.name;
        this.cloneUrlHttp = this.source.cloneUrlHttp;
        this.artifactBucketName = this.artifactBucket.bucketName;
        this.notificationTopicArn = this.notifications.arn;
        this.buildRoleArns = pulumi
            .all(Object.entries(this.deployProjects).map(([stage, p]) => p.roleArn.apply((arn) => [stage, arn] as const)))
            .apply((entries) => Object.fromEntries(entries));
        this.registerOutputs({
            pipelineName: this.pipelineName,
            cloneUrlHttp: this.cloneUrlHttp,
            artifactBucketName: this.artifactBucketName,
            notificationTopicArn: this.notificationTopicArn,
            buildRoleArns: this.buildRoleArns,
        });
    }

    /** One stage of the model, as CodePipeline takes it. */
    private renderStage(stage: ModelStage): aws.types.input.codepipeline.PipelineStage {
        return {
            name: stage.name,
            actions: stage.actions.map((action) => this.renderAction(action)),
            // CodePipeline V2 stage rollback: when an action fails, the stage is run again with the artifacts and
            // variables of its last successful execution, so the failing build is never what stays deployed. With no
            // successful execution yet (a stage's first deploy) there is nothing to roll back to and the stage simply
            // fails. Either way this execution stops here and is notified.
            ...(stage.rollbackOnFailure ? { onFailure: { result: "ROLLBACK" } } : {}),
        };
    }

    private renderAction(action: ModelAction): aws.types.input.codepipeline.PipelineStageAction {
        const codeBuild = { owner: "AWS", provider: "CodeBuild", version: "1" };
        switch (action.kind) {
            case "test":
                return {
                    name: action.name,
                    category: "Build",
                    ...codeBuild,
                    inputArtifacts: [SOURCE_ARTIFACT],
                    outputArtifacts: [BUILD_ARTIFACT],
                    configuration: {
                        ProjectName: this.testProject.projectName,
                        EnvironmentVariables: codeBuildEnvironmentVariables({ [PACKAGE_STAGES_VARIABLE]: action.packageStages.join(" ") }),
                    },
                };
            case "approval": {
                const previous = action.previousStage;
                return {
                    name: action.name,
                    category: "Approval",
                    owner: "AWS",
                    provider: "Manual",
                    version: "1",
                    configuration: {
                        NotificationArn: this.notifications.arn,
                        CustomData: previous
                            ? `Deploy commit #{SourceVariables.CommitId} to ${action.stage}? It passed ${previous}'s smoke test at #{${deployNamespace(previous)}.${API_URL_VARIABLE}}.`
                            : `Deploy commit #{SourceVariables.CommitId} to ${action.stage}? It passed the unit tests.`,
                        ...(previous ? { ExternalEntityLink: `#{${deployNamespace(previous)}.${API_URL_VARIABLE}}` } : {}),
                    },
                };
            }
            case "deploy":
                return {
                    name: action.name,
                    category: "Build",
                    ...codeBuild,
                    runOrder: action.runOrder,
                    namespace: deployNamespace(action.target.stage),
                    inputArtifacts: [BUILD_ARTIFACT],
                    outputArtifacts: [deployOutputArtifact(action.target.stage)],
                    configuration: {
                        ProjectName: this.deployProjects[action.target.stage].projectName,
                        EnvironmentVariables: codeBuildEnvironmentVariables(deployTargetEnvironment(action.target)),
                    },
                };
            case "smoke-test":
                return {
                    name: action.name,
                    category: "Test",
                    ...codeBuild,
                    runOrder: action.runOrder,
                    inputArtifacts: [BUILD_ARTIFACT],
                    configuration: {
                        ProjectName: this.smokeTestProject.projectName,
                        EnvironmentVariables: codeBuildEnvironmentVariables(smokeTestEnvironment(action.stage, action.mode)),
                    },
                };
        }
    }
}

/** The build roles' ARNs as the targets must trust them (for checks before anything is created). */
export function stageBuildRoleArn(ctx: Pick<AccountContext, "partition" | "accountId">, prefix: string, stage: string): string {
    return arns.role(ctx, stageBuildRoleName(prefix, stage));
}
