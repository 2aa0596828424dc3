import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    codeCommitSourceStatement,
    codeConnectionSourceStatement,
    PolicyStatement,
    serviceTrustPolicy,
    startPipelinePolicy,
} from "./policies";

/** Name of the artifact every source produces and every later action consumes. */
export const SOURCE_ARTIFACT = "source";

/**
 * Where the pipeline's code comes from. The pipeline only needs the source action, the statements its own
 * role needs for it, and how it is started on a change; everything else about the source stays here.
 */
export interface PipelineSource {
    readonly action: pulumi.Input<aws.types.input.codepipeline.PipelineStageAction>;
    readonly pipelineRoleStatements: pulumi.Output<PolicyStatement[]>;
    /** Pipeline (V2) triggers, for sources CodePipeline watches itself. */
    readonly triggers: aws.types.input.codepipeline.PipelineTrigger[];
    /** Creates what starts the pipeline on a change of the source, once the pipeline exists, if anything. */
    startOnChange(pipeline: aws.codepipeline.Pipeline): void;
    /** Where people clone from, when the pipeline owns the repository. */
    readonly cloneUrlHttp: pulumi.Output<string | undefined>;
}

export interface CodeCommitSourceArgs {
    readonly repositoryName: pulumi.Input<string>;
    readonly branch: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
    readonly description?: pulumi.Input<string>;
}

/**
 * A CodeCommit repository, read by the pipeline's Source action, and an EventBridge rule that starts the
 * pipeline on pushes to one branch (no polling). The rule's role may start that one pipeline only.
 */
export class CodeCommitSource extends pulumi.ComponentResource implements PipelineSource {
    public readonly repository: aws.codecommit.Repository;
    public readonly action: pulumi.Output<aws.types.input.codepipeline.PipelineStageAction>;
    public readonly pipelineRoleStatements: pulumi.Output<PolicyStatement[]>;
    /** CodePipeline's V2 triggers support only connection sources; CodeCommit is watched by EventBridge. */
    public readonly triggers: aws.types.input.codepipeline.PipelineTrigger[] = [];
    public readonly cloneUrlHttp: pulumi.Output<string | undefined>;
    public trigger?: aws.cloudwatch.EventRule;

    private readonly name: string;
    private readonly args: CodeCommitSourceArgs;

    constructor(name: string, args: CodeCommitSourceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:CodeCommitSource", name, {}, opts);
        this.name = name;
        this.args = args;

        this.repository = new aws.codecommit.Repository(
            `${name}-repository`,
            { repositoryName: args.repositoryName, description: args.description },
            { parent: this },
        );

        this.action = pulumi.output({
            name: "Source",
            category: "Source",
            owner: "AWS",
            provider: "CodeCommit",
            version: "1",
            namespace: "SourceVariables",
            outputArtifacts: [SOURCE_ARTIFACT],
            configuration: {
                RepositoryName: this.repository.repositoryName,
                BranchName: args.branch,
                // The EventBridge rule below starts the pipeline; polling would start it a second time.
                PollForSourceChanges: "false",
                OutputArtifactFormat: "CODE_ZIP",
            },
        });
        this.pipelineRoleStatements = this.repository.arn.apply((arn) => [codeCommitSourceStatement(arn)]);
        this.cloneUrlHttp = this.repository.cloneUrlHttp;

        this.registerOutputs({
            repositoryArn: this.repository.arn,
            cloneUrlHttp: this.repository.cloneUrlHttp,
            cloneUrlSsh: this.repository.cloneUrlSsh,
        });
    }

    startOnChange(pipeline: aws.codepipeline.Pipeline): void {
        const name = this.name;
        this.trigger = new aws.cloudwatch.EventRule(
            `${name}-push-rule`,
            {
                description: pulumi.interpolate`Start ${pipeline.name} on pushes to ${this.args.branch}`,
                eventPattern: pulumi.jsonStringify({
                    source: ["aws.codecommit"],
                    "detail-type": ["CodeCommit Repository State Change"],
                    resources: [this.repository.arn],
                    detail: {
                        event: ["referenceCreated", "referenceUpdated"],
                        referenceType: ["branch"],
                        referenceName: [this.args.branch],
                    },
                }),
            },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${name}-push-rule-role`,
            {
                description: "Lets EventBridge start the pipeline on a push",
                assumeRolePolicy: pulumi.output(this.args.accountId).apply((id) => serviceTrustPolicy("events.amazonaws.com", id)),
            },
            { parent: this },
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-push-rule-policy`,
            { role: role.id, policy: pipeline.arn.apply(startPipelinePolicy) },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-push-rule-target`,
            { rule: this.trigger.name, arn: pipeline.arn, roleArn: role.arn },
            { parent: this, dependsOn: [policy] },
        );
    }
}

export interface CodeConnectionsSourceArgs {
    readonly connectionArn: pulumi.Input<string>;
    /** `<owner>/<repository>` on the connected provider. */
    readonly fullRepositoryId: pulumi.Input<string>;
    readonly branch: pulumi.Input<string>;
    /** Pushes that change none of these paths do not start the pipeline (all pushes when empty). */
    readonly triggerFilePaths?: readonly string[];
}

/**
 * A GitHub, GitLab or Bitbucket repository reached through an (already authorized) CodeConnections connection.
 * CodePipeline itself watches it: a V2 trigger on pushes to the branch, filtered by file paths.
 */
export class CodeConnectionsSource extends pulumi.ComponentResource implements PipelineSource {
    public readonly action: pulumi.Output<aws.types.input.codepipeline.PipelineStageAction>;
    public readonly pipelineRoleStatements: pulumi.Output<PolicyStatement[]>;
    public readonly triggers: aws.types.input.codepipeline.PipelineTrigger[];
    public readonly cloneUrlHttp: pulumi.Output<string | undefined> = pulumi.output(undefined);

    constructor(name: string, args: CodeConnectionsSourceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:CodeConnectionsSource", name, {}, opts);
        this.action = pulumi.output({
            name: "Source",
            category: "Source",
            owner: "AWS",
            provider: "CodeStarSourceConnection",
            version: "1",
            namespace: "SourceVariables",
            outputArtifacts: [SOURCE_ARTIFACT],
            configuration: {
                ConnectionArn: args.connectionArn,
                FullRepositoryId: args.fullRepositoryId,
                BranchName: args.branch,
                OutputArtifactFormat: "CODE_ZIP",
                // The trigger below starts the pipeline; change detection on the action would start it again.
                DetectChanges: "false",
            },
        });
        this.pipelineRoleStatements = pulumi.output(args.connectionArn).apply((arn) => [codeConnectionSourceStatement(arn)]);
        const filePaths = args.triggerFilePaths ?? [];
        this.triggers = [
            {
                providerType: "CodeStarSourceConnection",
                gitConfiguration: {
                    sourceActionName: "Source",
                    pushes: [
                        {
                            branches: { includes: [args.branch] },
                            ...(filePaths.length > 0 ? { filePaths: { includes: [...filePaths] } } : {}),
                        },
                    ],
                },
            },
        ];
        this.registerOutputs({});
    }

    startOnChange(): void {
        // Nothing to create: the pipeline's own trigger watches the repository.
    }
}
