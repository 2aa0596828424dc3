import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Deployer, SERVICE_NAME } from "../config";
import { servicePrefix } from "./naming";
import {
    AccountContext,
    accountKeyPolicy,
    arns,
    cfnExecutionRolePolicy,
    deployRolePolicy,
    deployRoleTrustPolicy,
    serviceTrustPolicy,
} from "./policies";
import { newPermissionsBoundary } from "./permissions-boundary";
import { SecureBucket } from "./secure-bucket";

export interface CrossAccountRolesArgs {
    /** Stage deployed into this account; part of every name the service uses. */
    readonly stage: string;
    /** The tools account running the pipeline. */
    readonly toolsAccountId: pulumi.Input<string>;
    /**
     * Name of the pipeline's CodeBuild role in the tools account. The deploy role trusts exactly it and its
     * drift-check role (the same name + `-drift`).
     */
    readonly pipelineBuildRoleName: pulumi.Input<string>;
    /** What the pipeline deploys with (default serverless): the deploy role gets that deployer's rights only. */
    readonly deployer?: Deployer;
    /** This (target) account and region. */
    readonly account: pulumi.Input<AccountContext>;
    readonly serviceName?: string;
    /**
     * Longest session of the deploy role. The pipeline reaches it by role chaining, which AWS caps at one
     * hour whatever this says, so one hour is also the default.
     */
    readonly maxSessionDurationSeconds?: pulumi.Input<number>;
}

/**
 * The target-account half of the cross-account deployment:
 *  - a deploy role, assumable only by the tools account's pipeline build role (and its drift-check role);
 *  - serverless deployer: the deploy role may run CloudFormation for this stage's stack with a CloudFormation
 *    execution role, assumable only by CloudFormation in this account, that creates the service's resources
 *    (all named `<service>-<stage>-*`); and detect drift on that stack, read-only;
 *  - pulumi deployer: the deploy role creates those resources itself (the same rights), keeps Pulumi's state
 *    in the deployment bucket and encrypts its secrets with a key of this account;
 *  - the permissions boundary every function role must carry;
 *  - the deployment bucket.
 */
export class CrossAccountRoles extends pulumi.ComponentResource {
    public readonly deployer: Deployer;
    public readonly deployRole: aws.iam.Role;
    /** serverless deployer only */
    public readonly cfnExecutionRole?: aws.iam.Role;
    /** pulumi deployer only */
    public readonly pulumiSecretsKey?: aws.kms.Key;
    public readonly permissionsBoundary: aws.iam.Policy;
    public readonly deploymentBucket: SecureBucket;

    public readonly deployRoleArn: pulumi.Output<string>;
    /** serverless deployer only */
    public readonly cfnExecutionRoleArn?: pulumi.Output<string>;
    /** pulumi deployer only */
    public readonly pulumiSecretsKeyArn?: pulumi.Output<string>;
    public readonly permissionsBoundaryArn: pulumi.Output<string>;
    public readonly deploymentBucketName: pulumi.Output<string>;
    /** ARN of the one tools-account role the deploy role trusts (lets the tools stack check the pairing). */
    public readonly trustedBuildRoleArn: pulumi.Output<string>;

    constructor(name: string, args: CrossAccountRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:target:CrossAccountRoles", name, {}, opts);

        const service = args.serviceName ?? SERVICE_NAME;
        const stage = args.stage;
        const prefix = servicePrefix(stage, service);
        const account = pulumi.output(args.account);

        this.deploymentBucket = new SecureBucket(`${name}-deployment-bucket`, { forceDestroy: true }, { parent: this });

        // Role names deliberately do not start with `<service>-<stage>-`: the execution role may manage roles
        // with that prefix, and must not be able to touch these.
        this.permissionsBoundary = newPermissionsBoundary(
            `${name}-permissions-boundary`,
            { stage, account, serviceName: service },
            { parent: this },
        );

        this.deployer = args.deployer ?? "serverless";
        if (this.deployer === "serverless") {
            this.cfnExecutionRole = new aws.iam.Role(
                `${name}-cfn-execution-role`,
                {
                    name: `cfn-exec-${prefix}`,
                    description: `Assumed by CloudFormation to deploy the ${prefix} stack`,
                    assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("cloudformation.amazonaws.com", ctx.accountId)),
                },
                { parent: this },
            );
            new aws.iam.RolePolicy(
                `${name}-cfn-execution-policy`,
                {
                    role: this.cfnExecutionRole.id,
                    policy: pulumi
                        .all([account, this.deploymentBucket.bucketName, this.permissionsBoundary.arn])
                        .apply(([ctx, deploymentBucketName, permissionsBoundaryArn]) =>
                            cfnExecutionRolePolicy({ ctx, service, stage, deploymentBucketName, permissionsBoundaryArn }),
                        ),
                },
                { parent: this },
            );
        } else {
            this.pulumiSecretsKey = new aws.kms.Key(
                `${name}-pulumi-secrets-key`,
                {
                    description: `Encrypts the secrets of the ${prefix} Pulumi stack (pulumi deployer)`,
                    enableKeyRotation: true,
                    deletionWindowInDays: 30,
                    policy: account.apply((ctx) => JSON.stringify(accountKeyPolicy(ctx))),
                },
                { parent: this },
            );
            new aws.kms.Alias(
                `${name}-pulumi-secrets-key-alias`,
                { name: `alias/pulumi-secrets-${prefix}`, targetKeyId: this.pulumiSecretsKey.keyId },
                { parent: this },
            );
        }

        this.deployRole = new aws.iam.Role(
            `${name}-deploy-role`,
            {
                name: `deploy-${prefix}`,
                description: `Assumed by the tools account's pipeline build role to deploy ${prefix}`,
                assumeRolePolicy: pulumi
                    .all([account, args.toolsAccountId, args.pipelineBuildRoleName])
                    .apply(([ctx, toolsAccountId, buildRoleName]) =>
                        deployRoleTrustPolicy({ partition: ctx.partition, toolsAccountId, buildRoleName }),
                    ),
                maxSessionDuration: args.maxSessionDurationSeconds ?? 3600,
            },
            { parent: this },
        );
        // The deployer's own resource: the role CloudFormation deploys as, or the key Pulumi encrypts secrets with.
        const deployerResourceArn = this.cfnExecutionRole?.arn ?? this.pulumiSecretsKey!.arn;
        const deployer = this.deployer;
        const deployPolicy = pulumi
            .all([account, this.deploymentBucket.bucketName, this.permissionsBoundary.arn, deployerResourceArn])
            .apply(([ctx, deploymentBucketName, permissionsBoundaryArn, arn]) => {
                const common = { ctx, service, stage, deploymentBucketName, permissionsBoundaryArn };
                return deployer === "serverless"
                    ? deployRolePolicy({ ...common, deployer, cfnExecutionRoleArn: arn })
                    : deployRolePolicy({ ...common, deployer, pulumiSecretsKeyArn: arn });
            });
        new aws.iam.RolePolicy(`${name}-deploy-policy`, { role: this.deployRole.id, policy: deployPolicy }, { parent: this });

        this.deployRoleArn = this.deployRole.arn;
        this.cfnExecutionRoleArn = this.cfnExecutionRole?.arn;
        this.pulumiSecretsKeyArn = this.pulumiSecretsKey?.arn;
        this.permissionsBoundaryArn = this.permissionsBoundary.arn;
        this.deploymentBucketName = this.deploymentBucket.bucketName;
        this.trustedBuildRoleArn = pulumi
            .all([account, args.toolsAccountId, args.pipelineBuildRoleName])
            .apply(([ctx, accountId, roleName]) => arns.role({ partition: ctx.partition, accountId }, roleName));

        this.registerOutputs({
            deployRoleArn: this.deployRoleArn,
            cfnExecutionRoleArn: this.cfnExecutionRoleArn,
            pulumiSecretsKeyArn: this.pulumiSecretsKeyArn,
            permissionsBoundaryArn: this.permissionsBoundaryArn,
            deploymentBucketName: this.deploymentBucketName,
            trustedBuildRoleArn: this.trustedBuildRoleArn,
        });
    }
}
