import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PipelineStageConfig, SERVICE_NAME } from "../config";

/** Outputs a target stack exports and the tools stack requires. */
export const TARGET_OUTPUTS = [
    "serviceName",
    "stage",
    "accountId",
    "region",
    "deployRoleArn",
    "cfnExecutionRoleArn",
    "deploymentBucketName",
    "permissionsBoundaryArn",
    "trustedBuildRoleArn",
] as const;
export type TargetOutputs = Record<(typeof TARGET_OUTPUTS)[number], string>;

/**
 * Reads a target stack's outputs, failing early with what to do when the stack is missing outputs or was
 * set up for another stage, service or build role.
 */
export async function readTargetStack(stage: PipelineStageConfig, index: number, expectedBuildRoleArn: string): Promise<TargetOutputs> {
    const ref = new pulumi.StackReference(`target-${stage.name}`, { name: stage.targetStack });
    const where = `target stack "${stage.targetStack}" (stages[${index}], "${stage.name}")`;
    const values: Partial<TargetOutputs> = {};
    const missing: string[] = [];
    for (const key of TARGET_OUTPUTS) {
        const details = await ref.getOutputDetails(key);
        const value = details.value ?? details.secretValue;
        if (typeof value === "string" && value !== "") values[key] = value;
        else missing.push(key);
    }
    if (missing.length > 0) {
        throw new ConfigError([
            `${where} has no output ${missing.map((m) => `"${m}"`).join(", ")}. ` +
                `Run \`pulumi up\` on ${stage.targetStack} (config role: target) before the tools stack, ` +
                "and check that stages[].targetStack names it exactly (<organization>/<project>/<stack>).",
        ]);
    }
    const outputs = values as TargetOutputs;
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
