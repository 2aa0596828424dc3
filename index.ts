// The Pulumi program. One program, several stacks; each stack's `role` config says what it deploys:
//   target — CrossAccountRoles in a target account (one stack per target account/stage);
//   tools  — DeploymentPipeline in the tools account, reading every target stack through a StackReference;
//   api    — ProductApi, the product API deployed by Pulumi directly.
// Exported as a function so the stack outputs can depend on the role, and so tests can run it under mocks.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { ApiConfig, ConfigError, readStackConfig, StackConfig, TargetConfig, ToolsConfig } from "./config";
import { CrossAccountRoles } from "./components/cross-account-roles";
import { DeploymentPipeline, stageBuildRoleArn } from "./components/deployment-pipeline";
import { driftCheckRoleName } from "./components/domain";
import { regionProblem } from "./components/identifiers";
import { DriftDetection } from "./components/drift-detection";
import { newPermissionsBoundary } from "./components/permissions-boundary";
import { stageCollisionProblems } from "./components/pipeline-model";
import { PRODUCT_API_ROUTES, ProductApi } from "./components/product-api";
import { AccountContext } from "./components/policies";
import { DeployTarget, targetOutputNames } from "./components/target-contract";
import { readTargetStack, TargetStackError } from "./components/target-stack";

/** Where `npm run build` writes the function bundles both deployers ship. */
const BUNDLE_DIR = path.join(__dirname, "build");

function awsRegion(): string {
    const region = new pulumi.Config("aws").get("region") ?? "";
    const problem = regionProblem("aws:region", region);
    if (problem) throw new ConfigError([`${problem} (set it with \`pulumi config set aws:region <region>\`)`]);
    return region;
}

function stageTag(config: StackConfig): string {
    return config.role === "tools" ? "tools" : config.stage;
}

/**
 * The AWS provider every resource of the stack uses: the stack's region and credentials, and default tags
 * so that every taggable resource says which project, stack and stage it belongs to.
 */
function stackProvider(config: StackConfig, region: string): aws.Provider {
    const awsConfig = new pulumi.Config("aws");
    return new aws.Provider("aws", {
        region,
        profile: awsConfig.get("profile"),
        // Refuses to run with credentials of any other account (set in Pulumi.<stack>.yaml).
        allowedAccountIds: awsConfig.getObject<string[]>("allowedAccountIds"),
        defaultTags: {
            tags: {
                project: pulumi.getProject(),
                stack: pulumi.getStack(),
                stage: stageTag(config),
                "managed-by": "pulumi",
            },
        },
    });
}

function accountContext(provider: aws.Provider, region: string): pulumi.Output<AccountContext> {
    const identity = aws.getCallerIdentityOutput({}, { provider });
    const partition = aws.getPartitionOutput({}, { provider });
    return pulumi.all([identity.accountId, partition.partition]).apply(([accountId, p]) => ({ partition: p, accountId, region }));
}

function targetStack(config: TargetConfig, provider: aws.Provider, region: string) {
    const roles = new CrossAccountRoles(
        "cross-account",
        {
            stage: config.stage,
            toolsAccountId: config.toolsAccountId,
            buildRolePrefix: config.pipelineBuildRoleName,
            deployer: config.deployer,
            account: accountContext(provider, region),
        },
        { providers: { aws: provider } },
    );
    // The target → tools contract (components/target-contract.ts): one stack output per name.
    return Object.fromEntries(
        targetOutputNames(config.deployer).map((name) => [
            name,
            roles.outputs.apply((o) => (o as unknown as Record<string, string>)[name]),
        ]),
    );
}

async function toolsStack(config: ToolsConfig, provider: aws.Provider, region: string) {
    // The tools account itself (a plain invoke, not an Output: the stage build role ARNs are needed to check the targets).
    const [identity, partition] = await Promise.all([aws.getCallerIdentity({}, { provider }), aws.getPartition({}, { provider })]);
    const ctx: AccountContext = { partition: partition.partition, accountId: identity.accountId, region };
    const targets: DeployTarget[] = [];
    for (const [index, stage] of config.stages.entries()) {
        const outputs = await readTargetStack(stage, index, {
            buildRoleArn: stageBuildRoleArn(ctx, config.buildRoleName, stage.name),
            deployer: config.deployer.kind,
        });
        targets.push({ ...outputs, approval: stage.approval, smokeTest: stage.smokeTest, rollbackOnFailure: stage.rollbackOnFailure });
    }
    const collisions = stageCollisionProblems(targets);
    if (collisions.length > 0) throw new TargetStackError(collisions);

    const pipeline = new DeploymentPipeline(
        "pipeline",
        {
            source: config.source,
            branch: config.branch,
            buildRolePrefix: config.buildRoleName,
            targets,
            deployer: config.deployer,
            account: ctx,
            logRetentionDays: config.logRetentionDays,
            notificationEmails: config.notificationEmails,
        },
        { providers: { aws: provider } },
    );
    const serverlessTargets = targets.flatMap((t) => (t.deployer === "serverless" ? [t] : []));
    const drift =
        config.driftSchedule === undefined || serverlessTargets.length === 0
            ? undefined
            : new DriftDetection(
                  "drift",
                  {
                      schedule: config.driftSchedule,
                      targets: serverlessTargets,
                      roleName: driftCheckRoleName(config.buildRoleName),
                      notificationTopicArn: pipeline.notificationTopicArn,
                      keyArn: pipeline.key.arn,
                      deployKit: {
                          bucketName: pipeline.assetsBucket.bucketName,
                          bucketArn: pipeline.assetsBucket.arn,
                          key: pipeline.deployKit.key,
                          sha256: pipeline.deployKitSha256,
                      },
                      account: ctx,
                      logRetentionDays: config.logRetentionDays,
                  },
                  { providers: { aws: provider } },
              );
    return {
        pipelineName: pipeline.pipelineName,
        cloneUrlHttp: pipeline.cloneUrlHttp,
        buildRoleArns: pipeline.buildRoleArns,
        artifactBucketName: pipeline.artifactBucketName,
        notificationTopicArn: pipeline.notificationTopicArn,
        stages: config.stages.map((s) => s.name),
        deployer: config.deployer.kind,
        driftCheckProject: drift?.projectName ?? "off",
    };
}

function apiStack(config: ApiConfig, provider: aws.Provider, region: string) {
    const missing = PRODUCT_API_ROUTES.map((r) => path.join(BUNDLE_DIR, `${r.bundle}.zip`)).filter((zip) => !fs.existsSync(zip));
    if (missing.length > 0) {
        throw new ConfigError([`function bundles missing (${missing.join(", ")}): run \`npm run build\` before \`pulumi up\``]);
    }
    const account = accountContext(provider, region);
    // Deployed by the pipeline (pulumi deployer), the function role gets the target stack's boundary, which the
    // deploy role may only create roles with; deployed by hand, the stack brings its own.
    const permissionsBoundaryArn =
        config.permissionsBoundaryArn ??
        newPermissionsBoundary("api-permissions-boundary", { stage: config.stage, account }, { provider }).arn;
    const api = new ProductApi(
        "product-api",
        {
            stage: config.stage,
            account,
            permissionsBoundaryArn,
            logRetentionDays: config.logRetentionDays,
            bundleDir: BUNDLE_DIR,
        },
        { providers: { aws: provider } },
    );
    return { url: api.url, tableName: api.tableName, stage: config.stage };
}

export = async () => {
    // every key set in this project's namespace, so that a misspelt one is refused instead of ignored
    const namespace = `${pulumi.getProject()}:`;
    const setKeys = Object.keys(pulumi.runtime.allConfig())
        .filter((key) => key.startsWith(namespace))
        .map((key) => key.slice(namespace.length));
    const config = readStackConfig((key) => new pulumi.Config().get(key), setKeys);
    const region = awsRegion();
    const provider = stackProvider(config, region);
    switch (config.role) {
        case "target":
            return targetStack(config, provider, region);
        case "tools":
            return toolsStack(config, provider, region);
        case "api":
            return apiStack(config, provider, region);
    }
};
