// The shipped stacks, evaluated from index.ts under Pulumi's mocks the way a user deploys them: both target
// stacks first (Pulumi.target.yaml, Pulumi.target-prod.yaml), then the tools stack, whose stack references
// return exactly what those targets exported, the api stack (Pulumi.api.yaml), and the dev target set up for the
// pulumi deployer. Once per process.

import * as fs from "fs";
import * as path from "path";
import { MockCloud, runStack, TARGET_ACCOUNT, TOOLS_ACCOUNT } from "./pulumi-mocks";
import { loadStackFile, ROOT } from "./stack-files";

/** Stands for the production account of Pulumi.target-prod.yaml. */
export const PROD_ACCOUNT = "333333333333";
export const TARGET_STACKS = {
    "acme/serverless-cross-account-cicd/target": { file: "Pulumi.target.yaml", accountId: TARGET_ACCOUNT },
    "acme/serverless-cross-account-cicd/target-prod": { file: "Pulumi.target-prod.yaml", accountId: PROD_ACCOUNT },
} as const;

export interface StackRun {
    readonly cloud: MockCloud;
    readonly outputs: Record<string, any>;
}
export interface ShippedStacks {
    /** Target stacks by fully qualified name. */
    readonly targets: Record<keyof typeof TARGET_STACKS, StackRun>;
    readonly target: StackRun;
    readonly tools: StackRun;
    readonly api: StackRun;
    /** Pulumi.target.yaml set up for the pulumi deployer (`deployer: pulumi`). */
    readonly targetForPulumi: StackRun;
    /** The same for both targets, and the tools stack deploying them with the pulumi deployer. */
    readonly pulumiDeployer: { readonly targets: Record<keyof typeof TARGET_STACKS, StackRun>; readonly tools: StackRun };
}

/** Stands for the SHA-256 of the Pulumi CLI archive in the pulumi deployer's tools stack (the tests install a fake). */
export const PULUMI_CLI_SHA256_EXAMPLE = "0123456789abcdef".repeat(4);

/** index.ts's api stack refuses to run without the function bundles; build them only when absent. */
export async function ensureBundles(): Promise<void> {
    const missing = ["create-product", "find-product"].some((b) => !fs.existsSync(path.join(ROOT, "build", `${b}.zip`)));
    if (missing) {
        const { buildFunctions } = await import("../../scripts/build-functions");
        await buildFunctions({ quiet: true });
    }
}

async function evaluate(): Promise<ShippedStacks> {
    const targets = {} as Record<keyof typeof TARGET_STACKS, StackRun>;
    for (const [name, { file, accountId }] of Object.entries(TARGET_STACKS) as [
        keyof typeof TARGET_STACKS,
        { file: string; accountId: string },
    ][]) {
        targets[name] = await runStack({ stack: path.basename(name), accountId, config: loadStackFile(file) });
    }
    const stackOutputs = Object.fromEntries(Object.entries(targets).map(([name, run]) => [name, run.outputs]));
    const tools = await runStack({ stack: "tools", accountId: TOOLS_ACCOUNT, config: loadStackFile("Pulumi.tools.yaml"), stackOutputs });
    await ensureBundles();
    const api = await runStack({ stack: "api", accountId: TARGET_ACCOUNT, config: loadStackFile("Pulumi.api.yaml") });
    const pulumiTargets = {} as Record<keyof typeof TARGET_STACKS, StackRun>;
    for (const [name, { file, accountId }] of Object.entries(TARGET_STACKS) as [
        keyof typeof TARGET_STACKS,
        { file: string; accountId: string },
    ][]) {
        const config = { ...loadStackFile(file), "serverless-cross-account-cicd:deployer": "pulumi" };
        pulumiTargets[name] = await runStack({ stack: path.basename(name), accountId, config });
    }
    const pulumiTools = await runStack({
        stack: "tools",
        accountId: TOOLS_ACCOUNT,
        config: {
            ...loadStackFile("Pulumi.tools.yaml"),
            "serverless-cross-account-cicd:deployer": "pulumi",
            "serverless-cross-account-cicd:pulumiCliSha256": PULUMI_CLI_SHA256_EXAMPLE,
        },
        stackOutputs: Object.fromEntries(Object.entries(pulumiTargets).map(([name, run]) => [name, run.outputs])),
    });
    return {
        targets,
        target: targets["acme/serverless-cross-account-cicd/target"],
        tools,
        api,
        targetForPulumi: pulumiTargets["acme/serverless-cross-account-cicd/target"],
        pulumiDeployer: { targets: pulumiTargets, tools: pulumiTools },
    };
}

let shipped: Promise<ShippedStacks> | undefined;

/** The shipped stacks; evaluated once per process (tests only read the recorded resources). */
export function shippedStacks(): Promise<ShippedStacks> {
    shipped ??= evaluate();
    shipped.catch(() => (shipped = undefined));
    return shipped;
}

/**
 * Tools-stack config for `n` deploy stages, each with its own (synthetic) target stack whose outputs are the
 * given target's, renamed for that stage and account: the scale test and the benchmark use it.
 */
export function syntheticStages(n: number, target: Record<string, unknown>) {
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    const stages = [];
    for (let i = 0; i < n; i++) {
        const name = `s${i}`;
        const account = String(400000000000 + i);
        const stack = `acme/serverless-cross-account-cicd/target-${name}`;
        stackOutputs[stack] = {
            ...target,
            stage: name,
            accountId: account,
            deployRoleArn: `arn:aws:iam::${account}:role/deploy-product-catalog-service-${name}`,
        };
        stages.push({ name, targetStack: stack, approval: i > 0, smokeTest: i === n - 1 ? "read-only" : "full" });
    }
    return { stages, stackOutputs };
}
