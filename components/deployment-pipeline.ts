import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_NAME } from "../config";
import { CodeCommitSource, PipelineSource, SOURCE_ARTIFACT } from "./pipeline-source";
import { AccountContext, artifactKeyPolicy, buildRolePolicy, pipelineRolePolicy, serviceTrustPolicy } from "./policies";
import { SecureBucket } from "./secure-bucket";

/** What the pipeline needs to know about one target stack (all of it read from that stack's outputs). */
export interface DeployTarget {
    readonly stage: string;
    readonly accountId: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
    readonly deployRoleArn: pulumi.Input<string>;
    readonly cfnExecutionRoleArn: pulumi.Input<string>;
    readonly deploymentBucketName: pulumi.Input<string>;
    readonly permissionsBoundaryArn: pulumi.Input<string>;
}

export interface DeploymentPipelineArgs {
    readonly repositoryName: pulumi.Input<string>;
    readonly branch: pulumi.Input<string>;
    /** Deterministic name of the CodeBuild role; the targets' deploy roles trust exactly this name. */
    readonly buildRoleName: pulumi.Input<string>;
    /** Deploy stages, in order. */
    readonly targets: readonly DeployTarget[];
    /** The tools account and region. */
    readonly account: pulumi.Input<AccountContext>;
    readonly logRetentionDays: pulumi.Input<number>;
    readonly serviceName?: string;
    readonly buildTimeoutMinutes?: pulumi.Input<number>;
}

/** CodeBuild image with Node.js 22 (Amazon Linux 2023 standard 5.0). */
export const BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/** Pipeline variable namespace of a stage's Deploy action; later actions read `#{<namespace>.API_URL}`. */
export const deployNamespace = (stage: string) => `Deploy-${stage}`;

/** Environment a Deploy action gives the build: names the buildspec and scripts/ rely on. */
export function deployEnvironment(target: {
    stage: string;
    accountId: string;
    region: string;
    deployRoleArn: string;
    cfnExecutionRoleArn: string;
    deploymentBucketName: string;
    permissionsBoundaryArn: string;
    serviceName: string;
}): Record<string, string> {
    return {
        STAGE: target.stage,
        SERVICE_NAME: target.serviceName,
        TARGET_ACCOUNT_ID: target.accountId,
        TARGET_REGION: target.region,
        DEPLOY_ROLE_ARN: target.deployRoleArn,
        CFN_EXECUTION_ROLE_ARN: target.cfnExecutionRoleArn,
        DEPLOYMENT_BUCKET: target.deploymentBucketName,
        PERMISSIONS_BOUNDARY_ARN: target.permissionsBoundaryArn,
    };
}

/**
 * The tools-account pipeline: a source, an encrypted artifact store, one CodeBuild project that deploys with
 * the Serverless Framework after assuming a target's deploy role, and a CodePipeline (V2, queued executions)
 * with a Deploy stage per target, in order.
 */
export class DeploymentPipeline extends pulumi.ComponentResource {
    public readonly source: CodeCommitSource;
    public readonly artifactKey: aws.kms.Key;
    public readonly artifactBucket: SecureBucket;
    public readonly buildRole: aws.iam.Role;
    public readonly buildProject: aws.codebuild.Project;
    public readonly pipelineRole: aws.iam.Role;
    public readonly pipeline: aws.codepipeline.Pipeline;

    public readonly pipelineName: pulumi.Output<string>;
    public readonly cloneUrlHttp: pulumi.Output<string>;
    public readonly cloneUrlSsh: pulumi.Output<string>;
    public readonly buildRoleArn: pulumi.Output<string>;
    public readonly artifactBucketName: pulumi.Output<string>;

    constructor(name: string, args: DeploymentPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:DeploymentPipeline", name, {}, opts);

        if (args.targets.length === 0) throw new Error("DeploymentPipeline needs at least one deploy target");
        const service = args.serviceName ?? SERVICE_NAME;
        const account = pulumi.output(args.account);

        // ---- source ----
        this.source = new CodeCommitSource(
            `${name}-source`,
            {
                repositoryName: args.repositoryName,
                branch: args.branch,
                accountId: account.accountId,
                description: `Source of ${service}, deployed by the ${name} pipeline`,
            },
            { parent: this },
        );
        const source: PipelineSource = this.source;

        // ---- artifact store: customer-managed key, hardened bucket ----
        this.artifactKey = new aws.kms.Key(
            `${name}-artifact-key`,
            {
                description: `Encrypts the ${service} pipeline's artifacts`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: account.apply((ctx) => JSON.stringify(artifactKeyPolicy(ctx))),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-artifact-key-alias`, { name: `alias/${service}-pipeline-artifacts`, targetKeyId: this.artifactKey.keyId }, { parent: this });
        this.artifactBucket = new SecureBucket(
            `${name}-artifacts`,
            { kmsKeyArn: this.artifactKey.arn, forceDestroy: true },
            { parent: this },
        );

        // ---- build ----
        const projectName = `${service}-deploy`;
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-build-logs`,
            { name: `/aws/codebuild/${projectName}`, retentionInDays: args.logRetentionDays },
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
                    .all([logGroup.arn, this.artifactBucket.arn, this.artifactKey.arn, pulumi.all(args.targets.map((t) => t.deployRoleArn))])
                    .apply(([logGroupArn, artifactBucketArn, artifactKeyArn, deployRoleArns]) =>
                        buildRolePolicy({ logGroupArn, artifactBucketArn, artifactKeyArn, deployRoleArns }),
                    ),
            },
            { parent: this },
        );

        this.buildProject = new aws.codebuild.Project(
            `${name}-deploy-project`,
            {
                name: projectName,
                description: `Assumes a target's deploy role and deploys ${service} with the Serverless Framework`,
                serviceRole: this.buildRole.arn,
                encryptionKey: this.artifactKey.arn,
                buildTimeout: args.buildTimeoutMinutes ?? 30,
                queuedTimeout: 60,
                source: { type: "CODEPIPELINE", buildspec: "buildspec.yml" },
                artifacts: { type: "CODEPIPELINE" },
                environment: {
                    type: "LINUX_CONTAINER",
                    computeType: "BUILD_GENERAL1_SMALL",
                    image: BUILD_IMAGE,
                    imagePullCredentialsType: "CODEBUILD",
                    // No Docker builds here; privileged mode would give the build root on the host's Docker daemon.
                    privilegedMode: false,
                    // Each Deploy action sets the target's variables (see deployEnvironment).
                    environmentVariables: [{ name: "SERVICE_NAME", value: service, type: "PLAINTEXT" }],
                },
                logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name } },
            },
            // CodeBuild validates the role's permissions on first use; attach them before the project exists.
            { parent: this, dependsOn: [buildPolicy] },
        );

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
                    .all([this.artifactBucket.arn, this.artifactKey.arn, this.buildProject.arn, source.pipelineRoleStatements])
                    .apply(([artifactBucketArn, artifactKeyArn, projectArn, sourceStatements]) =>
                        pipelineRolePolicy({ artifactBucketArn, artifactKeyArn, buildProjectArns: [projectArn], sourceStatements }),
                    ),
            },
            { parent: this },
        );

        const deployStages = args.targets.map((target) => ({
            name: `Deploy-${target.stage}`,
            actions: [
                {
                    name: "Deploy",
                    category: "Build",
                    owner: "AWS",
                    provider: "CodeBuild",
                    version: "1",
                    namespace: deployNamespace(target.stage),
                    inputArtifacts: [SOURCE_ARTIFACT],
                    outputArtifacts: [`deploy_${target.stage.replace(/-/g, "_")}`],
                    configuration: {
                        ProjectName: this.buildProject.name,
                        EnvironmentVariables: codeBuildEnvironmentVariables(
                            pulumi
                                .all([target.accountId, target.region, target.deployRoleArn, target.cfnExecutionRoleArn, target.deploymentBucketName, target.permissionsBoundaryArn])
                                .apply(([accountId, region, deployRoleArn, cfnExecutionRoleArn, deploymentBucketName, permissionsBoundaryArn]) =>
                                    deployEnvironment({
                                        stage: target.stage,
                                        serviceName: service,
                                        accountId,
                                        region,
                                        deployRoleArn,
                                        cfnExecutionRoleArn,
                                        deploymentBucketName,
                                        permissionsBoundaryArn,
                                    }),
                                ),
                        ),
                    },
                },
            ],
        }));

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
                    {
                        type: "S3",
                        location: this.artifactBucket.bucketName,
                        encryptionKey: { type: "KMS", id: this.artifactKey.arn },
                    },
                ],
                stages: [{ name: "Source", actions: [source.action] }, ...deployStages],
            },
            { parent: this, dependsOn: [pipelinePolicy] },
        );

        source.startOnChange(this.pipeline);

        this.pipelineName = this.pipeline.name;
        this.cloneUrlHttp = this.source.repository.cloneUrlHttp;
        this.cloneUrlSsh = this.source.repository.cloneUrlSsh;
        this.buildRoleArn = this.buildRole.arn;
        this.artifactBucketName = this.artifactBucket.bucketName;
        this.registerOutputs({
            pipelineName: this.pipelineName,
            cloneUrlHttp: this.cloneUrlHttp,
            cloneUrlSsh: this.cloneUrlSsh,
            buildRoleArn: this.buildRoleArn,
            artifactBucketName: this.artifactBucketName,
        });
    }
}

/** CodePipeline takes a CodeBuild action's environment as a JSON string of {name, value, type}. */
function codeBuildEnvironmentVariables(variables: pulumi.Output<Record<string, string>>): pulumi.Output<string> {
    return variables.apply((vars) => JSON.stringify(Object.entries(vars).map(([name, value]) => ({ name, value, type: "PLAINTEXT" }))));
}
