// IAM simulation of the cross-account deployment: every role, trust policy, inline policy and boundary comes
// from the stacks evaluated under Pulumi mocks and from `sls package` (tests/iam/policies-from-stacks.ts); each
// case is a request AWS would evaluate, run through @cloud-copilot/iam-simulate (tests/iam/simulate.ts).
// What a case asks (principal, action, resource, context) is written here; what is allowed never is.
// The matrix is printed as a markdown table after the run.
//
// The stacks: the tools stack (a build role per stage, `<prefix>-dev` and `<prefix>-prod`, the test and smoke-test
// roles, the drift check's `<prefix>-drift`, the pipeline and EventBridge roles), the dev target (222222222222) and
// the prod target (333333333333), each with its deploy role, CloudFormation execution role and read-only drift
// role, the dev target set up for the pulumi deployer, the api stack, and the packaged Serverless function role.

import { expect } from "chai";
import { DEPLOY_KIT_VARIABLES } from "../../components/codebuild";
import { deployProjectName } from "../../components/deployment-pipeline";
import { DEFAULT_BUILD_ROLE_PREFIX, driftCheckRoleName, SERVICE_NAME, stageBuildRoleName } from "../../components/domain";
import { deploymentObjectPrefix, serviceNames } from "../../components/naming";
import { DRIFT_TARGETS_VARIABLE } from "../../components/target-contract";
import {
    AllStacks,
    deployActionTarget,
    loadAllStacks,
    NamedPolicy,
    PolicyDoc,
    projectEnvironment,
    RoleModel,
    StackModel,
} from "./policies-from-stacks";
import { Caller, CaseResult, Expected, IamCase, matrixTable, simulate } from "./simulate";

// Principals and roles that are not the project's: the attacker's side of a case.
const THIRD_ACCOUNT = "444444444444";
const doc = (...Statement: any[]): PolicyDoc => ({ Version: "2012-10-17", Statement });
/** What an administrator of another account or of the tools account holds: everything its own account grants. */
const ADMIN: NamedPolicy = { name: "AdministratorAccess", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) };
const AWS_ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess";
const TLS = { "aws:SecureTransport": "true" };

const caller = (label: string, role: RoleModel): Caller => ({
    label,
    principal: role.arn,
    identity: role.inline,
    boundary: role.boundary,
    source: role.source,
});
const service = (principal: string): Caller => ({ label: principal, principal, identity: [] });
/** The same principal holding every permission of its own account: what is left to stop it is the resource's policy. */
const asAdmin = (c: Caller): Caller => ({ label: `${c.label} with AdministratorAccess`, principal: c.principal, identity: [ADMIN] });

/** One stage's target account, as its stack created it. */
function targetWorld(t: StackModel, label: string) {
    const account = t.outputs.accountId as string;
    const region = t.outputs.region as string;
    const stage = t.outputs.stage as string;
    const names = serviceNames(stage, t.outputs.serviceName);
    const arn = (svc: string, rest: string) => `arn:aws:${svc}:${region}:${account}:${rest}`;
    const deployRole = t.role("deploy-role");
    const cfnRole = t.role("cfn-execution-role");
    const driftRole = t.role("drift-role");
    const bucket = t.bucket("deployment-bucket");
    return {
        stage,
        account,
        region,
        arn,
        prefix: names.prefix,
        deployRole,
        cfnRole,
        driftRole,
        deploy: caller(`${stage} deploy role (${label})`, deployRole),
        cfn: caller(`${stage} CFN execution role (${label})`, cfnRole),
        driftRead: caller(`${stage} drift read role (${label})`, driftRole),
        boundaryArn: t.outputs.permissionsBoundaryArn as string,
        stackArn: (stack: string = names.stack) => arn("cloudformation", `stack/${stack}/6a1e2f40-0000-11ef-9c4a-0a1b2c3d4e5f`),
        table: arn("dynamodb", `table/${names.table}`),
        functionArn: (key: string) => arn("lambda", `function:${names.function(key)}`),
        logStream: (key: string) => arn("logs", `log-group:/aws/lambda/${names.function(key)}:log-stream:2026/01/01/[$LATEST]0a1b`),
        /** The function role of a stage of this account, by the name serverless.yml gives it. */
        functionRoleArn: (ofStage: string = stage) =>
            `arn:aws:iam::${account}:role/${serviceNames(ofStage, t.outputs.serviceName).functionRole}`,
        bucket,
        /** An object of the deployment bucket under `<stage>`'s Serverless prefix. */
        artifact: (ofStage: string, file: string) =>
            `arn:aws:s3:::${bucket.name}/${deploymentObjectPrefix(ofStage, t.outputs.serviceName)}${file}`,
    };
}
type TargetWorld = ReturnType<typeof targetWorld>;

/** Everything the cases refer to, derived from the stacks and the packaged template. */
function world(s: AllStacks) {
    const { tools, api, sls } = s;
    const dev = targetWorld(s.target, "dev target");
    const prod = targetWorld(s.prodTarget, "prod target");
    const toolsAccount = tools.role("drift-check-role").accountId;
    const region = dev.region;
    const toolsArn = (svc: string, rest: string) => `arn:aws:${svc}:${region}:${toolsAccount}:${rest}`;
    const fnRole = sls.functionRole;
    const [code] = sls.propertyOf("AWS::Lambda::Function", "Code") as { S3Bucket: string; S3Key: string }[];
    const buildRole = (stage: string) => tools.role(`deploy-${stage}-role`);
    const kitEnv = projectEnvironment(tools, deployProjectName(dev.stage));
    const assets = tools.bucket("build-assets");
    const testProject = tools.cloud.ofType("aws:codebuild/project:Project").find((p) => p.inputs.name === `${SERVICE_NAME}-test`);
    const cacheLocation: string = testProject!.inputs.cache.location;
    return {
        dev,
        prod,
        toolsAccount,
        region,
        toolsArn,
        toolsRoot: `arn:aws:iam::${toolsAccount}:root`,
        buildDevRole: buildRole(dev.stage),
        buildProdRole: buildRole(prod.stage),
        buildDev: caller(`${dev.stage} build role (tools)`, buildRole(dev.stage)),
        buildProd: caller(`${prod.stage} build role (tools)`, buildRole(prod.stage)),
        test: caller("test role (tools)", tools.role("pipeline-test-role")),
        smoke: caller("smoke-test role (tools)", tools.role("smoke-test-role")),
        pipelineRole: caller("pipeline role (tools)", tools.role("pipeline-role")),
        events: caller("EventBridge push-rule role (tools)", tools.role("push-rule-role")),
        driftRole: tools.role("drift-check-role"),
        drift: caller("drift-check role (tools)", tools.role("drift-check-role")),
        driftSchedule: caller("EventBridge drift-schedule role (tools)", tools.role("drift-schedule-role")),
        reportGroupArn: tools.cloud.one("aws:codebuild/reportGroup:ReportGroup").state.arn as string,
        pipelineArn: tools.cloud.one("aws:codepipeline/pipeline:Pipeline").state.arn as string,
        artifactBucket: tools.bucket("artifacts"),
        assets,
        deployKit: `${assets.arn}/${kitEnv[DEPLOY_KIT_VARIABLES.key]}`,
        /** The test project's own cache prefix (its CodeBuild cache location). */
        testCache: `arn:aws:s3:::${cacheLocation}/npm.tgz`,
        topicArn: tools.outputs.notificationTopicArn as string,
        projectArn: (name: string) => toolsArn("codebuild", `project/${name}`),
        fnRole,
        fn: caller("dev function role (sls template ∩ boundary)", fnRole),
        /** A role carrying the dev boundary whatever its own statements say (here: everything). */
        boundedAdmin: {
            label: "role with the dev boundary and AdministratorAccess",
            principal: `arn:aws:iam::${dev.account}:role/boundary-test`,
            identity: [ADMIN],
            boundary: fnRole.boundary,
        } as Caller,
        apiFn: caller(`ProductApi role (api stack, ${api.outputs.stage} ∩ boundary)`, api.role("function-role")),
        apiTable: api.cloud.one("aws:dynamodb/table:Table").state.arn as string,
        apiFunctionArn: `arn:aws:lambda:${region}:${api.role("function-role").accountId}:function:${serviceNames(api.outputs.stage).function("createProduct")}`,
        slsArtifact: `arn:aws:s3:::${code.S3Bucket}/${code.S3Key}`,
        slsArtifactFile: code.S3Key.slice(deploymentObjectPrefix(dev.stage).length),
        stackName: sls.stackName,
        restApiName: (sls.propertyOf("AWS::ApiGateway::RestApi", "Name") as string[])[0],
        otherTable: dev.arn("dynamodb", "table/other-table"),
        apiGateway: (p: string) => `arn:aws:apigateway:${region}::${p}`,
        pulumiDeployRole: s.targetForPulumi.role("deploy-role"),
        pulumiDeploy: caller("dev deploy role, pulumi deployer (target)", s.targetForPulumi.role("deploy-role")),
        pulumiKeyArn: s.targetForPulumi.outputs.pulumiSecretsKeyArn as string,
        // KMS needs its key policy to allow too; the secrets key's (and, for the other key, the same default one)
        pulumiKeyPolicy: JSON.parse(s.targetForPulumi.cloud.one("aws:kms/key:Key", "pulumi-secrets-key").inputs.policy) as PolicyDoc,
        pulumiState: (stage: string) =>
            `arn:aws:s3:::${s.targetForPulumi.outputs.deploymentBucketName}/pulumi/${s.target.outputs.serviceName}/${stage}/.pulumi/stacks/serverless-cross-account-cicd/${stage}.json`,
        pulumiBoundaryArn: s.targetForPulumi.outputs.permissionsBoundaryArn as string,
    };
}
type World = ReturnType<typeof world>;

const worlds = new WeakMap<AllStacks, World>();
const worldOf = (s: AllStacks): World => {
    let w = worlds.get(s);
    if (!w) worlds.set(s, (w = world(s)));
    return w;
};

const req = (c: Caller, action: string, resource: string, expected: Expected, more: Partial<IamCase> = {}): IamCase => ({
    caller: c,
    action,
    resource,
    expected,
    ...more,
});

const assume = (c: Caller, role: RoleModel, expected: Expected, context?: Record<string, string>): IamCase => ({
    caller: c,
    action: "sts:AssumeRole",
    resource: role.arn,
    resourcePolicy: role.trust,
    assumed: role.source,
    context,
    expected,
});

/** `role` as if its trust policy let every principal of the tools account in: what is left to stop a caller is its own policy. */
const trustingToolsAccount = (w: World, role: RoleModel): RoleModel => ({
    ...role,
    source: `hypothetical: ${role.name} trusting ${w.toolsAccount}`,
    trust: doc({ Effect: "Allow", Principal: { AWS: w.toolsRoot }, Action: "sts:AssumeRole" }),
});

/** A role of a target account trusting the whole tools account, as AWS Organizations creates one. */
const organizationRole = (w: World, t: TargetWorld): RoleModel => ({
    source: "hypothetical: OrganizationAccountAccessRole",
    name: "OrganizationAccountAccessRole",
    arn: `arn:aws:iam::${t.account}:role/OrganizationAccountAccessRole`,
    accountId: t.account,
    trust: doc({ Effect: "Allow", Principal: { AWS: w.toolsRoot }, Action: "sts:AssumeRole" }),
    inline: [],
});

/** A role of another account with the same name as a tools role. */
const imposter = (w: World, c: Caller): Caller => {
    const principal = c.principal.replace(`::${w.toolsAccount}:`, `::${THIRD_ACCOUNT}:`);
    return { label: `${THIRD_ACCOUNT} role ${principal.split("/").pop()} (AdministratorAccess)`, principal, identity: [ADMIN] };
};

type CaseFactory = (w: World) => IamCase;

const CASES: [string, CaseFactory][] = [
    // ---- stage isolation: which tools role may assume which target role (identity policy AND trust policy) ----
    ["dev build role assumes dev's deploy role", (w) => assume(w.buildDev, w.dev.deployRole, "Allowed")],
    ["prod build role assumes prod's deploy role", (w) => assume(w.buildProd, w.prod.deployRole, "Allowed")],
    ["dev build role cannot assume prod's deploy role", (w) => assume(w.buildDev, w.prod.deployRole, "Denied")],
    [
        "dev build role cannot assume prod's deploy role even holding every permission: prod's trust names prod's build role only",
        (w) => assume(asAdmin(w.buildDev), w.prod.deployRole, "Denied"),
    ],
    [
        "dev build role cannot assume prod's deploy role even if it trusted the tools account: its own policy names dev's only",
        (w) => assume(w.buildDev, trustingToolsAccount(w, w.prod.deployRole), "Denied"),
    ],
    ["prod build role cannot assume dev's deploy role", (w) => assume(w.buildProd, w.dev.deployRole, "Denied")],
    [
        "prod build role cannot assume dev's deploy role even holding every permission: dev's trust names dev's build role only",
        (w) => assume(asAdmin(w.buildProd), w.dev.deployRole, "Denied"),
    ],
    [
        "prod build role cannot assume dev's deploy role even if it trusted the tools account: its own policy names prod's only",
        (w) => assume(w.buildProd, trustingToolsAccount(w, w.dev.deployRole), "Denied"),
    ],
    ["dev build role assumes dev's deploy role of a pulumi-deployer target", (w) => assume(w.buildDev, w.pulumiDeployRole, "Allowed")],
    [
        "prod build role cannot assume dev's deploy role of a pulumi-deployer target",
        (w) => assume(asAdmin(w.buildProd), w.pulumiDeployRole, "Denied"),
    ],
    ["dev build role cannot assume dev's CFN execution role", (w) => assume(w.buildDev, w.dev.cfnRole, "Denied")],
    ["dev build role cannot assume dev's drift read role", (w) => assume(w.buildDev, w.dev.driftRole, "Denied")],
    [
        "dev build role cannot assume dev's drift read role even holding every permission (its trust names the drift check)",
        (w) => assume(asAdmin(w.buildDev), w.dev.driftRole, "Denied"),
    ],
    ["prod build role cannot assume prod's drift read role", (w) => assume(w.buildProd, w.prod.driftRole, "Denied")],
    [
        "dev build role cannot assume a target role that trusts the whole tools account",
        (w) => assume(w.buildDev, organizationRole(w, w.dev), "Denied"),
    ],
    [
        "prod build role cannot assume a target role that trusts the whole tools account",
        (w) => assume(w.buildProd, organizationRole(w, w.prod), "Denied"),
    ],

    // the test and smoke-test roles run the commit's code: they assume nothing, not even a role trusting them
    ["test role cannot assume dev's deploy role", (w) => assume(w.test, w.dev.deployRole, "Denied")],
    ["test role cannot assume prod's deploy role", (w) => assume(w.test, w.prod.deployRole, "Denied")],
    ["test role cannot assume dev's drift read role", (w) => assume(w.test, w.dev.driftRole, "Denied")],
    ["test role assumes no role, even one trusting the whole tools account", (w) => assume(w.test, organizationRole(w, w.dev), "Denied")],
    ["smoke-test role cannot assume dev's deploy role", (w) => assume(w.smoke, w.dev.deployRole, "Denied")],
    ["smoke-test role cannot assume prod's deploy role", (w) => assume(w.smoke, w.prod.deployRole, "Denied")],
    ["smoke-test role cannot assume prod's drift read role", (w) => assume(w.smoke, w.prod.driftRole, "Denied")],
    [
        "smoke-test role assumes no role, even one trusting the whole tools account",
        (w) => assume(w.smoke, organizationRole(w, w.prod), "Denied"),
    ],
    ["the pipeline's own CodePipeline role cannot assume dev's deploy role", (w) => assume(w.pipelineRole, w.dev.deployRole, "Denied")],

    // the drift check may assume the targets' drift read roles, and nothing else
    ["drift-check role assumes dev's drift read role", (w) => assume(w.drift, w.dev.driftRole, "Allowed")],
    ["drift-check role assumes prod's drift read role", (w) => assume(w.drift, w.prod.driftRole, "Allowed")],
    ["drift-check role cannot assume dev's deploy role", (w) => assume(w.drift, w.dev.deployRole, "Denied")],
    ["drift-check role cannot assume prod's deploy role", (w) => assume(w.drift, w.prod.deployRole, "Denied")],
    [
        "drift-check role cannot assume prod's deploy role even holding every permission (prod's trust)",
        (w) => assume(asAdmin(w.drift), w.prod.deployRole, "Denied"),
    ],
    ["drift-check role cannot assume dev's CFN execution role", (w) => assume(w.drift, w.dev.cfnRole, "Denied")],
    [
        "drift-check role cannot assume a target role that trusts the whole tools account",
        (w) => assume(w.drift, organizationRole(w, w.prod), "Denied"),
    ],

    // nobody else gets in
    [
        "tools account root cannot assume dev's deploy role",
        (w) =>
            assume(
                { label: "tools account root (all permissions)", principal: w.toolsRoot, identity: [ADMIN] },
                w.dev.deployRole,
                "Denied",
            ),
    ],
    [
        "another tools-account role, even an admin, cannot assume prod's deploy role",
        (w) => {
            const admin = `arn:aws:iam::${w.toolsAccount}:role/tools-admin`;
            return assume(
                { label: "other tools role (AdministratorAccess)", principal: admin, identity: [ADMIN] },
                w.prod.deployRole,
                "Denied",
            );
        },
    ],
    [
        "another tools-account role, even an admin, cannot assume dev's drift read role",
        (w) => {
            const admin = `arn:aws:iam::${w.toolsAccount}:role/tools-admin`;
            return assume(
                { label: "other tools role (AdministratorAccess)", principal: admin, identity: [ADMIN] },
                w.dev.driftRole,
                "Denied",
            );
        },
    ],
    [
        "a third account's role named like dev's build role cannot assume dev's deploy role",
        (w) => assume(imposter(w, w.buildDev), w.dev.deployRole, "Denied"),
    ],
    [
        "a third account's role named like the drift-check role cannot assume prod's drift read role",
        (w) => assume(imposter(w, w.drift), w.prod.driftRole, "Denied"),
    ],

    // ---- the dev deploy role (serverless deployer) ----
    [
        "dev deploy role passes its CFN execution role to CloudFormation",
        (w) =>
            req(w.dev.deploy, "iam:PassRole", w.dev.cfnRole.arn, "Allowed", {
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
            }),
    ],
    [
        "dev deploy role cannot pass the CFN execution role to Lambda",
        (w) =>
            req(w.dev.deploy, "iam:PassRole", w.dev.cfnRole.arn, "Denied", { context: { "iam:PassedToService": "lambda.amazonaws.com" } }),
    ],
    [
        "dev deploy role cannot pass another role (the function role)",
        (w) =>
            req(w.dev.deploy, "iam:PassRole", w.fnRole.arn, "Denied", {
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
            }),
    ],
    [
        "dev deploy role cannot create IAM users",
        (w) => req(w.dev.deploy, "iam:CreateUser", `arn:aws:iam::${w.dev.account}:user/backdoor`, "Denied"),
    ],
    [
        "dev deploy role cannot attach AdministratorAccess to itself",
        (w) =>
            req(w.dev.deploy, "iam:AttachRolePolicy", w.dev.deployRole.arn, "Denied", { context: { "iam:PolicyARN": AWS_ADMIN_POLICY } }),
    ],
    [
        "dev deploy role creates a change set on the service stack",
        (w) => req(w.dev.deploy, "cloudformation:CreateChangeSet", w.dev.stackArn(w.stackName), "Allowed"),
    ],
    [
        "dev deploy role executes a change set on the service stack",
        (w) => req(w.dev.deploy, "cloudformation:ExecuteChangeSet", w.dev.stackArn(w.stackName), "Allowed"),
    ],
    [
        "dev deploy role cannot create a change set on another stack",
        (w) => req(w.dev.deploy, "cloudformation:CreateChangeSet", w.dev.stackArn("other-stack"), "Denied"),
    ],
    [
        "dev deploy role cannot execute a change set on prod's stack",
        (w) => req(w.dev.deploy, "cloudformation:ExecuteChangeSet", w.prod.stackArn(), "Denied"),
    ],
    [
        "dev deploy role cannot delete the service stack",
        (w) => req(w.dev.deploy, "cloudformation:DeleteStack", w.dev.stackArn(w.stackName), "Denied"),
    ],
    [
        "dev deploy role cannot update the service stack directly",
        (w) => req(w.dev.deploy, "cloudformation:UpdateStack", w.dev.stackArn(w.stackName), "Denied"),
    ],
    [
        "dev deploy role cannot detect drift (the drift read role does)",
        (w) => req(w.dev.deploy, "cloudformation:DetectStackDrift", w.dev.stackArn(w.stackName), "Denied"),
    ],
    [
        "dev deploy role uploads the packaged artifact (key from the template)",
        (w) =>
            req(w.dev.deploy, "s3:PutObject", w.slsArtifact, "Allowed", {
                resourceAccount: w.dev.account,
                resourcePolicy: w.dev.bucket.policy,
                context: TLS,
            }),
    ],
    [
        "dev deploy role cannot write to another bucket",
        (w) =>
            req(w.dev.deploy, "s3:PutObject", `arn:aws:s3:::other-bucket/${deploymentObjectPrefix(w.dev.stage)}x.zip`, "Denied", {
                resourceAccount: w.dev.account,
            }),
    ],
    [
        "dev deploy role cannot write under another stage's prefix of its bucket",
        (w) =>
            req(w.dev.deploy, "s3:PutObject", w.dev.artifact(w.prod.stage, w.slsArtifactFile), "Denied", {
                resourceAccount: w.dev.account,
                resourcePolicy: w.dev.bucket.policy,
                context: TLS,
            }),
    ],
    [
        "dev deploy role cannot update function code directly",
        (w) => req(w.dev.deploy, "lambda:UpdateFunctionCode", w.dev.functionArn("createProduct"), "Denied"),
    ],

    // ---- the prod deploy role ----
    [
        "prod deploy role creates a change set on prod's service stack",
        (w) => req(w.prod.deploy, "cloudformation:CreateChangeSet", w.prod.stackArn(), "Allowed"),
    ],
    [
        "prod deploy role cannot create a change set on a dev-named stack of its account",
        (w) => req(w.prod.deploy, "cloudformation:CreateChangeSet", w.prod.stackArn(serviceNames(w.dev.stage).stack), "Denied"),
    ],
    [
        "prod deploy role passes prod's CFN execution role to CloudFormation",
        (w) =>
            req(w.prod.deploy, "iam:PassRole", w.prod.cfnRole.arn, "Allowed", {
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
            }),
    ],
    [
        "prod deploy role uploads a release under prod's prefix",
        (w) =>
            req(w.prod.deploy, "s3:PutObject", w.prod.artifact(w.prod.stage, w.slsArtifactFile), "Allowed", {
                resourceAccount: w.prod.account,
                resourcePolicy: w.prod.bucket.policy,
                context: TLS,
            }),
    ],
    [
        "prod deploy role cannot write under dev's prefix of its bucket",
        (w) =>
            req(w.prod.deploy, "s3:PutObject", w.prod.artifact(w.dev.stage, w.slsArtifactFile), "Denied", {
                resourceAccount: w.prod.account,
                resourcePolicy: w.prod.bucket.policy,
                context: TLS,
            }),
    ],

    // ---- the drift read roles: drift detection and reads, no write of any kind ----
    [
        "dev drift read role detects drift on the service stack",
        (w) => req(w.dev.driftRead, "cloudformation:DetectStackDrift", w.dev.stackArn(), "Allowed"),
    ],
    [
        "dev drift read role reads the drift of the service stack's resources",
        (w) => req(w.dev.driftRead, "cloudformation:DescribeStackResourceDrifts", w.dev.stackArn(), "Allowed"),
    ],
    [
        "dev drift read role reads a detection's status",
        (w) => req(w.dev.driftRead, "cloudformation:DescribeStackDriftDetectionStatus", "*", "Allowed", { resourceAccount: w.dev.account }),
    ],
    [
        "dev drift read role cannot detect drift on another stack",
        (w) => req(w.dev.driftRead, "cloudformation:DetectStackDrift", w.dev.stackArn("other-stack"), "Denied"),
    ],
    [
        "dev drift read role reads the table, as drift detection does",
        (w) => req(w.dev.driftRead, "dynamodb:DescribeTable", w.dev.table, "Allowed"),
    ],
    ["dev drift read role cannot change the table", (w) => req(w.dev.driftRead, "dynamodb:UpdateTable", w.dev.table, "Denied")],
    ["dev drift read role cannot read the table's items", (w) => req(w.dev.driftRead, "dynamodb:GetItem", w.dev.table, "Denied")],
    ["dev drift read role cannot scan the table", (w) => req(w.dev.driftRead, "dynamodb:Scan", w.dev.table, "Denied")],
    [
        "dev drift read role cannot turn the table's backups off",
        (w) => req(w.dev.driftRead, "dynamodb:UpdateContinuousBackups", w.dev.table, "Denied"),
    ],
    ["dev drift read role reads the function role", (w) => req(w.dev.driftRead, "iam:GetRole", w.fnRole.arn, "Allowed")],
    ["dev drift read role cannot delete the function role", (w) => req(w.dev.driftRead, "iam:DeleteRole", w.fnRole.arn, "Denied")],
    [
        "dev drift read role cannot read roles outside the service (the deploy role)",
        (w) => req(w.dev.driftRead, "iam:GetRole", w.dev.deployRole.arn, "Denied"),
    ],
    [
        "dev drift read role reads a function",
        (w) => req(w.dev.driftRead, "lambda:GetFunction", w.dev.functionArn("createProduct"), "Allowed"),
    ],
    [
        "dev drift read role cannot update function code",
        (w) => req(w.dev.driftRead, "lambda:UpdateFunctionCode", w.dev.functionArn("createProduct"), "Denied"),
    ],
    [
        "dev drift read role reads REST APIs",
        (w) => req(w.dev.driftRead, "apigateway:GET", w.apiGateway("/restapis/a1b2c3d4e5"), "Allowed", { resourceAccount: w.dev.account }),
    ],
    [
        "dev drift read role cannot delete the service's REST API",
        (w) =>
            req(w.dev.driftRead, "apigateway:DELETE", w.apiGateway("/restapis/a1b2c3d4e5"), "Denied", {
                resourceAccount: w.dev.account,
                context: { "apigateway:Resource/ApiName": w.dev.prefix },
            }),
    ],
    ["dev drift read role cannot update the stack", (w) => req(w.dev.driftRead, "cloudformation:UpdateStack", w.dev.stackArn(), "Denied")],
    [
        "dev drift read role cannot create a change set",
        (w) => req(w.dev.driftRead, "cloudformation:CreateChangeSet", w.dev.stackArn(), "Denied"),
    ],
    [
        "dev drift read role cannot execute a change set",
        (w) => req(w.dev.driftRead, "cloudformation:ExecuteChangeSet", w.dev.stackArn(), "Denied"),
    ],
    [
        "dev drift read role cannot pass the CFN execution role",
        (w) =>
            req(w.dev.driftRead, "iam:PassRole", w.dev.cfnRole.arn, "Denied", {
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
            }),
    ],
    [
        "dev drift read role cannot upload an artifact",
        (w) =>
            req(w.dev.driftRead, "s3:PutObject", w.slsArtifact, "Denied", {
                resourceAccount: w.dev.account,
                resourcePolicy: w.dev.bucket.policy,
                context: TLS,
            }),
    ],
    [
        "dev drift read role cannot read the deployment bucket",
        (w) =>
            req(w.dev.driftRead, "s3:GetObject", w.slsArtifact, "Denied", {
                resourceAccount: w.dev.account,
                resourcePolicy: w.dev.bucket.policy,
                context: TLS,
            }),
    ],
    [
        "prod drift read role detects drift on prod's stack",
        (w) => req(w.prod.driftRead, "cloudformation:DetectStackDrift", w.prod.stackArn(), "Allowed"),
    ],
    [
        "prod drift read role cannot detect drift on dev's stack",
        (w) => req(w.prod.driftRead, "cloudformation:DetectStackDrift", w.dev.stackArn(), "Denied"),
    ],
    [
        "prod drift read role cannot update prod's stack",
        (w) => req(w.prod.driftRead, "cloudformation:UpdateStack", w.prod.stackArn(), "Denied"),
    ],
    [
        "prod drift read role cannot execute a change set on prod's stack",
        (w) => req(w.prod.driftRead, "cloudformation:ExecuteChangeSet", w.prod.stackArn(), "Denied"),
    ],
    [
        "prod drift read role cannot pass prod's CFN execution role",
        (w) =>
            req(w.prod.driftRead, "iam:PassRole", w.prod.cfnRole.arn, "Denied", {
                context: { "iam:PassedToService": "cloudformation.amazonaws.com" },
            }),
    ],
    [
        "prod drift read role cannot upload to prod's deployment bucket",
        (w) =>
            req(w.prod.driftRead, "s3:PutObject", w.prod.artifact(w.prod.stage, w.slsArtifactFile), "Denied", {
                resourceAccount: w.prod.account,
                resourcePolicy: w.prod.bucket.policy,
                context: TLS,
            }),
    ],

    // ---- the dev CloudFormation execution role ----
    [
        "dev CFN role creates the function role with the boundary (name and boundary from the template)",
        (w) =>
            req(w.dev.cfn, "iam:CreateRole", w.fnRole.arn, "Allowed", { context: { "iam:PermissionsBoundary": w.fnRole.boundary!.arn } }),
    ],
    ["dev CFN role cannot create the function role without a boundary", (w) => req(w.dev.cfn, "iam:CreateRole", w.fnRole.arn, "Denied")],
    [
        "dev CFN role cannot create the function role with another boundary",
        (w) => req(w.dev.cfn, "iam:CreateRole", w.fnRole.arn, "Denied", { context: { "iam:PermissionsBoundary": AWS_ADMIN_POLICY } }),
    ],
    [
        "dev CFN role cannot create another role of the service prefix, even with the boundary",
        (w) =>
            req(w.dev.cfn, "iam:CreateRole", `arn:aws:iam::${w.dev.account}:role/${w.dev.prefix}-admin`, "Denied", {
                context: { "iam:PermissionsBoundary": w.dev.boundaryArn },
            }),
    ],
    [
        "dev CFN role cannot create a role outside the service prefix",
        (w) =>
            req(w.dev.cfn, "iam:CreateRole", `arn:aws:iam::${w.dev.account}:role/admin`, "Denied", {
                context: { "iam:PermissionsBoundary": w.dev.boundaryArn },
            }),
    ],
    [
        "dev CFN role adds an inline policy to the function role while it carries the boundary",
        (w) => req(w.dev.cfn, "iam:PutRolePolicy", w.fnRole.arn, "Allowed", { context: { "iam:PermissionsBoundary": w.dev.boundaryArn } }),
    ],
    [
        "dev CFN role cannot add an inline policy to a function role without the boundary",
        (w) => req(w.dev.cfn, "iam:PutRolePolicy", w.fnRole.arn, "Denied"),
    ],
    [
        "dev CFN role cannot attach a managed policy (AdministratorAccess) to the function role",
        (w) =>
            req(w.dev.cfn, "iam:AttachRolePolicy", w.fnRole.arn, "Denied", {
                context: { "iam:PolicyARN": AWS_ADMIN_POLICY, "iam:PermissionsBoundary": w.dev.boundaryArn },
            }),
    ],
    [
        "dev CFN role cannot detach a managed policy from the function role",
        (w) =>
            req(w.dev.cfn, "iam:DetachRolePolicy", w.fnRole.arn, "Denied", {
                context: { "iam:PolicyARN": AWS_ADMIN_POLICY, "iam:PermissionsBoundary": w.dev.boundaryArn },
            }),
    ],
    [
        "dev CFN role cannot add a policy to itself",
        (w) =>
            req(w.dev.cfn, "iam:PutRolePolicy", w.dev.cfnRole.arn, "Denied", { context: { "iam:PermissionsBoundary": w.dev.boundaryArn } }),
    ],
    [
        "dev CFN role cannot remove the function role's boundary",
        (w) => req(w.dev.cfn, "iam:DeleteRolePermissionsBoundary", w.fnRole.arn, "Denied"),
    ],
    ["dev CFN role cannot delete the boundary policy", (w) => req(w.dev.cfn, "iam:DeletePolicy", w.dev.boundaryArn, "Denied")],
    ["dev CFN role cannot rewrite the boundary policy", (w) => req(w.dev.cfn, "iam:CreatePolicyVersion", w.dev.boundaryArn, "Denied")],
    [
        "dev CFN role creates a function named with the service prefix",
        (w) => req(w.dev.cfn, "lambda:CreateFunction", w.dev.functionArn("x"), "Allowed"),
    ],
    [
        "dev CFN role cannot create another function",
        (w) => req(w.dev.cfn, "lambda:CreateFunction", w.dev.arn("lambda", "function:other-fn"), "Denied"),
    ],
    [
        "dev CFN role creates the functions' log group",
        (w) => req(w.dev.cfn, "logs:CreateLogGroup", w.dev.arn("logs", `log-group:/aws/lambda/${w.dev.prefix}-createProduct`), "Allowed"),
    ],
    [
        "dev CFN role cannot delete the functions' log group",
        (w) => req(w.dev.cfn, "logs:DeleteLogGroup", w.dev.arn("logs", `log-group:/aws/lambda/${w.dev.prefix}-createProduct`), "Denied"),
    ],
    [
        "dev CFN role creates the service table (name from the template)",
        (w) => req(w.dev.cfn, "dynamodb:CreateTable", w.dev.table, "Allowed"),
    ],
    ["dev CFN role cannot create another table", (w) => req(w.dev.cfn, "dynamodb:CreateTable", w.otherTable, "Denied")],
    ["dev CFN role cannot delete the service table", (w) => req(w.dev.cfn, "dynamodb:DeleteTable", w.dev.table, "Denied")],
    [
        // IAM has no condition key for the PITR setting: the action that enables it can also disable it (the table is
        // still deletion-protected and retained).
        "dev CFN role sets the service table's point-in-time recovery",
        (w) => req(w.dev.cfn, "dynamodb:UpdateContinuousBackups", w.dev.table, "Allowed"),
    ],
    [
        "dev CFN role cannot change another table's backups",
        (w) => req(w.dev.cfn, "dynamodb:UpdateContinuousBackups", w.otherTable, "Denied"),
    ],
    [
        "dev CFN role passes the function role to Lambda",
        (w) => req(w.dev.cfn, "iam:PassRole", w.fnRole.arn, "Allowed", { context: { "iam:PassedToService": "lambda.amazonaws.com" } }),
    ],
    [
        "dev CFN role cannot pass the function role to EC2",
        (w) => req(w.dev.cfn, "iam:PassRole", w.fnRole.arn, "Denied", { context: { "iam:PassedToService": "ec2.amazonaws.com" } }),
    ],
    [
        "dev CFN role creates the service's REST API (name from the template)",
        (w) =>
            req(w.dev.cfn, "apigateway:POST", w.apiGateway("/restapis"), "Allowed", {
                resourceAccount: w.dev.account,
                context: { "apigateway:Request/ApiName": w.restApiName },
            }),
    ],
    [
        "dev CFN role cannot delete another REST API of the target account",
        (w) =>
            req(w.dev.cfn, "apigateway:DELETE", w.apiGateway("/restapis/a1b2c3d4e5"), "Denied", {
                resourceAccount: w.dev.account,
                context: { "apigateway:Resource/ApiName": "other-team-api" },
            }),
    ],
    [
        "dev CFN role may update its own REST API",
        (w) =>
            req(w.dev.cfn, "apigateway:PATCH", w.apiGateway("/restapis/a1b2c3d4e5"), "Allowed", {
                resourceAccount: w.dev.account,
                context: { "apigateway:Resource/ApiName": w.restApiName, "apigateway:Request/ApiName": w.restApiName },
            }),
    ],
    [
        "dev CFN role cannot rename its REST API to another name",
        (w) =>
            req(w.dev.cfn, "apigateway:PATCH", w.apiGateway("/restapis/a1b2c3d4e5"), "Denied", {
                resourceAccount: w.dev.account,
                context: { "apigateway:Resource/ApiName": w.restApiName, "apigateway:Request/ApiName": "other-team-api" },
            }),
    ],
    [
        "dev CFN role may let API Gateway invoke a service function",
        (w) =>
            req(w.dev.cfn, "lambda:AddPermission", w.dev.functionArn("createProduct"), "Allowed", {
                context: { "lambda:Principal": "apigateway.amazonaws.com" },
            }),
    ],
    [
        "dev CFN role cannot let anyone else invoke a service function",
        (w) =>
            req(w.dev.cfn, "lambda:AddPermission", w.dev.functionArn("createProduct"), "Denied", { context: { "lambda:Principal": "*" } }),
    ],
    [
        "CloudFormation of the dev account assumes dev's CFN role",
        (w) => assume(service("cloudformation.amazonaws.com"), w.dev.cfnRole, "Allowed", { "aws:SourceAccount": w.dev.account }),
    ],
    [
        "CloudFormation acting for another account cannot assume dev's CFN role",
        (w) => assume(service("cloudformation.amazonaws.com"), w.dev.cfnRole, "Denied", { "aws:SourceAccount": THIRD_ACCOUNT }),
    ],

    // ---- the prod CloudFormation execution role: its own stage only ----
    // The function role is named exactly, so a stage named `prod-eu` in the same account keeps its own. Functions,
    // tables and log groups are scoped by the pattern `<service>-prod-*`, which would include `prod-eu`'s: the tools
    // stack refuses two such stages in one account (stageCollisionProblems), so no case here claims otherwise.
    [
        "prod CFN role creates prod's function role with prod's boundary",
        (w) =>
            req(w.prod.cfn, "iam:CreateRole", w.prod.functionRoleArn(), "Allowed", {
                context: { "iam:PermissionsBoundary": w.prod.boundaryArn },
            }),
    ],
    [
        "prod CFN role cannot create prod's function role with dev's boundary",
        (w) =>
            req(w.prod.cfn, "iam:CreateRole", w.prod.functionRoleArn(), "Denied", {
                context: { "iam:PermissionsBoundary": w.dev.boundaryArn },
            }),
    ],
    [
        "prod CFN role cannot create the function role of a stage named prod-eu in its account",
        (w) =>
            req(w.prod.cfn, "iam:CreateRole", w.prod.functionRoleArn(`${w.prod.stage}-eu`), "Denied", {
                context: { "iam:PermissionsBoundary": w.prod.boundaryArn },
            }),
    ],
    [
        "prod CFN role cannot pass the function role of a stage named prod-eu",
        (w) =>
            req(w.prod.cfn, "iam:PassRole", w.prod.functionRoleArn(`${w.prod.stage}-eu`), "Denied", {
                context: { "iam:PassedToService": "lambda.amazonaws.com" },
            }),
    ],
    ["prod CFN role creates prod's table", (w) => req(w.prod.cfn, "dynamodb:CreateTable", w.prod.table, "Allowed")],
    [
        "prod CFN role cannot create dev's functions",
        (w) => req(w.prod.cfn, "lambda:CreateFunction", w.dev.functionArn("createProduct"), "Denied"),
    ],
    ["prod CFN role cannot change dev's table", (w) => req(w.prod.cfn, "dynamodb:UpdateTable", w.dev.table, "Denied")],
    [
        "prod CFN role cannot delete prod's functions' log group",
        (w) => req(w.prod.cfn, "logs:DeleteLogGroup", w.prod.arn("logs", `log-group:/aws/lambda/${w.prod.prefix}-findProduct`), "Denied"),
    ],
    [
        "CloudFormation of the prod account assumes prod's CFN role",
        (w) => assume(service("cloudformation.amazonaws.com"), w.prod.cfnRole, "Allowed", { "aws:SourceAccount": w.prod.account }),
    ],
    [
        "CloudFormation acting for the dev account cannot assume prod's CFN role",
        (w) => assume(service("cloudformation.amazonaws.com"), w.prod.cfnRole, "Denied", { "aws:SourceAccount": w.dev.account }),
    ],

    // ---- the function role (serverless template) within its boundary ----
    [
        "function role writes items of its table from a stage function",
        (w) =>
            req(w.fn, "dynamodb:PutItem", w.dev.table, "Allowed", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("createProduct") },
            }),
    ],
    [
        "function role reads items of its table from a stage function",
        (w) =>
            req(w.fn, "dynamodb:GetItem", w.dev.table, "Allowed", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("findProduct") },
            }),
    ],
    [
        "function role cannot write its table outside a function (no lambda:SourceFunctionArn)",
        (w) => req(w.fn, "dynamodb:PutItem", w.dev.table, "Denied"),
    ],
    [
        "function role cannot write its table from a function outside the stage's prefix",
        (w) =>
            req(w.fn, "dynamodb:PutItem", w.dev.table, "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.arn("lambda", "function:other-fn") },
            }),
    ],
    [
        "function role cannot write its table from another stage's function",
        (w) => req(w.fn, "dynamodb:PutItem", w.dev.table, "Denied", { context: { "lambda:SourceFunctionArn": w.apiFunctionArn } }),
    ],
    [
        "function role cannot scan its table",
        (w) =>
            req(w.fn, "dynamodb:Scan", w.dev.table, "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("findProduct") },
            }),
    ],
    [
        "function role cannot delete items",
        (w) =>
            req(w.fn, "dynamodb:DeleteItem", w.dev.table, "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("findProduct") },
            }),
    ],
    [
        "function role cannot write another table",
        (w) =>
            req(w.fn, "dynamodb:PutItem", w.otherTable, "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("createProduct") },
            }),
    ],
    [
        "function role writes its own log stream",
        (w) =>
            req(w.fn, "logs:PutLogEvents", w.dev.logStream("createProduct"), "Allowed", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("createProduct") },
            }),
    ],
    [
        "function role cannot write log streams outside a function",
        (w) => req(w.fn, "logs:PutLogEvents", w.dev.logStream("createProduct"), "Denied"),
    ],
    [
        "boundary cuts the framework's `<prefix>*` log statement down to `<prefix>-*`",
        (w) =>
            req(w.fn, "logs:PutLogEvents", w.dev.arn("logs", `log-group:/aws/lambda/${w.dev.prefix}elopment-x:log-stream:s`), "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("createProduct") },
            }),
    ],
    ["function role sends traces", (w) => req(w.fn, "xray:PutTraceSegments", "*", "Allowed", { resourceAccount: w.dev.account })],
    [
        "a role with the boundary, whatever its statements, cannot write the table outside a stage function",
        (w) => req(w.boundedAdmin, "dynamodb:PutItem", w.dev.table, "Denied"),
    ],
    [
        "a role with the boundary reaches the table from a stage function",
        (w) =>
            req(w.boundedAdmin, "dynamodb:PutItem", w.dev.table, "Allowed", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("x") },
            }),
    ],
    [
        "a role with the boundary cannot scan the table, even from a stage function",
        (w) =>
            req(w.boundedAdmin, "dynamodb:Scan", w.dev.table, "Denied", {
                context: { "lambda:SourceFunctionArn": w.dev.functionArn("x") },
            }),
    ],
    [
        "a role with the boundary cannot remove its boundary",
        (w) => req(w.boundedAdmin, "iam:DeleteRolePermissionsBoundary", w.fnRole.arn, "Denied"),
    ],
    [
        "a role with the boundary cannot create IAM users",
        (w) => req(w.boundedAdmin, "iam:CreateUser", `arn:aws:iam::${w.dev.account}:user/backdoor`, "Denied"),
    ],

    // ---- the api stack's function role within its boundary ----
    [
        "ProductApi role writes items of its table",
        (w) => req(w.apiFn, "dynamodb:PutItem", w.apiTable, "Allowed", { context: { "lambda:SourceFunctionArn": w.apiFunctionArn } }),
    ],
    ["ProductApi role cannot write its table outside its functions", (w) => req(w.apiFn, "dynamodb:PutItem", w.apiTable, "Denied")],
    [
        "ProductApi role cannot scan its table",
        (w) => req(w.apiFn, "dynamodb:Scan", w.apiTable, "Denied", { context: { "lambda:SourceFunctionArn": w.apiFunctionArn } }),
    ],
    [
        "ProductApi role cannot write the pipeline-deployed stage's table",
        (w) => req(w.apiFn, "dynamodb:PutItem", w.dev.table, "Denied", { context: { "lambda:SourceFunctionArn": w.apiFunctionArn } }),
    ],

    // ---- tools account ----
    ["EventBridge role starts its pipeline", (w) => req(w.events, "codepipeline:StartPipelineExecution", w.pipelineArn, "Allowed")],
    [
        "EventBridge role cannot start another pipeline",
        (w) => req(w.events, "codepipeline:StartPipelineExecution", w.toolsArn("codepipeline", "other-pipeline"), "Denied"),
    ],
    [
        "pipeline role starts dev's deploy build",
        (w) => req(w.pipelineRole, "codebuild:StartBuild", w.projectArn(deployProjectName(w.dev.stage)), "Allowed"),
    ],
    [
        "pipeline role starts prod's deploy build",
        (w) => req(w.pipelineRole, "codebuild:StartBuild", w.projectArn(deployProjectName(w.prod.stage)), "Allowed"),
    ],
    [
        "pipeline role cannot start the drift check",
        (w) => req(w.pipelineRole, "codebuild:StartBuild", w.projectArn(`${SERVICE_NAME}-drift`), "Denied"),
    ],
    [
        "drift schedule role starts the drift-check project",
        (w) => req(w.driftSchedule, "codebuild:StartBuild", w.projectArn(`${SERVICE_NAME}-drift`), "Allowed"),
    ],
    [
        "drift schedule role cannot start a deploy project",
        (w) => req(w.driftSchedule, "codebuild:StartBuild", w.projectArn(deployProjectName(w.prod.stage)), "Denied"),
    ],
    ["drift-check role publishes to the pipeline topic", (w) => req(w.drift, "sns:Publish", w.topicArn, "Allowed")],
    ["drift-check role cannot publish to another topic", (w) => req(w.drift, "sns:Publish", w.toolsArn("sns", "other-topic"), "Denied")],
    [
        "drift-check role reads the deploy kit",
        (w) =>
            req(w.drift, "s3:GetObject", w.deployKit, "Allowed", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    [
        "drift-check role cannot replace the deploy kit",
        (w) =>
            req(w.drift, "s3:PutObject", w.deployKit, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    [
        "drift-check role cannot read the pipeline's artifacts",
        (w) =>
            req(w.drift, "s3:GetObject", `${w.artifactBucket.arn}/source/abc.zip`, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.artifactBucket.policy,
                context: TLS,
            }),
    ],
    [
        "dev build role reads the deploy kit",
        (w) =>
            req(w.buildDev, "s3:GetObject", w.deployKit, "Allowed", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    [
        "prod build role cannot replace the deploy kit",
        (w) =>
            req(w.buildProd, "s3:PutObject", w.deployKit, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    [
        "prod build role reads the pipeline's artifacts over TLS",
        (w) =>
            req(w.buildProd, "s3:GetObject", `${w.artifactBucket.arn}/source/abc.zip`, "Allowed", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.artifactBucket.policy,
                context: TLS,
            }),
    ],
    [
        "dev build role cannot read artifacts without TLS (bucket policy)",
        (w) =>
            req(w.buildDev, "s3:GetObject", `${w.artifactBucket.arn}/source/abc.zip`, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.artifactBucket.policy,
                context: { "aws:SecureTransport": "false" },
            }),
    ],
    ["test role writes its test reports", (w) => req(w.test, "codebuild:BatchPutTestCases", w.reportGroupArn, "Allowed")],
    [
        "test role writes its own build cache",
        (w) =>
            req(w.test, "s3:PutObject", w.testCache, "Allowed", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    [
        "test role (the commit's code) cannot replace the deploy kit",
        (w) =>
            req(w.test, "s3:PutObject", w.deployKit, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],
    ["smoke-test role cannot write test reports", (w) => req(w.smoke, "codebuild:BatchPutTestCases", w.reportGroupArn, "Denied")],
    [
        "smoke-test role reads the pipeline's artifacts",
        (w) =>
            req(w.smoke, "s3:GetObject", `${w.artifactBucket.arn}/build/abc.zip`, "Allowed", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.artifactBucket.policy,
                context: TLS,
            }),
    ],
    [
        "smoke-test role (the commit's code) cannot replace the deploy kit",
        (w) =>
            req(w.smoke, "s3:PutObject", w.deployKit, "Denied", {
                resourceAccount: w.toolsAccount,
                resourcePolicy: w.assets.policy,
                context: TLS,
            }),
    ],

    // ---- the deploy role of a target set up for the pulumi deployer ----
    [
        "pulumi deploy role creates the function role with the permissions boundary",
        (w) =>
            req(w.pulumiDeploy, "iam:CreateRole", w.fnRole.arn, "Allowed", { context: { "iam:PermissionsBoundary": w.pulumiBoundaryArn } }),
    ],
    [
        "pulumi deploy role cannot create the function role without the boundary",
        (w) => req(w.pulumiDeploy, "iam:CreateRole", w.fnRole.arn, "Denied"),
    ],
    [
        "pulumi deploy role cannot attach a managed policy to the function role",
        (w) =>
            req(w.pulumiDeploy, "iam:AttachRolePolicy", w.fnRole.arn, "Denied", {
                context: { "iam:PolicyARN": AWS_ADMIN_POLICY, "iam:PermissionsBoundary": w.pulumiBoundaryArn },
            }),
    ],
    [
        "pulumi deploy role passes the function role to Lambda only",
        (w) => req(w.pulumiDeploy, "iam:PassRole", w.fnRole.arn, "Allowed", { context: { "iam:PassedToService": "lambda.amazonaws.com" } }),
    ],
    ["pulumi deploy role creates the stage's table", (w) => req(w.pulumiDeploy, "dynamodb:CreateTable", w.dev.table, "Allowed")],
    ["pulumi deploy role cannot create another table", (w) => req(w.pulumiDeploy, "dynamodb:CreateTable", w.otherTable, "Denied")],
    [
        "pulumi deploy role cannot delete the functions' log group",
        (w) =>
            req(w.pulumiDeploy, "logs:DeleteLogGroup", w.dev.arn("logs", `log-group:/aws/lambda/${w.dev.prefix}-createProduct`), "Denied"),
    ],
    [
        "pulumi deploy role writes its stage's Pulumi state",
        (w) => req(w.pulumiDeploy, "s3:PutObject", w.pulumiState(w.dev.stage), "Allowed", { resourceAccount: w.dev.account }),
    ],
    [
        "pulumi deploy role cannot write another stage's Pulumi state",
        (w) => req(w.pulumiDeploy, "s3:PutObject", w.pulumiState(w.prod.stage), "Denied", { resourceAccount: w.dev.account }),
    ],
    [
        "pulumi deploy role decrypts with the stage's secrets key",
        (w) => req(w.pulumiDeploy, "kms:Decrypt", w.pulumiKeyArn, "Allowed", { resourcePolicy: w.pulumiKeyPolicy }),
    ],
    [
        "pulumi deploy role cannot use another key",
        (w) =>
            req(w.pulumiDeploy, "kms:Decrypt", w.dev.arn("kms", "key/0a1b2c3d-other-key"), "Denied", { resourcePolicy: w.pulumiKeyPolicy }),
    ],
    [
        "pulumi deploy role has no CloudFormation rights",
        (w) => req(w.pulumiDeploy, "cloudformation:CreateChangeSet", w.dev.stackArn(w.stackName), "Denied"),
    ],
];

/** Which tools role may assume which target role: the design, pair by pair (by stack role source). */
function designedAssumptions(w: World): Set<string> {
    const pair = (from: RoleModel, to: RoleModel) => `${from.source} -> ${to.source}`;
    return new Set([
        pair(w.buildDevRole, w.dev.deployRole),
        pair(w.buildDevRole, w.pulumiDeployRole),
        pair(w.buildProdRole, w.prod.deployRole),
        pair(w.driftRole, w.dev.driftRole),
        pair(w.driftRole, w.prod.driftRole),
    ]);
}

describe("IAM simulation (policies from the stacks and the sls template)", function () {
    this.timeout(60_000);
    let stacks: AllStacks;
    let w: World;
    const rows: { c: IamCase; r?: CaseResult }[] = [];

    before(async () => {
        stacks = await loadAllStacks();
        w = worldOf(stacks);
    });

    after(() => {
        if (rows.length > 0) {
            const allowed = rows.filter((row) => row.c.expected === "Allowed").length;
            console.log(
                `\n${matrixTable(rows)}\n\n${rows.length} cases: ${allowed} expected Allowed, ${rows.length - allowed} expected Denied\n`,
            );
        }
    });

    describe("matrix", () => {
        for (const [title, make] of CASES) {
            it(title, async function () {
                const c = make(w);
                const row: { c: IamCase; r?: CaseResult } = { c };
                rows.push(row);
                row.r = await simulate(c);
                expect(row.r.ignoredContextKeys, "context keys the simulator ignored for this action").to.deep.equal([]);
                expect(row.r.actual, `${c.caller.label} ${c.action} ${c.resource}: ${row.r.detail}`).to.equal(c.expected);
            });
        }
    });

    describe("stage isolation", () => {
        it("every tools role against every target role: only each stage's build role → its deploy role and the drift check → the drift read roles", async () => {
            const { tools, target, prodTarget, targetForPulumi } = stacks;
            const targetRoles = [...target.roles, ...prodTarget.roles, ...targetForPulumi.roles];
            expect(tools.roles.length, "tools roles").to.be.at.least(8);
            expect(targetRoles.length, "target roles").to.equal(7);
            const designed = designedAssumptions(w);
            const allowed: string[] = [];
            for (const from of tools.roles) {
                for (const to of targetRoles) {
                    const r = await simulate(assume(caller(from.source, from), to, "Denied"));
                    if (r.actual === "Allowed") allowed.push(`${from.source} -> ${to.source}`);
                }
            }
            expect(allowed.sort()).to.deep.equal([...designed].sort());
        });

        it("no tools role may assume a role of a target account that trusts the whole tools account, except the build and drift roles' own", async () => {
            // What the tools roles' own policies allow, whatever the target's trust: the assumed roles they name, no more.
            const designed = designedAssumptions(w);
            const { tools, target, prodTarget, targetForPulumi } = stacks;
            const targetRoles = [...target.roles, ...prodTarget.roles, ...targetForPulumi.roles];
            const allowed: string[] = [];
            for (const from of tools.roles) {
                for (const to of [...targetRoles, organizationRole(w, w.dev), organizationRole(w, w.prod)]) {
                    const r = await simulate(assume(caller(from.source, from), trustingToolsAccount(w, to), "Denied"));
                    if (r.actual === "Allowed") allowed.push(`${from.source} -> ${to.source}`);
                }
            }
            expect(allowed.sort()).to.deep.equal([...designed].sort());
        });
    });

    describe("coverage and provenance", () => {
        it("has at least 150 cases, both Allowed and Denied", () => {
            expect(CASES.length).to.be.at.least(150);
            const expected = CASES.map(([, make]) => make(w).expected);
            expect(expected).to.include("Allowed").and.to.include("Denied");
        });

        it("simulates every role of every stack and of the template with an Allowed and a Denied case, as caller or as assumed role", () => {
            const cases = CASES.map(([, make]) => make(w));
            const missing = stacks.allRoles.flatMap((role) => {
                const own = cases.filter((c) => c.caller.source === role.source || c.assumed === role.source);
                return (["Allowed", "Denied"] as const)
                    .filter((e) => !own.some((c) => c.expected === e))
                    .map((e) => `${role.source}: no ${e} case`);
            });
            expect(missing).to.deep.equal([]);
            expect(stacks.allRoles.length, "roles found in the stacks and the template").to.equal(17);
        });

        it("names the roles as the domain does: a build role per stage, the drift check's, and what each target trusts", () => {
            const { tools, target, prodTarget } = stacks;
            const stages: string[] = tools.outputs.stages;
            expect(stages).to.deep.equal([w.dev.stage, w.prod.stage]);
            for (const t of [target, prodTarget]) {
                const stage: string = t.outputs.stage;
                const build = tools.role(`deploy-${stage}-role`);
                expect(build.name).to.equal(stageBuildRoleName(DEFAULT_BUILD_ROLE_PREFIX, stage));
                expect(tools.outputs.buildRoleArns[stage]).to.equal(build.arn);
                expect(t.outputs.trustedBuildRoleArn).to.equal(build.arn);
                // The Deploy action of the stage hands its build exactly this target's deploy role.
                expect(deployActionTarget(tools, stage).deployRoleArn).to.equal(t.role("deploy-role").arn);
                expect(t.role("drift-role").name).to.equal(`drift-${serviceNames(stage).prefix}`);
            }
            expect(w.driftRole.name).to.equal(driftCheckRoleName(DEFAULT_BUILD_ROLE_PREFIX));
            // The drift check is told exactly the targets' drift read roles.
            const driftTargets = JSON.parse(projectEnvironment(tools, `${SERVICE_NAME}-drift`)[DRIFT_TARGETS_VARIABLE]) as {
                driftRoleArn: string;
            }[];
            expect(driftTargets.map((t) => t.driftRoleArn)).to.deep.equal([
                target.role("drift-role").arn,
                prodTarget.role("drift-role").arn,
            ]);
        });

        it("models every function role with the target stack's boundary, the one the pipeline passes", () => {
            const { sls, target, api } = stacks;
            expect(sls.params.permissionsBoundaryArn).to.equal(target.outputs.permissionsBoundaryArn);
            expect(sls.functionRole.boundary?.arn).to.equal(target.outputs.permissionsBoundaryArn);
            expect(api.role("function-role").boundary?.arn).to.equal(api.cloud.one("aws:iam/policy:Policy").state.arn);
            expect(sls.params.cfnRoleArn).to.equal(target.outputs.cfnExecutionRoleArn);
            expect(sls.functionRole.arn).to.equal(w.dev.functionRoleArn());
        });

        it("the CFN execution role may create every named resource the packaged template declares", async () => {
            const { sls } = stacks;
            const requests: IamCase[] = [
                ...(sls.propertyOf("AWS::Lambda::Function", "FunctionName") as string[]).map((name) =>
                    req(w.dev.cfn, "lambda:CreateFunction", w.dev.arn("lambda", `function:${name}`), "Allowed"),
                ),
                ...(sls.propertyOf("AWS::Logs::LogGroup", "LogGroupName") as string[]).map((name) =>
                    req(w.dev.cfn, "logs:CreateLogGroup", w.dev.arn("logs", `log-group:${name}`), "Allowed"),
                ),
                ...(sls.propertyOf("AWS::Lambda::Function", "Code") as { S3Bucket: string; S3Key: string }[]).map((code) =>
                    req(w.dev.cfn, "s3:GetObject", `arn:aws:s3:::${code.S3Bucket}/${code.S3Key}`, "Allowed", {
                        resourceAccount: w.dev.account,
                        resourcePolicy: w.dev.bucket.policy,
                        context: TLS,
                    }),
                ),
                req(w.dev.cfn, "iam:CreateRole", w.fnRole.arn, "Allowed", {
                    context: { "iam:PermissionsBoundary": w.fnRole.boundary!.arn },
                }),
                ...(sls.propertyOf("AWS::DynamoDB::Table", "TableName") as string[]).map((name) =>
                    req(w.dev.cfn, "dynamodb:CreateTable", w.dev.arn("dynamodb", `table/${name}`), "Allowed"),
                ),
            ];
            expect(requests.length).to.be.at.least(7);
            for (const c of requests) {
                const r = await simulate(c);
                expect(r.actual, `${c.action} ${c.resource}: ${r.detail}`).to.equal("Allowed");
            }
        });

        it("the simulator can say Denied for a request the stacks would allow with a changed policy (no vacuous passes)", async () => {
            // dev's build role without its AssumeRole statement no longer reaches dev's deploy role.
            const stripped = w.buildDev.identity.map((p) => ({
                name: p.name,
                policy: { ...p.policy, Statement: p.policy.Statement.filter((st: any) => ![st.Action].flat().includes("sts:AssumeRole")) },
            }));
            const r = await simulate(assume({ ...w.buildDev, identity: stripped }, w.dev.deployRole, "Denied"));
            expect(r.actual).to.equal("Denied");
        });

        it("the simulator can say Allowed across stages once both policies allow it (the isolation cases are not vacuous)", async () => {
            // dev's build role, with prod's deploy role added to its policy, against prod's role trusting dev's build role.
            const widened = w.buildDev.identity.map((p) => ({
                name: p.name,
                policy: {
                    ...p.policy,
                    Statement: p.policy.Statement.map((st: any) =>
                        [st.Action].flat().includes("sts:AssumeRole")
                            ? { ...st, Resource: [st.Resource, w.prod.deployRole.arn].flat() }
                            : st,
                    ),
                },
            }));
            const prodTrustingDev: RoleModel = {
                ...w.prod.deployRole,
                trust: JSON.parse(JSON.stringify(w.prod.deployRole.trust).split(w.buildProd.principal).join(w.buildDev.principal)),
            };
            expect(JSON.stringify(prodTrustingDev.trust)).to.include(w.buildDev.principal);
            const r = await simulate(assume({ ...w.buildDev, identity: widened }, prodTrustingDev, "Allowed"));
            expect(r.actual).to.equal("Allowed");
        });
    });
});
