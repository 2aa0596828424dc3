// The shipped stacks, evaluated from index.ts under Pulumi's mocks the way a user deploys them: both target
// stacks first (Pulumi.target.yaml, Pulumi.target-prod.yaml), then the tools stack, whose stack references
// return exactly what those targets exported, the api stack (Pulumi.api.yaml), and the dev target set up for the
// pulumi deployer. Once per process.

import * as fs from "fs";
import * as path from "path";
import { ROUTES } from "../../functions/route-table";
import { MockCloud, runStack, TARGET_ACCOUNT, TOOLS_ACCOUNT } from "./pulumi-mocks";
import { loadStackFile, ROOT, toolsStackWithProd } from "./stack-files";

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
    /** The tools stack with both targets: the shipped file plus the README's production stage. */
    readonly tools: StackRun;
    /** The tools stack exactly as shipped (one stage, dev), with only the dev target deployed. */
    readonly twoAccounts: StackRun;
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
    const missing = ROUTES.some((r) => !fs.existsSync(path.join(ROOT, "build", `${r.bundle}.zip`)));
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
    const tools = await runStack({ stack: "tools", accountId: TOOLS_ACCOUNT, config: toolsStackWithProd(), stackOutputs });
    // the shipped files as they are: the blog's two accounts, tools and one target
    const twoAccounts = await runStack({
        stack: "tools",
        accountId: TOOLS_ACCOUNT,
        config: loadStackFile("Pulumi.tools.yaml"),
        stackOutputs: { "acme/serverless-cross-account-cicd/target": targets["acme/serverless-cross-account-cicd/target"].outputs },
    });
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
            ...toolsStackWithProd(),
            "serverless-cross-account-cicd:deployer": "pulumi",
            "serverless-cross-account-cicd:pulumiCliSha256": PULUMI_CLI_SHA256_EXAMPLE,
        },
        stackOutputs: Object.fromEntries(Object.entries(pulumiTargets).map(([name, run]) => [name, run.outputs])),
    });
    return {
        targets,
        target: targets["acme/serverless-cross-account-cicd/target"],
        tools,
        twoAccounts,
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
 * A target stack's outputs as another stage in another (or the same) account would export them: the stage, the
 * account and every ARN renamed (the deploy, execution and drift roles, the boundary, the secrets key, and the
 * tools build role `<prefix>-<stage>` it trusts), so the tools stack accepts it as that stage's target.
 */
export function targetFor(target: Record<string, unknown>, stage: string, accountId: string): Record<string, unknown> {
    const oldStage = String(target.stage);
    const oldAccount = String(target.accountId);
    const stageSuffix = new RegExp(`-${oldStage}(?=$|[-/])`, "g");
    const renamed = Object.entries(target).map(([k, v]) => {
        if (typeof v !== "string" || !v.startsWith("arn:")) return [k, v];
        const inAccount = k === "trustedBuildRoleArn" ? v : v.replace(`:${oldAccount}:`, `:${accountId}:`);
        return [k, inAccount.replace(stageSuffix, `-${stage}`)];
    });
    return { ...Object.fromEntries(renamed), stage, accountId };
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
        stackOutputs[stack] = targetFor(target, name, account);
        stages.push({ name, targetStack: stack, approval: i > 0, smokeTest: i === n - 1 ? "read-only" : "full" });
    }
    return { stages, stackOutputs };
}
