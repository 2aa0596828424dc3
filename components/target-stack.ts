// The tools stack reading a target stack: its outputs through a StackReference, checked against the contract
// (target-contract.ts) and against what this pipeline expects of it, failing early with what to do.
import * as pulumi from "@pulumi/pulumi";
import { Deployer } from "./domain";
import { parseTargetOutputs, TargetOutputs, targetOutputNames } from "./target-contract";

/** A stage of the tools stack's config, as far as reading its target is concerned. */
export interface TargetStackRef {
    /** The stage name the pipeline gives it; must equal the target's `stage` output. */
    readonly name: string;
    /** Fully qualified name of the target stack, `<organization>/<project>/<stack>`. */
    readonly targetStack: string;
}

/**
 * Thrown when a target stack cannot be used by this pipeline; the message says what to do. A RunError, so that
 * Pulumi prints the message alone, without a stack trace of this program.
 */
export class TargetStackError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(problems.join("\n"));
        this.name = "TargetStackError";
    }
}

/** What to check when a target stack cannot be read at all (misnamed, another organization or backend, not up yet). */
export function unreadableTargetStackMessage(stage: TargetStackRef, index: number, reason: string): string {
    return (
        `stages[${index}].targetStack "${stage.targetStack}" (stage "${stage.name}") could not be read: ${reason}\n` +
        "  The name must be <organization>/<project>/<stack>, e.g. acme/serverless-cross-account-cicd/target: with " +
        "Pulumi Cloud the organization is yours (`pulumi org get-default`), with a self-managed backend (s3://, " +
        "file://) it is literally `organization`.\n" +
        "  Check it with `pulumi stack ls --all` on the backend the tools stack uses (every stack must share one " +
        "backend), and run `pulumi up` on that target stack (config role: target) before the tools stack."
    );
}

/**
 * Reads a target stack's outputs, failing with what to do when the stack is missing outputs or was set up for
 * another deployer, stage, service or build role.
 */
export async function readTargetStack(
    stage: TargetStackRef,
    index: number,
    expected: { readonly buildRoleArn: string; readonly deployer: Deployer },
): Promise<TargetOutputs> {
    const ref = new pulumi.StackReference(`target-${stage.name}`, { name: stage.targetStack });
    const where = `target stack "${stage.targetStack}" (stages[${index}], "${stage.name}")`;
    const values: Record<string, unknown> = {};
    try {
        for (const key of targetOutputNames(expected.deployer)) {
            const details = await ref.getOutputDetails(key);
            values[key] = details.value ?? details.secretValue;
        }
    } catch (error) {
        // The engine answers a stack it cannot find by failing the StackReference's read ("unknown stack …").
        throw new TargetStackError([unreadableTargetStackMessage(stage, index, (error as Error).message ?? String(error))]);
    }
    const deployer = values.deployer ?? "serverless";
    if (deployer !== expected.deployer) {
        throw new TargetStackError([
            `${where} is set up for deployer "${String(deployer)}", but this pipeline deploys with "${expected.deployer}": ` +
                `set deployer to the same value in both stacks (the deploy role holds only its deployer's rights)`,
        ]);
    }
    const parsed = parseTargetOutputs(values, where);
    if (parsed.outputs === undefined) {
        throw new TargetStackError([
            ...parsed.problems,
            `Run \`pulumi up\` on ${stage.targetStack} (config role: target) before the tools stack, and check that ` +
                `stages[${index}].targetStack names it exactly (<organization>/<project>/<stack>).`,
        ]);
    }
    const outputs = parsed.outputs;
    const problems: string[] = [];
    if (outputs.stage !== stage.name) {
        problems.push(`${where} deploys stage "${outputs.stage}", not "${stage.name}": fix stages[${index}].name or the target's stage`);
    }
    if (outputs.trustedBuildRoleArn !== expected.buildRoleArn) {
        problems.push(
            `${where} trusts ${outputs.trustedBuildRoleArn}, but this pipeline deploys ${stage.name} as ${expected.buildRoleArn}: ` +
                "set the target's toolsAccountId/pipelineBuildRoleName (or this stack's buildRoleName) so they match",
        );
    }
    if (problems.length > 0) throw new TargetStackError(problems);
    return outputs;
}
