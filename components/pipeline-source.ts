import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { codeCommitSourceStatement, PolicyStatement, serviceTrustPolicy, startPipelinePolicy } from "./policies";

/** Name of the artifact every source produces and every later action consumes. */
export const SOURCE_ARTIFACT = "source";

/**
 * Where the pipeline's code comes from. The pipeline only needs the source action, the statements its own
 * role needs for it, and a way to be started on a change; everything else about the source stays here,
 * so another kind of source (e.g. a CodeConnections GitHub repository) is one more implementation.
 */
export interface PipelineSource {
    readonly action: pulumi.Input<aws.types.input.codepipeline.PipelineStageAction>;
    readonly pipelineRoleStatements: pulumi.Output<PolicyStatement[]>;
    /** Creates what starts the pipeline on a change of the source, once the pipeline exists. */
    startOnChange(pipeline: aws.codepipeline.Pipeline): void;
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
