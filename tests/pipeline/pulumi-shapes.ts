/**
 * The resources the rehearsal engine runs, in the shapes Pulumi registers them: the `inputs` of
 * `aws:codepipeline/pipeline:Pipeline`, `aws:codebuild/project:Project` and
 * `aws:codestarnotifications/notificationRule:NotificationRule` as tests/helpers/pulumi-mocks.ts records them
 * (MockCloud.resources[].inputs), i.e. the provider's input types with every Output resolved. Derived from
 * @pulumi/aws, never retyped, so a change of the provider's schema is a type error here.
 */
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

export type PipelineInputs = pulumi.Unwrap<aws.codepipeline.PipelineArgs>;
export type StageInputs = pulumi.Unwrap<aws.types.input.codepipeline.PipelineStage>;
export type ActionInputs = pulumi.Unwrap<aws.types.input.codepipeline.PipelineStageAction>;
export type ProjectInputs = pulumi.Unwrap<aws.codebuild.ProjectArgs>;
export type NotificationRuleInputs = pulumi.Unwrap<aws.codestarnotifications.NotificationRuleArgs>;

/** An STS session, as CodeBuild and Lambda hand them to the code they run. */
export interface SessionCredentials {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
    readonly expiration: Date;
}

/**
 * How the engine gets a session of a role that trusts an AWS service (see ./service-session.ts); `sourceArn` is
 * the resource the service acts for (the CodeBuild project, the Lambda function), for aws:SourceArn conditions.
 */
export type CredentialsFor = (roleArn: string, sourceArn: string) => Promise<SessionCredentials>;
