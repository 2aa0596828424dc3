/**
 * The tools and target accounts inside one moto, set up from what the stacks generate, never retyped:
 *   - target (222222222222): the permissions boundary, the deploy role and the CloudFormation execution role
 *     with their trust and inline policies, and the deployment bucket, as the evaluated target stack
 *     (tests/iam/policies-from-stacks.ts) registers them;
 *   - tools (111111111111): the pipeline's build role with its trust and policy, as the evaluated tools stack
 *     registers it, and a session of it, which is what CodeBuild hands a build as container credentials;
 *   - in each account an administrator user (policy `*` on `*`), standing for whoever runs `pulumi up` there;
 *     tests read moto's state with it once access control is on.
 * Everything is created before access control is switched on (moto.enforceIam()), the way a stack is deployed
 * by an administrator before the pipeline runs.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
    CreateAccessKeyCommand,
    CreatePolicyCommand,
    CreateRoleCommand,
    CreateUserCommand,
    IAMClient,
    PutRolePolicyCommand,
    PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { APIGatewayClient } from "@aws-sdk/client-api-gateway";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import {
    CreateBucketCommand,
    PutBucketEncryptionCommand,
    PutBucketVersioningCommand,
    PutPublicAccessBlockCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { TargetOutputsOf } from "../../components/target-contract";
import {
    AllStacks,
    deployActionEnvironment,
    deployActionTarget,
    loadAllStacks,
    modelStack,
    projectEnvironment,
    RoleModel,
    StackModel,
} from "../iam/policies-from-stacks";
import { shippedStacks } from "../helpers/shipped-stacks";
import { Moto } from "../helpers/moto";

export interface SessionCredentials extends AwsCredentialIdentity {
    sessionToken: string;
    expiration: Date;
}

/** AWS SDK clients signed with one principal's credentials, against moto. */
export interface Clients {
    readonly cloudFormation: CloudFormationClient;
    readonly iam: IAMClient;
    readonly s3: S3Client;
    readonly lambda: LambdaClient;
    readonly apiGateway: APIGatewayClient;
    readonly dynamo: DynamoDBClient;
    readonly sts: STSClient;
}

export interface Accounts {
    readonly stacks: AllStacks;
    /** The pipeline's Deploy action environment for the target's stage, as the tools stack wires it. */
    readonly deployEnv: Record<string, string>;
    /** The target that environment hands the build (DEPLOY_TARGET). */
    readonly target: TargetOutputsOf<"serverless">;
    readonly buildRole: RoleModel;
    readonly deployRole: RoleModel;
    readonly cfnExecutionRole: RoleModel;
    /** Administrator clients per account, for setup and for reading what the deploy created. */
    readonly admin: { readonly tools: Clients; readonly target: Clients };
    /** The production target in its own account (333333333333), set up from its stack: what dev must not reach. */
    readonly prod: { readonly target: TargetOutputsOf<"serverless">; readonly admin: Clients };
    /** A session of the tools build role: the container credentials CodeBuild gives the Deploy action. */
    readonly buildSession: SessionCredentials;
}

const ADMIN_POLICY = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

export function clients(moto: Moto, region: string, credentials: AwsCredentialIdentity, accountHeader?: string): Clients {
    const config = { endpoint: moto.url, region, credentials, forcePathStyle: true, maxAttempts: 1 };
    const all: Clients = {
        cloudFormation: new CloudFormationClient(config),
        iam: new IAMClient(config),
        s3: new S3Client(config),
        lambda: new LambdaClient(config),
        apiGateway: new APIGatewayClient(config),
        dynamo: new DynamoDBClient(config),
        sts: new STSClient(config),
    };
    if (accountHeader) {
        // Before any principal exists, moto takes the account from this header (moto/core/responses.py,
        // get_current_account); afterwards the access key says which account a request is in.
        for (const client of Object.values(all)) {
            client.middlewareStack.add(
                (next: any) => (args: any) => {
                    args.request.headers["x-moto-account-id"] = accountHeader;
                    return next(args);
                },
                { step: "build", name: "motoAccount" },
            );
        }
    }
    return all;
}

export function destroyClients(c: Clients) {
    for (const client of Object.values(c)) client.destroy();
}

/**
 * An administrator of `account` (a user with `*` on `*`): stands for whoever runs `pulumi up` there. Created
 * before access control is on, with moto's account header; afterwards its access key says which account it is in.
 */
export async function createAdministrator(moto: Moto, region: string, account: string): Promise<Clients> {
    const bootstrap = clients(moto, region, { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" }, account);
    try {
        await bootstrap.iam.send(new CreateUserCommand({ UserName: "administrator" }));
        await bootstrap.iam.send(
            new PutUserPolicyCommand({
                UserName: "administrator",
                PolicyName: "administrator",
                PolicyDocument: JSON.stringify(ADMIN_POLICY),
            }),
        );
        const { AccessKey } = await bootstrap.iam.send(new CreateAccessKeyCommand({ UserName: "administrator" }));
        return clients(moto, region, { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! });
    } finally {
        destroyClients(bootstrap);
    }
}

/** A role exactly as a stack models it: trust, inline policies, boundary. */
export async function createRole(iam: IAMClient, role: RoleModel): Promise<void> {
    const arnPath = role.arn.split(":role")[1];
    await iam.send(
        new CreateRoleCommand({
            RoleName: role.name,
            Path: arnPath.slice(0, arnPath.length - role.name.length),
            AssumeRolePolicyDocument: JSON.stringify(role.trust),
            PermissionsBoundary: role.boundary?.arn,
            MaxSessionDuration: 3600,
        }),
    );
    for (const p of role.inline) {
        await iam.send(new PutRolePolicyCommand({ RoleName: role.name, PolicyName: p.name, PolicyDocument: JSON.stringify(p.policy) }));
    }
}

/** A target stack in its account: the boundary (and any other managed policy), every role, the deployment bucket. */
export async function createTargetStack(admin: Clients, target: StackModel): Promise<void> {
    for (const p of target.policies) {
        const { Policy } = await admin.iam.send(new CreatePolicyCommand({ PolicyName: p.name, PolicyDocument: JSON.stringify(p.policy) }));
        if (Policy?.Arn !== p.arn) throw new Error(`policy created as ${Policy?.Arn}, the stack models ${p.arn}`);
    }
    for (const role of target.roles) await createRole(admin.iam, role);
    const bucket = target.bucket("deployment-bucket").name;
    await admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
    await admin.s3.send(
        new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
        }),
    );
    await admin.s3.send(
        new PutPublicAccessBlockCommand({
            Bucket: bucket,
            PublicAccessBlockConfiguration: {
                BlockPublicAcls: true,
                BlockPublicPolicy: true,
                IgnorePublicAcls: true,
                RestrictPublicBuckets: true,
            },
        }),
    );
    // Not the bucket's TLS-only policy: moto evaluates bucket policies for object requests but treats condition
    // operators other than StringEquals as met (moto/iam/policy_conditions.py, verify_condition), so its
    // `Deny s3:* if aws:SecureTransport is false` would refuse every request. (Requests here are plain HTTP, which
    // AWS would refuse too.) The policy is checked by the policy pack and the IAM simulation instead.
}

/**
 * A session of a tools role created from its model, as CodeBuild hands one to a build (its container
 * credentials). Called before access control is on: the role trusts codebuild.amazonaws.com, not this caller.
 */
export async function codeBuildSession(admin: Clients, role: RoleModel, sessionName: string): Promise<SessionCredentials> {
    await createRole(admin.iam, role);
    const { Credentials } = await admin.sts.send(
        new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: sessionName, DurationSeconds: 3600 }),
    );
    return {
        accessKeyId: Credentials!.AccessKeyId!,
        secretAccessKey: Credentials!.SecretAccessKey!,
        sessionToken: Credentials!.SessionToken!,
        expiration: Credentials!.Expiration!,
    };
}

/** A serverless target as a stage's Deploy action hands it to its build. */
export function serverlessTarget(tools: StackModel, stage: string): TargetOutputsOf<"serverless"> {
    const target = deployActionTarget(tools, stage);
    if (target.deployer !== "serverless") throw new Error(`stage ${stage} is not deployed by the serverless deployer`);
    return target;
}

/** The deploy suite's accounts: the dev target stack, and the dev stage's build role with a session of it. */
export async function setUpAccounts(moto: Moto): Promise<Accounts> {
    const stacks = await loadAllStacks();
    const { target: targetStack, tools } = stacks;
    const stage = targetStack.outputs.stage as string;
    const deployEnv = deployActionEnvironment(tools, stage);
    const target = serverlessTarget(tools, stage);
    const admin = {
        tools: await createAdministrator(moto, target.region, tools.roles[0].accountId),
        target: await createAdministrator(moto, target.region, target.accountId),
    };
    if (targetStack.bucket("deployment-bucket").name !== target.deploymentBucketName) {
        throw new Error(
            `deployment bucket ${targetStack.bucket("deployment-bucket").name} is not the pipeline's ${target.deploymentBucketName}`,
        );
    }
    await createTargetStack(admin.target, targetStack);
    const prodTarget = serverlessTarget(tools, "prod");
    const prodAdmin = await createAdministrator(moto, prodTarget.region, prodTarget.accountId);
    await createTargetStack(prodAdmin, stacks.prodTarget);
    const buildRole = tools.role(`deploy-${stage}-role`);
    const buildSession = await codeBuildSession(admin.tools, buildRole, `AWSCodeBuild-deploy-${stage}`);
    return {
        stacks,
        deployEnv,
        target,
        buildRole,
        deployRole: targetStack.role("deploy-role"),
        cfnExecutionRole: targetStack.role("cfn-execution-role"),
        admin,
        prod: { target: prodTarget, admin: prodAdmin },
        buildSession,
    };
}

/** The pulumi deployer's accounts (tests/deploy/pulumi-deployer.test.ts): the same accounts, set up for `deployer: pulumi`. */
export interface PulumiAccounts {
    /** The tools stack evaluated for the pulumi deployer. */
    readonly tools: StackModel;
    /** The dev stage's Deploy build environment: its project's (kit, Pulumi CLI pin) and its action's (DEPLOY_TARGET). */
    readonly deployEnv: Record<string, string>;
    readonly target: TargetOutputsOf<"pulumi">;
    readonly buildRole: RoleModel;
    readonly deployRole: RoleModel;
    readonly admin: { readonly tools: Clients; readonly target: Clients };
    /** prod in its own account, set up from its (pulumi) target stack: what dev must not reach. */
    readonly prod: { readonly target: TargetOutputsOf<"pulumi">; readonly deployEnv: Record<string, string>; readonly admin: Clients };
    /** A session of the dev stage's build role: the Deploy build's container credentials. */
    readonly buildSession: SessionCredentials;
}

/** Dev and prod target stacks and the dev build role, from the stacks evaluated for `deployer: pulumi`. */
export async function setUpPulumiAccounts(moto: Moto, stage = "dev"): Promise<PulumiAccounts> {
    const { pulumiDeployer } = await shippedStacks();
    const tools = modelStack("tools (pulumi deployer)", pulumiDeployer.tools.cloud, pulumiDeployer.tools.outputs);
    const env = (s: string) => ({
        ...projectEnvironment(tools, `product-catalog-service-deploy-${s}`),
        ...deployActionEnvironment(tools, s),
    });
    const pulumiTarget = (s: string) => {
        const target = deployActionTarget(tools, s);
        if (target.deployer !== "pulumi") throw new Error(`stage ${s} is not deployed by the pulumi deployer`);
        return target;
    };
    const stacks = Object.values(pulumiDeployer.targets).map((run) =>
        modelStack(`target ${run.outputs.stage} (pulumi deployer)`, run.cloud, run.outputs),
    );
    const stackOf = (s: string) => {
        const found = stacks.find((t) => t.outputs.stage === s);
        if (!found) throw new Error(`no pulumi target stack for stage ${s}`);
        return found;
    };
    const target = pulumiTarget(stage);
    const prodTarget = pulumiTarget("prod");
    const admin = {
        tools: await createAdministrator(moto, target.region, tools.roles[0].accountId),
        target: await createAdministrator(moto, target.region, target.accountId),
    };
    await createTargetStack(admin.target, stackOf(stage));
    const prodAdmin = await createAdministrator(moto, prodTarget.region, prodTarget.accountId);
    await createTargetStack(prodAdmin, stackOf("prod"));
    const buildRole = tools.role(`deploy-${stage}-role`);
    return {
        tools,
        deployEnv: env(stage),
        target,
        buildRole,
        deployRole: stackOf(stage).role("deploy-role"),
        admin,
        prod: { target: prodTarget, deployEnv: env("prod"), admin: prodAdmin },
        buildSession: await codeBuildSession(admin.tools, buildRole, `AWSCodeBuild-deploy-${stage}`),
    };
}
