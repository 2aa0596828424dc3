import * as pulumi from "@pulumi/pulumi";
import { ConfigError, Deployer, PipelineStageConfig, SERVICE_NAME } from "../config";

/** Outputs every target stack exports and the tools stack requires. */
export const TARGET_OUTPUTS = [
    "serviceName",
    "stage",
    "accountId",
    "region",
    "deployRoleArn",
    "deploymentBucketName",
    "permissionsBoundaryArn",
    "trustedBuildRoleArn",
] as const;
/** What each deployer needs on top. */
export const DEPLOYER_OUTPUTS = { serverless: ["cfnExecutionRoleArn"], pulumi: ["pulumiSecretsKeyArn"] } as const;

type Common = Record<(typeof TARGET_OUTPUTS)[number], string>;
export type TargetOutputs =
    (Common & { deployer: "serverless"; cfnExecutionRoleArn: string }) | (Common & { deployer: "pulumi"; pulumiSecretsKeyArn: string });

/**
 * Reads a target stack's outputs, failing early with what to do when the stack is missing outputs or was
 * set up for another stage, service or build role.
 */
export async function readTargetStack(
    stage: PipelineStageConfig,
    index: number,
    expectedBuildRoleArn: string,
    deployer: Deployer,
): Promise<TargetOutputs> {
    const ref = new pulumi.StackReference(`target-${stage.name}`, { name: stage.targetStack });
    const where = `target stack "${stage.targetStack}" (stages[${index}], "${stage.name}")`;
    const read = async (key: string) => {
        const details = await ref.getOutputDetails(key);
        const value = details.value ?? details.secretValue;
        return typeof value === "string" && value !== "" ? value : undefined;
    };
    // A target stack from before deployers existed exports none and is a serverless target.
    const targetDeployer = (await read("deployer")) ?? "serverless";
    if (targetDeployer !== deployer) {
        throw new ConfigError([
            `${where} is set up for deployer "${targetDeployer}", but this pipeline deploys with "${deployer}": ` +
                `set deployer to the same value in both stacks (the deploy role holds only its deployer's rights)`,
        ]);
    }
    const values: Record<string, string> = { deployer };
    const missing: string[] = [];
    for (const key of [...TARGET_OUTPUTS, ...DEPLOYER_OUTPUTS[deployer]]) {
        const value = await read(key);
        if (value !== undefined) values[key] = value;
        else missing.push(key);
    }
    if (missing.length > 0) {
        throw new ConfigError([
            `${where} has no output ${missing.map((m) => `"${m}"`).join(", ")}. ` +
                `Run \`pulumi up\` on ${stage.targetStack} (config role: target) before the tools stack, ` +
                "and check that stages[].targetStack names it exactly (<organization>/<project>/<stack>).",
        ]);
    }
    const outputs = values as unknown as TargetOutputs;
    const problems: string[] = [];
    if (outputs.stage !== stage.name) {
        problems.push(`${where} deploys stage "${outputs.stage}", not "${stage.name}": fix stages[${index}].name or the target's stage`);
    }
    if (outputs.serviceName !== SERVICE_NAME) {
        problems.push(`${where} was set up for service "${outputs.serviceName}", not "${SERVICE_NAME}"`);
    }
    if (outputs.trustedBuildRoleArn !== expectedBuildRoleArn) {
        problems.push(
            `${where} trusts ${outputs.trustedBuildRoleArn}, but this pipeline builds as ${expectedBuildRoleArn}: ` +
                "set the target's toolsAccountId/pipelineBuildRoleName (or this stack's buildRoleName) so they match",
        );
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return outputs;
}
