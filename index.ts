// The Pulumi program. One program, several stacks; each stack's `role` config says what it deploys:
//   target — CrossAccountRoles in a target account (one stack per target account/stage);
//   tools  — DeploymentPipeline in the tools account, reading every target stack through a StackReference;
//   api    — ProductApi, the product API deployed by Pulumi directly.
// Exported as a function so the stack outputs can depend on the role, and so tests can run it under mocks.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { ApiConfig, ConfigError, driftRoleName, readStackConfig, SERVICE_NAME, StackConfig, TargetConfig, ToolsConfig } from "./config";
import { CrossAccountRoles } from "./components/cross-account-roles";
import { DeploymentPipeline, DeployTarget } from "./components/deployment-pipeline";
import { DriftDetection } from "./components/drift-detection";
import { newPermissionsBoundary } from "./components/permissions-boundary";
import { PRODUCT_API_ROUTES, ProductApi } from "./components/product-api";
import { AccountContext, arns } from "./components/policies";
import { readTargetStack, TARGET_OUTPUTS } from "./components/target-stack";

/** Where `npm run build` writes the function bundles both deployers ship. */
const BUNDLE_DIR = path.join(__dirname, "build");

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;

function awsRegion(): string {
    const region = new pulumi.Config("aws").get("region") ?? "";
    if (!REGION.test(region)) {
        throw new ConfigError([
            `aws:region must be an AWS region such as "us-east-1"; got ${JSON.stringify(region)} ` +
                "(set it with `pulumi config set aws:region <region>`)",
        ]);
    }
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
    const account = accountContext(provider, region);
    const roles = new CrossAccountRoles(
        "cross-account",
        {
            stage: config.stage,
            toolsAccountId: config.toolsAccountId,
            pipelineBuildRoleName: config.pipelineBuildRoleName,
            deployer: config.deployer,
            account,
        },
        { providers: { aws: provider } },
    );
    const common: Record<(typeof TARGET_OUTPUTS)[number], pulumi.Input<string>> = {
        serviceName: SERVICE_NAME,
        stage: config.stage,
        accountId: account.accountId,
        region,
        deployRoleArn: roles.deployRoleArn,
        deploymentBucketName: roles.deploymentBucketName,
        permissionsBoundaryArn: roles.permissionsBoundaryArn,
        trustedBuildRoleArn: roles.trustedBuildRoleArn,
    };
    return config.deployer === "serverless"
        ? { ...common, deployer: config.deployer, cfnExecutionRoleArn: roles.cfnExecutionRoleArn! }
        : { ...common, deployer: config.deployer, pulumiSecretsKeyArn: roles.pulumiSecretsKeyArn! };
}

async function toolsStack(config: ToolsConfig, provider: aws.Provider, region: string) {
    const account = accountContext(provider, region);
    const ctx = await new Promise<AccountContext>((resolve) => account.apply(resolve));
    const buildRoleArn = arns.role(ctx, config.buildRoleName);
    const targets: DeployTarget[] = [];
    for (const [index, stage] of config.stages.entries()) {
        const outputs = await readTargetStack(stage, index, buildRoleArn, config.deployer);
        targets.push({
            stage: outputs.stage,
            accountId: outputs.accountId,
            region: outputs.region,
            deployRoleArn: outputs.deployRoleArn,
            deploymentBucketName: outputs.deploymentBucketName,
            permissionsBoundaryArn: outputs.permissionsBoundaryArn,
            ...(outputs.deployer === "serverless"
                ? { cfnExecutionRoleArn: outputs.cfnExecutionRoleArn }
                : { pulumiSecretsKeyArn: outputs.pulumiSecretsKeyArn }),
            approval: stage.approval,
            smokeTest: stage.smokeTest,
            rollbackOnFailure: stage.rollbackOnFailure,
        });
    }
    const pipeline = new DeploymentPipeline(
        "pipeline",
        {
            source: config.source,
            branch: config.branch,
            buildRoleName: config.buildRoleName,
            targets,
            account,
            logRetentionDays: config.logRetentionDays,
            notificationEmails: config.notificationEmails,
            deployer: config.deployer,
            pulumiCli: config.pulumiCli,
        },
        { providers: { aws: provider } },
    );
    const drift =
        config.driftSchedule === undefined
            ? undefined
            : new DriftDetection(
                  "drift",
                  {
                      schedule: config.driftSchedule,
                      targets: targets.map(({ stage, accountId, region, deployRoleArn }) => ({ stage, accountId, region, deployRoleArn })),
                      roleName: driftRoleName(config.buildRoleName),
                      notificationTopicArn: pipeline.notificationTopicArn,
                      keyArn: pipeline.key.arn,
                      sourceBucket: pipeline.artifactBucketName,
                      sourceBucketArn: pipeline.artifactBucket.arn,
                      account,
                      logRetentionDays: config.logRetentionDays,
                  },
                  { providers: { aws: provider } },
              );
    return {
        pipelineName: pipeline.pipelineName,
        cloneUrlHttp: pipeline.cloneUrlHttp,
        buildRoleArn: pipeline.buildRoleArn,
        artifactBucketName: pipeline.artifactBucketName,
        notificationTopicArn: pipeline.notificationTopicArn,
        stages: config.stages.map((s) => s.name),
        deployer: config.deployer,
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
    const config = readStackConfig((key) => new pulumi.Config().get(key));
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
