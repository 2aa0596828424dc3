import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Deployer, driftCheckRoleName, SERVICE_NAME, stageBuildRoleName } from "./domain";
import { servicePrefix } from "./naming";
import { newPermissionsBoundary } from "./permissions-boundary";
import {
    AccountContext,
    accountKeyPolicy,
    arns,
    cfnExecutionRolePolicy,
    deployRolePolicy,
    driftReadRolePolicy,
    serviceTrustPolicy,
    toolsRoleTrustPolicy,
} from "./policies";
import { SecureBucket } from "./secure-bucket";
import { TargetOutputs } from "./target-contract";

export interface CrossAccountRolesArgs {
    /** Stage deployed into this account; part of every name the service uses. */
    readonly stage: string;
    /** The tools account running the pipeline. */
    readonly toolsAccountId: pulumi.Input<string>;
    /**
     * Prefix of the tools account's build roles (its `buildRoleName`): the deploy role trusts exactly this stage's
     * build role, `<prefix>-<stage>`; the drift role exactly the drift check's, `<prefix>-drift`.
     */
    readonly buildRolePrefix: string;
    /** What the pipeline deploys with: the deploy role gets that deployer's rights only. */
    readonly deployer: Deployer;
    /** This (target) account and region. */
    readonly account: pulumi.Input<AccountContext>;
}

/**
 * The target-account half of the cross-account deployment:
 *  - a deploy role, assumable only by this stage's build role in the tools account;
 *  - serverless deployer: the deploy role may run change sets of this stage's stack with a CloudFormation execution
 *    role, assumable only by CloudFormation in this account, that creates the service's resources (named
 *    `<service>-<stage>-*`); and a read-only drift role, assumable only by the tools account's drift check;
 *  - pulumi deployer: the deploy role creates those resources itself (the same rights), keeps Pulumi's state in the
 *    deployment bucket and encrypts its secrets with a key of this account;
 *  - the permissions boundary the function role must carry;
 *  - the deployment bucket.
 */
export class CrossAccountRoles extends pulumi.ComponentResource {
    public readonly deployRole: aws.iam.Role;
    public readonly permissionsBoundary: aws.iam.Policy;
    public readonly deploymentBucket: SecureBucket;
    /** What the target stack exports for the tools stack (target-contract.ts). */
    public readonly outputs: pulumi.Output<TargetOutputs>;

    constructor(name: string, args: CrossAccountRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:target:CrossAccountRoles", name, {}, opts);

        const { stage, deployer } = args;
        const prefix = servicePrefix(stage);
        const account = pulumi.output(args.account);
        const tools = pulumi
            .all([account, args.toolsAccountId])
            .apply(([ctx, toolsAccountId]) => ({ partition: ctx.partition, toolsAccountId }));

        // The pulumi deployer keeps the stage's state in this bucket: `pulumi destroy` of this stack must not delete it
        // with the objects (destroy the stage's API stack first). Serverless artifacts are reproducible.
        this.deploymentBucket = new SecureBucket(
            `${name}-deployment-bucket`,
            { forceDestroy: deployer === "serverless" },
            { parent: this },
        );

        // Role names deliberately do not start with `<service>-<stage>-`, the prefix of what the execution role may manage.
        this.permissionsBoundary = newPermissionsBoundary(`${name}-permissions-boundary`, { stage, account }, { parent: this });

        const toolsRole = (roleName: string, sid: string) => tools.apply((t) => toolsRoleTrustPolicy({ ...t, roleName, sid }));
        this.deployRole = new aws.iam.Role(
            `${name}-deploy-role`,
            {
                name: `deploy-${prefix}`,
                description: `Assumed by the tools account's ${stage} build role to deploy ${prefix}`,
                assumeRolePolicy: toolsRole(stageBuildRoleName(args.buildRolePrefix, stage), "ThisStagesBuildRoleOnly"),
                // The pipeline reaches it by role chaining, which AWS caps at one hour whatever this says.
                maxSessionDuration: 3600,
            },
            { parent: this },
        );
        const policyArgs = pulumi
            .all([account, this.deploymentBucket.bucketName, this.permissionsBoundary.arn])
            .apply(([ctx, deploymentBucketName, permissionsBoundaryArn]) => ({
                ctx,
                service: SERVICE_NAME,
                stage,
                deploymentBucketName,
                permissionsBoundaryArn,
            }));
        const common = pulumi
            .all([account, this.deployRole.arn, this.deploymentBucket.bucketName, this.permissionsBoundary.arn, tools])
            .apply(([ctx, deployRoleArn, deploymentBucketName, permissionsBoundaryArn, t]) => ({
                serviceName: SERVICE_NAME,
                stage,
                accountId: ctx.accountId,
                region: ctx.region,
                deployRoleArn,
                deploymentBucketName,
                permissionsBoundaryArn,
                trustedBuildRoleArn: arns.role(
                    { partition: t.partition, accountId: t.toolsAccountId },
                    stageBuildRoleName(args.buildRolePrefix, stage),
                ),
            }));

        switch (deployer) {
            case "serverless": {
                const cfnExecutionRole = new aws.iam.Role(
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
                    { role: cfnExecutionRole.id, policy: policyArgs.apply(cfnExecutionRolePolicy) },
                    { parent: this },
                );
                const driftRole = new aws.iam.Role(
                    `${name}-drift-role`,
                    {
                        name: `drift-${prefix}`,
                        description: `Assumed by the tools account's drift check to detect drift of ${prefix}, read-only`,
                        assumeRolePolicy: toolsRole(driftCheckRoleName(args.buildRolePrefix), "DriftCheckOnly"),
                        maxSessionDuration: 3600,
                    },
                    { parent: this },
                );
                new aws.iam.RolePolicy(
                    `${name}-drift-policy`,
                    { role: driftRole.id, policy: policyArgs.apply(driftReadRolePolicy) },
                    { parent: this },
                );
                new aws.iam.RolePolicy(
                    `${name}-deploy-policy`,
                    {
                        role: this.deployRole.id,
                        policy: pulumi
                            .all([policyArgs, cfnExecutionRole.arn])
                            .apply(([p, cfnExecutionRoleArn]) => deployRolePolicy({ ...p, deployer, cfnExecutionRoleArn })),
                    },
                    { parent: this },
                );
                this.outputs = pulumi
                    .all([common, cfnExecutionRole.arn, driftRole.arn])
                    .apply(([c, cfnExecutionRoleArn, driftRoleArn]) => ({ ...c, deployer, cfnExecutionRoleArn, driftRoleArn }));
                break;
            }
            case "pulumi": {
                const secretsKey = new aws.kms.Key(
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
                    { name: `alias/pulumi-secrets-${prefix}`, targetKeyId: secretsKey.keyId },
                    { parent: this },
                );
                new aws.iam.RolePolicy(
                    `${name}-deploy-policy`,
                    {
                        role: this.deployRole.id,
                        policy: pulumi
                            .all([policyArgs, secretsKey.arn])
                            .apply(([p, pulumiSecretsKeyArn]) => deployRolePolicy({ ...p, deployer, pulumiSecretsKeyArn })),
                    },
                    { parent: this },
                );
                this.outputs = pulumi
                    .all([common, secretsKey.arn])
                    .apply(([c, pulumiSecretsKeyArn]) => ({ ...c, deployer, pulumiSecretsKeyArn }));
                break;
            }
        }
        this.registerOutputs({ outputs: this.outputs });
    }
}
