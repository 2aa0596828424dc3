import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { SERVICE_NAME } from "../config";
import { buildEnvironment } from "./deployment-pipeline";
import { AccountContext, driftRolePolicy, serviceTrustPolicy, startBuildPolicy } from "./policies";

/** A target stage whose stack the drift check inspects. */
export interface DriftTarget {
    readonly stage: string;
    readonly accountId: string;
    readonly region: string;
    readonly deployRoleArn: string;
}

export interface DriftDetectionArgs {
    /** EventBridge schedule expression, e.g. `rate(1 day)`. */
    readonly schedule: pulumi.Input<string>;
    readonly targets: readonly DriftTarget[];
    /** Deterministic name of the check's role: the targets' deploy roles trust exactly this name. */
    readonly roleName: pulumi.Input<string>;
    /** The pipeline's topic (drift is published there) and the key it and the artifact bucket are encrypted with. */
    readonly notificationTopicArn: pulumi.Input<string>;
    readonly keyArn: pulumi.Input<string>;
    /** Where the check's source (buildspec and scripts) is kept: the pipeline's artifact bucket. */
    readonly sourceBucket: pulumi.Input<string>;
    readonly sourceBucketArn: pulumi.Input<string>;
    readonly account: pulumi.Input<AccountContext>;
    readonly logRetentionDays: pulumi.Input<number>;
    readonly serviceName?: string;
}

/** The files the drift-check build runs, from this repository: its buildspec and the two scripts. */
export const DRIFT_CHECK_FILES: Record<string, string> = {
    "buildspec.yml": "buildspec-drift.yml",
    "scripts/drift-check.mjs": "scripts/drift-check.mjs",
    "scripts/assume-deploy-role.sh": "scripts/assume-deploy-role.sh",
};

/** Key of the drift check's source archive in the artifact bucket. */
export const DRIFT_CHECK_SOURCE_KEY = "drift-check/source.zip";

/**
 * Scheduled drift detection: on `schedule`, a CodeBuild project assumes each target's deploy role (whose drift
 * statements are read-only) and runs CloudFormation drift detection on `<service>-<stage>`; each drifted stage
 * is one message on the pipeline's topic, naming the resources and properties that differ. No drift, no message.
 * The project's source is an archive of this repository's drift files, uploaded by `pulumi up`: the check runs
 * the same scripts the tests run, and needs no access to the source repository.
 */
export class DriftDetection extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly project: aws.codebuild.Project;
    public readonly rule: aws.cloudwatch.EventRule;

    public readonly projectName: pulumi.Output<string>;

    constructor(name: string, args: DriftDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:DriftDetection", name, {}, opts);
        if (args.targets.length === 0) throw new Error("DriftDetection needs at least one target");
        const service = args.serviceName ?? SERVICE_NAME;
        const account = pulumi.output(args.account);
        const root = path.resolve(__dirname, "..");

        const source = new aws.s3.BucketObjectv2(
            `${name}-source`,
            {
                bucket: args.sourceBucket,
                key: DRIFT_CHECK_SOURCE_KEY,
                source: new pulumi.asset.AssetArchive(
                    Object.fromEntries(
                        Object.entries(DRIFT_CHECK_FILES).map(([to, from]) => [to, new pulumi.asset.FileAsset(path.join(root, from))]),
                    ),
                ),
            },
            { parent: this },
        );
        const logs = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: `/aws/codebuild/${service}-drift`, retentionInDays: args.logRetentionDays },
            { parent: this },
        );

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: args.roleName,
                description: `Runs the ${service} drift check; may assume the target deploy roles and publish to the pipeline topic`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codebuild.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([logs.arn, args.sourceBucketArn, args.notificationTopicArn, args.keyArn])
                    .apply(([logGroupArn, sourceBucketArn, notificationTopicArn, keyArn]) =>
                        driftRolePolicy({
                            logGroupArn,
                            sourceBucketArn,
                            sourceObjectArn: `${sourceBucketArn}/${DRIFT_CHECK_SOURCE_KEY}`,
                            deployRoleArns: args.targets.map((t) => t.deployRoleArn),
                            notificationTopicArn,
                            keyArn,
                        }),
                    ),
            },
            { parent: this },
        );

        this.project = new aws.codebuild.Project(
            `${name}-project`,
            {
                name: `${service}-drift`,
                description: `Detects drift of every ${service} stage's CloudFormation stack and publishes what differs`,
                serviceRole: this.role.arn,
                encryptionKey: args.keyArn,
                buildTimeout: 30,
                queuedTimeout: 60,
                source: { type: "S3", location: pulumi.interpolate`${args.sourceBucket}/${source.key}` },
                // A new source archive (changed scripts) must reach the project: its version pins it.
                sourceVersion: source.versionId,
                artifacts: { type: "NO_ARTIFACTS" },
                environment: buildEnvironment({
                    SERVICE_NAME: service,
                    NOTIFICATION_TOPIC_ARN: args.notificationTopicArn,
                    DRIFT_TARGETS: JSON.stringify(args.targets),
                }),
                logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: logs.name } },
            },
            { parent: this, dependsOn: [policy] },
        );

        const scheduleRole = new aws.iam.Role(
            `${name}-schedule-role`,
            {
                description: `Lets EventBridge start the ${service} drift check`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("events.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-schedule-policy`,
            { role: scheduleRole.id, policy: this.project.arn.apply((arn) => startBuildPolicy(arn)) },
            { parent: this },
        );
        this.rule = new aws.cloudwatch.EventRule(
            `${name}-schedule`,
            { name: `${service}-drift-check`, description: `Starts the ${service} drift check`, scheduleExpression: args.schedule },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-schedule-target`,
            { rule: this.rule.name, arn: this.project.arn, roleArn: scheduleRole.arn },
            { parent: this },
        );

        this.projectName = this.project.name;
        this.registerOutputs({ projectName: this.projectName });
    }
}
