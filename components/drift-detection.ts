import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BuildProject, DEPLOY_KIT_VARIABLES, kitBuildspec } from "./codebuild";
import { SERVICE_NAME } from "./domain";
import { AccountContext, serviceTrustPolicy, startBuildPolicy } from "./policies";
import { DRIFT_TARGETS_VARIABLE, TargetOutputsOf } from "./target-contract";

/** Where a build finds the deploy kit the tools stack uploaded. */
export interface DeployKitLocation {
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly key: pulumi.Input<string>;
    readonly sha256: string;
}

export interface DriftDetectionArgs {
    /** EventBridge schedule expression, e.g. `rate(1 day)`. */
    readonly schedule: pulumi.Input<string>;
    /** The serverless targets whose stacks are checked, each through its read-only drift role. */
    readonly targets: readonly TargetOutputsOf<"serverless">[];
    /** Deterministic name of the check's role: the targets' drift roles trust exactly this name. */
    readonly roleName: string;
    /** The pipeline's topic (drift is published there) and the key it, the kit and the cache are encrypted with. */
    readonly notificationTopicArn: pulumi.Input<string>;
    readonly keyArn: pulumi.Input<string>;
    readonly deployKit: DeployKitLocation;
    readonly account: pulumi.Input<AccountContext>;
    readonly logRetentionDays: pulumi.Input<number>;
}

/**
 * Scheduled drift detection: on `schedule`, a CodeBuild project runs the deploy kit's drift check, which assumes each
 * target's read-only drift role and runs CloudFormation drift detection on `<service>-<stage>`; each drifted stage is
 * one message on the pipeline's topic, naming the resources and properties that differ. No drift, no message. The
 * project has no source: its inline buildspec runs the kit the tools stack uploaded, the same code the tests run.
 */
export class DriftDetection extends pulumi.ComponentResource {
    public readonly project: BuildProject;
    public readonly rule: aws.cloudwatch.EventRule;

    public readonly projectName: pulumi.Output<string>;

    constructor(name: string, args: DriftDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:DriftDetection", name, {}, opts);
        if (args.targets.length === 0) throw new Error("DriftDetection needs at least one target");
        const account = pulumi.output(args.account);

        this.project = new BuildProject(
            `${name}-check`,
            {
                projectName: `${SERVICE_NAME}-drift`,
                description: `Detects drift of every ${SERVICE_NAME} stage's CloudFormation stack and publishes what differs`,
                roleName: args.roleName,
                account,
                grants: {
                    deployKit: { objectArn: pulumi.interpolate`${args.deployKit.bucketArn}/${args.deployKit.key}`, keyArn: args.keyArn },
                    assumeRoleArns: args.targets.map((t) => t.driftRoleArn),
                    publishTopic: { topicArn: args.notificationTopicArn, keyArn: args.keyArn },
                },
                buildspec: kitBuildspec("drift"),
                source: "NO_SOURCE",
                environment: {
                    [DEPLOY_KIT_VARIABLES.bucket]: args.deployKit.bucketName,
                    [DEPLOY_KIT_VARIABLES.key]: args.deployKit.key,
                    [DEPLOY_KIT_VARIABLES.sha256]: args.deployKit.sha256,
                    NOTIFICATION_TOPIC_ARN: args.notificationTopicArn,
                    [DRIFT_TARGETS_VARIABLE]: JSON.stringify(args.targets),
                },
                timeoutMinutes: 30,
                encryptionKeyArn: args.keyArn,
                logRetentionDays: args.logRetentionDays,
            },
            { parent: this },
        );

        const scheduleRole = new aws.iam.Role(
            `${name}-schedule-role`,
            {
                description: `Lets EventBridge start the ${SERVICE_NAME} drift check`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("events.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-schedule-policy`,
            { role: scheduleRole.id, policy: this.project.projectArn.apply((arn) => startBuildPolicy(arn)) },
            { parent: this },
        );
        this.rule = new aws.cloudwatch.EventRule(
            `${name}-schedule`,
            {
                name: `${SERVICE_NAME}-drift-check`,
                description: `Starts the ${SERVICE_NAME} drift check`,
                scheduleExpression: args.schedule,
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-schedule-target`,
            { rule: this.rule.name, arn: this.project.projectArn, roleArn: scheduleRole.arn },
            { parent: this },
        );

        this.projectName = this.project.projectName;
        this.registerOutputs({ projectName: this.projectName });
    }
}
