// Every IAM role the project creates, with its trust policy, inline policies and permissions boundary, taken
// from what the program and the Serverless template actually generate — never retyped:
//   - the target, tools and api stacks: index.ts evaluated under Pulumi mocks with the shipped Pulumi.<stack>.yaml,
//     the tools stack fed the target stack's real outputs through its stack reference;
//   - the Serverless function role: `sls package` of serverless.yml with the parameters the pipeline's Deploy
//     action passes (its CodeBuild environment, itself read from the target stack), intrinsics resolved for the
//     target account and region.
// Anything this module cannot model (a managed-policy attachment, a boundary not created by the stacks, an
// intrinsic it does not know) throws, so a change in the program cannot silently drop a policy from the matrix.

import { DEPLOY_TARGET_VARIABLE, DeployTarget, parseDeployTarget } from "../../components/target-contract";
import { MockCloud, policyDocument, RecordedResource } from "../helpers/pulumi-mocks";
import { shippedStacks } from "../helpers/shipped-stacks";
import { CfnTemplate, packageService } from "../helpers/sls-package";

export type PolicyDoc = { Version: string; Statement: any[] };
export interface NamedPolicy {
    readonly name: string;
    readonly policy: PolicyDoc;
}

/** One IAM role as AWS would hold it. */
export interface RoleModel {
    /** Where it comes from: `<stack>:<logical name>` or `sls:<logical id>`. */
    readonly source: string;
    readonly name: string;
    readonly arn: string;
    readonly accountId: string;
    readonly trust: PolicyDoc;
    readonly inline: NamedPolicy[];
    readonly boundary?: NamedPolicy & { arn: string };
}

export interface ManagedPolicy {
    readonly name: string;
    readonly arn: string;
    readonly policy: PolicyDoc;
}

export interface StackModel {
    readonly cloud: MockCloud;
    readonly outputs: Record<string, any>;
    readonly roles: RoleModel[];
    readonly policies: ManagedPolicy[];
    /** The role whose stack logical name ends with `suffix` (exactly one). */
    role(suffix: string): RoleModel;
    /** Bucket policy of the bucket resource whose logical name ends with `suffix`. */
    bucket(suffix: string): { name: string; arn: string; policy: PolicyDoc };
}

export interface ServerlessModel {
    readonly template: CfnTemplate;
    /** One property of every resource of `type`, intrinsics resolved (for the target account and region). */
    propertyOf(type: string, property: string): any[];
    readonly params: Record<string, string>;
    /** CloudFormation stack `sls deploy` creates (provider.stackName as resolved by the framework). */
    readonly stackName: string;
    readonly stage: string;
    readonly region: string;
    readonly accountId: string;
    readonly functionRole: RoleModel;
}

export interface AllStacks {
    readonly target: StackModel;
    /** The production target (its own account), to prove what the dev stage cannot reach. */
    readonly prodTarget: StackModel;
    /** The same target set up for the pulumi deployer. */
    readonly targetForPulumi: StackModel;
    readonly tools: StackModel;
    readonly api: StackModel;
    readonly sls: ServerlessModel;
    /** Every role of every stack and of the Serverless template. */
    readonly allRoles: RoleModel[];
}

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const POLICY = "aws:iam/policy:Policy";
// Resource types that would attach more permissions to a role than its inline policies: not modelled, so refused.
const ATTACHMENTS = [
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/policyAttachment:PolicyAttachment",
];

const accountOf = (arn: string) => arn.split(":")[4];

/** Roles, inline policies, boundaries and managed policies registered by one stack. */
export function modelStack(stack: string, cloud: MockCloud, outputs: Record<string, any>): StackModel {
    for (const type of ATTACHMENTS) {
        if (cloud.ofType(type).length > 0) throw new Error(`${stack}: ${type} is not modelled by tests/iam/policies-from-stacks.ts`);
    }
    const policies: ManagedPolicy[] = cloud
        .ofType(POLICY)
        .map((p) => ({ name: p.state.name, arn: p.state.arn, policy: policyDocument(p.inputs.policy) }));
    const roles = cloud.ofType(ROLE).map((r) => modelRole(stack, cloud, r, policies));
    const attachedTo = new Set(cloud.ofType(ROLE_POLICY).map((p) => p.inputs.role));
    for (const id of attachedTo) {
        if (!cloud.ofType(ROLE).some((r) => r.id === id)) throw new Error(`${stack}: inline policy for unknown role ${id}`);
    }
    return {
        cloud,
        outputs,
        roles,
        policies,
        role(suffix) {
            const found = roles.filter((r) => r.source.endsWith(suffix));
            if (found.length !== 1)
                throw new Error(`${stack}: expected one role *${suffix}, found ${found.map((r) => r.source).join(", ") || "none"}`);
            return found[0];
        },
        bucket(suffix) {
            const bucket = cloud.one("aws:s3/bucket:Bucket", suffix);
            const policies = cloud.ofType("aws:s3/bucketPolicy:BucketPolicy").filter((p) => p.inputs.bucket === bucket.id);
            if (policies.length !== 1) throw new Error(`${stack}: expected one bucket policy on ${bucket.name}, found ${policies.length}`);
            return { name: bucket.state.bucket, arn: bucket.state.arn, policy: policyDocument(policies[0].inputs.policy) };
        },
    };
}

function modelRole(stack: string, cloud: MockCloud, role: RecordedResource, policies: ManagedPolicy[]): RoleModel {
    const inline = cloud
        .ofType(ROLE_POLICY)
        .filter((p) => p.inputs.role === role.id)
        .map((p) => ({ name: p.name, policy: policyDocument(p.inputs.policy) }));
    let boundary: RoleModel["boundary"];
    if (role.inputs.permissionsBoundary !== undefined) {
        const found = policies.find((p) => p.arn === role.inputs.permissionsBoundary);
        if (!found) throw new Error(`${stack}:${role.name}: boundary ${role.inputs.permissionsBoundary} is not a policy of this stack`);
        boundary = found;
    }
    if (role.inputs.managedPolicyArns !== undefined) throw new Error(`${stack}:${role.name}: managedPolicyArns are not modelled`);
    return {
        source: `${stack}:${role.name}`,
        name: role.state.name,
        arn: role.state.arn,
        accountId: accountOf(role.state.arn),
        trust: policyDocument(role.inputs.assumeRolePolicy),
        inline,
        boundary,
    };
}

// ---------------------------------------------------------------------------------------------------------
// CloudFormation intrinsics: exactly those the packaged function role uses; anything else throws.

export interface CfnScope {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
    readonly template: CfnTemplate;
}

function getAtt(scope: CfnScope, logicalId: string, attribute: string): string {
    const resource = scope.template.Resources[logicalId];
    if (!resource) throw new Error(`Fn::GetAtt: no resource ${logicalId}`);
    if (resource.Type === "AWS::DynamoDB::Table" && attribute === "Arn") {
        const tableName = resolveIntrinsics(resource.Properties?.TableName, scope);
        if (typeof tableName !== "string") throw new Error(`Fn::GetAtt ${logicalId}.Arn: table has no literal TableName`);
        return `arn:${scope.partition}:dynamodb:${scope.region}:${scope.accountId}:table/${tableName}`;
    }
    throw new Error(`Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) is not supported`);
}

function pseudo(scope: CfnScope, name: string): string {
    switch (name) {
        case "AWS::Partition":
            return scope.partition;
        case "AWS::Region":
            return scope.region;
        case "AWS::AccountId":
            return scope.accountId;
        default:
            throw new Error(`pseudo parameter ${name} is not supported`);
    }
}

/** Resolves Fn::Sub (string form, pseudo parameters), Fn::Join and Fn::GetAtt <Table>.Arn, recursively. */
export function resolveIntrinsics(value: unknown, scope: CfnScope): any {
    if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, scope));
    if (value === null || typeof value !== "object") return value;
    const keys = Object.keys(value);
    const obj = value as Record<string, any>;
    if (keys.length === 1 && (keys[0].startsWith("Fn::") || keys[0] === "Ref")) {
        const [fn] = keys;
        const arg = obj[fn];
        switch (fn) {
            case "Fn::Sub":
                if (typeof arg !== "string") throw new Error("Fn::Sub with a variable map is not supported");
                return arg.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
                    if (name.startsWith("AWS::")) return pseudo(scope, name);
                    const [logicalId, attribute] = name.split(".");
                    if (!attribute) throw new Error(`Fn::Sub \${${name}} (Ref of a resource) is not supported`);
                    return getAtt(scope, logicalId, attribute);
                });
            case "Fn::Join": {
                const [separator, parts] = arg as [string, unknown[]];
                const resolved = resolveIntrinsics(parts, scope) as unknown[];
                if (!resolved.every((p) => typeof p === "string")) throw new Error("Fn::Join of non-strings");
                return resolved.join(separator);
            }
            case "Fn::GetAtt": {
                const [logicalId, attribute] = typeof arg === "string" ? arg.split(".") : (arg as string[]);
                return getAtt(scope, logicalId, attribute);
            }
            case "Ref":
                if (typeof arg === "string" && arg.startsWith("AWS::")) return pseudo(scope, arg);
                throw new Error(`Ref ${String(arg)} is not supported`);
            default:
                throw new Error(`${fn} is not supported`);
        }
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveIntrinsics(v, scope)]));
}

// ---------------------------------------------------------------------------------------------------------
// Serverless

/** The packaged function role(s): every AWS::IAM::Role of the template, resolved. */
export function modelTemplateRoles(template: CfnTemplate, scope: Omit<CfnScope, "template">, boundaries: ManagedPolicy[]): RoleModel[] {
    const full = { ...scope, template };
    return Object.entries(template.Resources)
        .filter(([, r]) => r.Type === "AWS::IAM::Role")
        .map(([logicalId, r]) => {
            const props = resolveIntrinsics(r.Properties ?? {}, full);
            for (const key of ["ManagedPolicyArns"]) {
                if (props[key] !== undefined) throw new Error(`sls:${logicalId}: ${key} is not modelled`);
            }
            if (typeof props.RoleName !== "string") throw new Error(`sls:${logicalId}: no literal RoleName`);
            const rolePath: string = props.Path ?? "/";
            const boundary =
                props.PermissionsBoundary === undefined ? undefined : boundaries.find((b) => b.arn === props.PermissionsBoundary);
            if (props.PermissionsBoundary !== undefined && !boundary) {
                throw new Error(`sls:${logicalId}: boundary ${props.PermissionsBoundary} is not one the target stack created`);
            }
            return {
                source: `sls:${logicalId}`,
                name: props.RoleName,
                arn: `arn:${scope.partition}:iam::${scope.accountId}:role${rolePath}${props.RoleName}`,
                accountId: scope.accountId,
                trust: props.AssumeRolePolicyDocument,
                inline: (props.Policies ?? []).map((p: any) => ({ name: p.PolicyName, policy: p.PolicyDocument })),
                boundary,
            };
        });
}

/** The environment the tools pipeline's Deploy action gives CodeBuild for a stage. */
export function deployActionEnvironment(tools: StackModel, stage: string): Record<string, string> {
    const stages: any[] = tools.cloud.one("aws:codepipeline/pipeline:Pipeline").inputs.stages;
    const deploy = stages.find((s) => s.name === stage)?.actions.find((a: any) => a.name === "Deploy");
    if (!deploy) throw new Error(`pipeline has no Deploy action in stage ${stage}`);
    return Object.fromEntries(JSON.parse(deploy.configuration.EnvironmentVariables).map((v: any) => [v.name, v.value]));
}

/** The deploy target the pipeline's Deploy action hands a stage's build (DEPLOY_TARGET), as the kit reads it. */
export function deployActionTarget(tools: StackModel, stage: string): DeployTarget {
    return parseDeployTarget(deployActionEnvironment(tools, stage)[DEPLOY_TARGET_VARIABLE]);
}

/** The environment a CodeBuild project sets for its builds. */
export function projectEnvironment(stack: StackModel, projectName: string): Record<string, string> {
    const project = stack.cloud.ofType("aws:codebuild/project:Project").find((p) => p.inputs.name === projectName);
    if (!project) throw new Error(`no CodeBuild project ${projectName}`);
    return Object.fromEntries(project.inputs.environment.environmentVariables.map((v: any) => [v.name, v.value]));
}

// ---------------------------------------------------------------------------------------------------------

/** Evaluates the shipped stacks and packages the service, once. */
export async function loadAllStacks(): Promise<AllStacks> {
    const shipped = await shippedStacks();
    const target = modelStack("target", shipped.target.cloud, shipped.target.outputs);
    const prod = shipped.targets["acme/serverless-cross-account-cicd/target-prod"];
    const prodTarget = modelStack("target-prod", prod.cloud, prod.outputs);
    const tools = modelStack("tools", shipped.tools.cloud, shipped.tools.outputs);
    const deployTarget = deployActionTarget(tools, target.outputs.stage);
    if (deployTarget.deployer !== "serverless") throw new Error("the shipped target is a serverless target");
    // The template as the kit binds it for this target (the same values, given to `sls package` directly).
    const params = {
        cfnRoleArn: deployTarget.cfnExecutionRoleArn,
        deploymentBucket: deployTarget.deploymentBucketName,
        permissionsBoundaryArn: deployTarget.permissionsBoundaryArn,
    };
    const env = { STAGE: deployTarget.stage, TARGET_REGION: deployTarget.region, TARGET_ACCOUNT_ID: deployTarget.accountId };
    const api = modelStack("api", shipped.api.cloud, shipped.api.outputs);
    const targetForPulumi = modelStack("target (pulumi deployer)", shipped.targetForPulumi.cloud, shipped.targetForPulumi.outputs);
    const { template, state } = await packageService({ stage: env.STAGE, region: env.TARGET_REGION, params });
    const scope = { partition: "aws", region: env.TARGET_REGION, accountId: env.TARGET_ACCOUNT_ID };
    const templateRoles = modelTemplateRoles(template, scope, target.policies);
    if (templateRoles.length !== 1) throw new Error(`expected one role in the packaged template, found ${templateRoles.length}`);
    const sls: ServerlessModel = {
        template,
        propertyOf: (type, property) =>
            Object.values(template.Resources)
                .filter((r) => r.Type === type)
                .map((r) => resolveIntrinsics(r.Properties?.[property], { ...scope, template })),
        params,
        stackName: state.service.provider.stackName,
        stage: env.STAGE,
        region: env.TARGET_REGION,
        accountId: env.TARGET_ACCOUNT_ID,
        functionRole: templateRoles[0],
    };
    return {
        target,
        prodTarget,
        targetForPulumi,
        tools,
        api,
        sls,
        allRoles: [...target.roles, ...prodTarget.roles, ...targetForPulumi.roles, ...tools.roles, ...api.roles, ...templateRoles],
    };
}
