// The drift check (the tools account's schedule, drift project): for every target stage, assume the target's
// read-only drift role through a profile (./profile.ts), run CloudFormation drift detection on its stack, and publish
// one message per drifted stage to the pipeline's topic with the build's own credentials. A stage in sync publishes
// nothing. A stage that cannot be checked is published too and fails the build, so a broken check never passes for
// "no drift".
import { serviceNames } from "../components/naming";
import { DRIFT_TARGETS_VARIABLE, parseTargetOutputs, TargetOutputsOf } from "../components/target-contract";
import { topicArnProblem } from "../components/identifiers";
import { aws, sleep } from "./aws-cli";
import { useRoleProfile } from "./profile";

export interface DriftOptions {
    readonly targets: readonly TargetOutputsOf<"serverless">[];
    readonly topicArn: string;
    readonly buildNumber: string;
    readonly pollMs: number;
    readonly timeoutMs: number;
    readonly log: (line: string) => void;
    readonly error: (line: string) => void;
}

/** The drift check's inputs from its environment; throws one message naming every problem. */
export function driftOptionsFromEnvironment(env: NodeJS.ProcessEnv, log: DriftOptions["log"], error: DriftOptions["error"]): DriftOptions {
    let raw: unknown;
    try {
        raw = JSON.parse(env[DRIFT_TARGETS_VARIABLE] ?? "");
    } catch {
        throw new Error(`${DRIFT_TARGETS_VARIABLE} must be a JSON list of target stack outputs (set by the tools stack)`);
    }
    if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${DRIFT_TARGETS_VARIABLE} must list at least one target stage`);
    const problems: string[] = [];
    const targets = raw.flatMap((entry, i) => {
        const parsed = parseTargetOutputs(typeof entry === "object" && entry !== null ? entry : {}, `${DRIFT_TARGETS_VARIABLE}[${i}]`);
        problems.push(...parsed.problems);
        if (parsed.outputs && parsed.outputs.deployer !== "serverless")
            problems.push(`${DRIFT_TARGETS_VARIABLE}[${i}] is not a serverless target`);
        return parsed.outputs?.deployer === "serverless" ? [parsed.outputs] : [];
    });
    const topicArn = env.NOTIFICATION_TOPIC_ARN ?? "";
    const topicProblem = topicArnProblem("NOTIFICATION_TOPIC_ARN", topicArn);
    if (topicProblem) problems.push(topicProblem);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    return {
        targets,
        topicArn,
        buildNumber: env.CODEBUILD_BUILD_NUMBER ?? "local",
        pollMs: Number(env.DRIFT_POLL_SECONDS ?? 5) * 1000,
        timeoutMs: Number(env.DRIFT_TIMEOUT_SECONDS ?? 900) * 1000,
        log,
        error,
    };
}

interface Drift {
    LogicalResourceId: string;
    ResourceType: string;
    PhysicalResourceId?: string;
    StackResourceDriftStatus: string;
    PropertyDifferences?: { PropertyPath: string; ExpectedValue?: string; ActualValue?: string; DifferenceType: string }[];
}

/** Checks every target; returns the number of stages that could not be checked (the build fails when > 0). */
export async function checkDrift(o: DriftOptions): Promise<number> {
    const topicRegion = o.topicArn.split(":")[3];
    let failures = 0;
    const publish = async (subject: string, message: string) => {
        try {
            await aws(["sns", "publish", "--topic-arn", o.topicArn, "--subject", subject.slice(0, 100), "--message", message], {
                region: topicRegion,
            });
        } catch (error) {
            failures++;
            o.error(`could not publish "${subject}" to ${o.topicArn}: ${(error as Error).message}`);
        }
    };
    for (const target of o.targets) {
        const stack = serviceNames(target.stage).stack;
        const profile = `drift-${target.stage}`;
        try {
            await useRoleProfile({
                profile,
                roleArn: target.driftRoleArn,
                accountId: target.accountId,
                region: target.region,
                sessionName: `drift-${o.buildNumber}-${target.stage}`,
            });
        } catch (error) {
            failures++;
            const reason = (error as Error).message;
            o.error(`${target.stage}: cannot assume ${target.driftRoleArn}: ${reason}`);
            await publish(
                `Drift check failed: ${target.serviceName} ${target.stage}`,
                `The drift check could not assume ${target.driftRoleArn}:\n${reason}`,
            );
            continue;
        }
        try {
            const result = await detect(target, profile, stack, o);
            if (result.drifts.length === 0) {
                o.log(`${target.stage}: ${stack} is in sync with its template`);
                continue;
            }
            o.log(`${target.stage}: ${stack} has drifted (${result.drifts.map((d) => d.LogicalResourceId).join(", ")})`);
            await publish(
                `Drift: ${target.serviceName} ${target.stage} (${target.accountId})`,
                describeDrift(target, stack, result, o.buildNumber),
            );
        } catch (error) {
            failures++;
            o.error(`${target.stage}: ${(error as Error).message}`);
            await publish(
                `Drift check failed: ${target.serviceName} ${target.stage}`,
                `Drift detection on ${stack} in account ${target.accountId} failed:\n${(error as Error).message}`,
            );
        }
    }
    return failures;
}

async function detect(target: TargetOutputsOf<"serverless">, profile: string, stack: string, o: DriftOptions) {
    const call = <T = any>(args: string[]) => aws<T>(args, { profile, region: target.region });
    const { StackDriftDetectionId: id } = await call<{ StackDriftDetectionId: string }>([
        "cloudformation",
        "detect-stack-drift",
        "--stack-name",
        stack,
    ]);
    const started = Date.now();
    let status: { DetectionStatus: string; StackDriftStatus?: string; DetectionStatusReason?: string };
    for (;;) {
        status = await call(["cloudformation", "describe-stack-drift-detection-status", "--stack-drift-detection-id", id]);
        if (status.DetectionStatus !== "DETECTION_IN_PROGRESS") break;
        if (Date.now() - started > o.timeoutMs) throw new Error(`drift detection ${id} still in progress after ${o.timeoutMs / 1000} s`);
        await sleep(o.pollMs);
    }
    // DETECTION_FAILED: some resources could not be checked; what was checked still counts, and is reported.
    const incomplete = status.DetectionStatus === "DETECTION_FAILED" ? (status.DetectionStatusReason ?? "no reason given") : undefined;
    if (status.StackDriftStatus !== "DRIFTED") {
        if (incomplete) throw new Error(`drift detection ${id} failed: ${incomplete}`);
        return { id, drifts: [] as Drift[], incomplete };
    }
    const { StackResourceDrifts: drifts = [] } = await call<{ StackResourceDrifts?: Drift[] }>([
        "cloudformation",
        "describe-stack-resource-drifts",
        "--stack-name",
        stack,
        "--stack-resource-drift-status-filters",
        "MODIFIED",
        "DELETED",
    ]);
    return { id, drifts, incomplete };
}

const quote = (value: string | undefined) => (value === undefined ? "(none)" : JSON.stringify(value));

function describeDrift(
    target: TargetOutputsOf<"serverless">,
    stack: string,
    { id, drifts, incomplete }: { id: string; drifts: Drift[]; incomplete?: string },
    build: string,
): string {
    const lines = [
        `Stack ${stack} in account ${target.accountId} (${target.region}) has drifted from its template: ` +
            `${drifts.length} resource${drifts.length === 1 ? "" : "s"} differ${drifts.length === 1 ? "s" : ""}.`,
        "",
    ];
    for (const d of drifts) {
        lines.push(`${d.LogicalResourceId} (${d.ResourceType}, ${d.PhysicalResourceId ?? "?"}): ${d.StackResourceDriftStatus}`);
        for (const p of d.PropertyDifferences ?? []) {
            lines.push(`  ${p.PropertyPath}: expected ${quote(p.ExpectedValue)}, actual ${quote(p.ActualValue)} (${p.DifferenceType})`);
        }
    }
    if (incomplete) lines.push("", `Some resources could not be checked: ${incomplete}`);
    lines.push(
        "",
        `Drift detection ${id}, drift check build ${build}. The stack no longer matches what the pipeline deployed: ` +
            "undo the change, or make it in the code and let the pipeline deploy it.",
    );
    return lines.join("\n");
}
