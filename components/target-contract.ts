// The contract between a target stack and the tools stack, declared once: which outputs a target stack exports
// (per deployer), how each value is checked, and how the pipeline hands a target to its builds. The target stack's
// index.ts returns a `TargetOutputs`; the tools stack reads it back through a StackReference (target-stack.ts) and
// the deploy kit reads it from the build's environment (DEPLOY_TARGET) — the same type and the same checks each
// time. Pure: no Pulumi import, so the deploy kit can bundle it.

import { Deployer, DEPLOYERS, SERVICE_NAME, StageSettings } from "./domain";
import {
    accountIdProblem,
    bucketNameProblem,
    kmsKeyArnProblem,
    policyArnProblem,
    regionProblem,
    roleArnProblem,
    serviceNameProblem,
    stageProblem,
} from "./identifiers";

/** Outputs every target stack exports, whatever its deployer. */
const COMMON_OUTPUTS = [
    "serviceName",
    "stage",
    "accountId",
    "region",
    "deployRoleArn",
    "deploymentBucketName",
    "permissionsBoundaryArn",
    "trustedBuildRoleArn",
] as const;

/**
 * What each deployer adds: the serverless deployer's CloudFormation execution role and read-only drift role (drift
 * detection is CloudFormation's), the pulumi deployer's secrets key.
 */
const DEPLOYER_OUTPUTS = {
    serverless: ["cfnExecutionRoleArn", "driftRoleArn"],
    pulumi: ["pulumiSecretsKeyArn"],
} as const satisfies Record<Deployer, readonly string[]>;

type Strings<K extends readonly string[]> = { readonly [P in K[number]]: string };
export type TargetOutputsOf<D extends Deployer> = Strings<typeof COMMON_OUTPUTS> &
    Strings<(typeof DEPLOYER_OUTPUTS)[D]> & { readonly deployer: D };
/** What a target stack exports, by deployer. */
export type TargetOutputs = { [D in Deployer]: TargetOutputsOf<D> }[Deployer];

type OutputName = (typeof COMMON_OUTPUTS)[number] | (typeof DEPLOYER_OUTPUTS)[Deployer][number];

/** The output names a target stack of `deployer` exports, `deployer` included. */
export const targetOutputNames = (deployer: Deployer): readonly string[] => ["deployer", ...COMMON_OUTPUTS, ...DEPLOYER_OUTPUTS[deployer]];

/** One check per output; ARNs must be in the target's own account, except the tools role it trusts. */
const OUTPUT_CHECKS: { readonly [K in OutputName]: (key: string, value: string, accountId: string) => string | undefined } = {
    serviceName: (key, value) =>
        serviceNameProblem(key, value) ??
        (value === SERVICE_NAME ? undefined : `${key} is "${value}": the target was set up for another service than "${SERVICE_NAME}"`),
    stage: stageProblem,
    accountId: accountIdProblem,
    region: regionProblem,
    deployRoleArn: roleArnProblem,
    deploymentBucketName: bucketNameProblem,
    permissionsBoundaryArn: policyArnProblem,
    trustedBuildRoleArn: (key, value) => roleArnProblem(key, value),
    cfnExecutionRoleArn: roleArnProblem,
    driftRoleArn: roleArnProblem,
    pulumiSecretsKeyArn: kmsKeyArnProblem,
};

/**
 * Reads a target's outputs from untyped values (a StackReference, a build's environment): every problem at once,
 * each naming the output, or the typed outputs. `where` prefixes each problem (e.g. the stack's name).
 */
export function parseTargetOutputs(
    values: Readonly<Record<string, unknown>>,
    where: string,
): { outputs: TargetOutputs; problems: [] } | { outputs?: undefined; problems: string[] } {
    const deployer = values.deployer ?? "serverless"; // target stacks from before deployers existed export none
    if (typeof deployer !== "string" || !DEPLOYERS.includes(deployer as Deployer)) {
        return { problems: [`${where}: output "deployer" must be one of ${DEPLOYERS.join(", ")}; got ${JSON.stringify(deployer)}`] };
    }
    const names = targetOutputNames(deployer as Deployer).filter((n) => n !== "deployer") as OutputName[];
    const missing = names.filter((n) => typeof values[n] !== "string" || values[n] === "");
    if (missing.length > 0) {
        return { problems: [`${where} has no output ${missing.map((m) => `"${m}"`).join(", ")}`] };
    }
    const accountId = values.accountId as string;
    const problems = names
        .map((name) => OUTPUT_CHECKS[name](name, values[name] as string, accountId))
        .filter((p): p is string => p !== undefined)
        .map((p) => `${where}: ${p}`);
    if (problems.length > 0) return { problems };
    const outputs = Object.fromEntries([["deployer", deployer], ...names.map((n) => [n, values[n]])]) as TargetOutputs;
    return { outputs, problems: [] };
}

// ---------------------------------------------------------------------------------------------------------
// The tools side: a target plus how the pipeline promotes to it, and how a build receives it.

/** One deploy target of the pipeline: what its stack exports and the stage's settings in the tools stack. */
export type DeployTarget = TargetOutputs & StageSettings;

/**
 * The environment variable a Deploy (or Plan) build reads its target from: the DeployTarget as JSON, set by the
 * pipeline's action from the tools stack's config. The build's code is the deploy kit of the tools stack, never the
 * commit's, so a commit cannot point its build at another target (and the build role could not assume it anyway).
 */
export const DEPLOY_TARGET_VARIABLE = "DEPLOY_TARGET";

/** The environment variable the drift check reads its targets from: a JSON list of serverless target outputs. */
export const DRIFT_TARGETS_VARIABLE = "DRIFT_TARGETS";

export function deployTargetEnvironment(target: DeployTarget): Record<typeof DEPLOY_TARGET_VARIABLE, string> {
    return { [DEPLOY_TARGET_VARIABLE]: JSON.stringify(target) };
}

/** The DeployTarget a build was given; throws one message listing every problem. */
export function parseDeployTarget(json: string | undefined): DeployTarget {
    let value: unknown;
    try {
        value = JSON.parse(json ?? "");
    } catch {
        throw new Error(
            `${DEPLOY_TARGET_VARIABLE} must be the JSON of a deploy target (set by the pipeline's action); got ${JSON.stringify(json ?? "")}`,
        );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error(`${DEPLOY_TARGET_VARIABLE} must be a JSON object`);
    }
    const record = value as Record<string, unknown>;
    const parsed = parseTargetOutputs(record, DEPLOY_TARGET_VARIABLE);
    if (parsed.outputs === undefined) throw new Error(parsed.problems.join("\n"));
    const { approval, smokeTest, rollbackOnFailure } = record;
    if (typeof approval !== "boolean" || typeof rollbackOnFailure !== "boolean" || (smokeTest !== "full" && smokeTest !== "read-only")) {
        throw new Error(`${DEPLOY_TARGET_VARIABLE} must carry the stage's settings (approval, smokeTest, rollbackOnFailure)`);
    }
    return { ...parsed.outputs, approval, smokeTest, rollbackOnFailure };
}
