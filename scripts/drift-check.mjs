#!/usr/bin/env node
// Drift check (buildspec-drift.yml, on the tools account's schedule): for every target stage, assume its deploy
// role through an AWS config profile (scripts/assume-deploy-role.sh: no credential passes through this process),
// run CloudFormation drift detection on stack <service>-<stage>, and publish one message per drifted stage to the
// pipeline's topic, with the build's own credentials. A stage in sync publishes nothing. A stage that cannot be
// checked publishes that too, and the build fails, so a broken check does not pass for "no drift".
//
// Env (required): DRIFT_TARGETS (JSON: [{"stage","accountId","region","deployRoleArn"}, ...]), SERVICE_NAME,
//   NOTIFICATION_TOPIC_ARN.
// Env (optional): DRIFT_POLL_SECONDS (5), DRIFT_TIMEOUT_SECONDS (900), CODEBUILD_BUILD_NUMBER, and those of
//   assume-deploy-role.sh (DEPLOY_CREDENTIAL_SOURCE, AWS_CONFIG_FILE).
// Exit: 0 every stage checked (drifted or not); 1 a stage could not be checked; 2 bad environment.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const log = (line) => console.log(`drift-check: ${line}`);
const fail = (message, code = 2) => {
    console.error(`drift-check: ERROR: ${message}`);
    process.exit(code);
};

function readTargets() {
    let targets;
    try {
        targets = JSON.parse(process.env.DRIFT_TARGETS ?? "");
    } catch {
        fail('DRIFT_TARGETS must be JSON: [{"stage", "accountId", "region", "deployRoleArn"}, ...]');
    }
    if (!Array.isArray(targets) || targets.length === 0) fail("DRIFT_TARGETS must list at least one target stage");
    targets.forEach((t, i) => {
        for (const key of ["stage", "accountId", "region", "deployRoleArn"]) {
            if (typeof t?.[key] !== "string" || t[key] === "") fail(`DRIFT_TARGETS[${i}] has no "${key}"`);
        }
        if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(t.stage) || t.stage.length > 16)
            fail(`DRIFT_TARGETS[${i}].stage "${t.stage}" is not a stage name`);
    });
    return targets;
}

const service = process.env.SERVICE_NAME ?? "";
const topicArn = process.env.NOTIFICATION_TOPIC_ARN ?? "";
if (!/^[A-Za-z0-9-]+$/.test(service)) fail("SERVICE_NAME is not set");
const topic = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):[A-Za-z0-9_-]+$/.exec(topicArn);
if (!topic) fail(`NOTIFICATION_TOPIC_ARN '${topicArn}' is not an SNS topic ARN`);
const targets = readTargets();
const pollMs = Number(process.env.DRIFT_POLL_SECONDS ?? 5) * 1000;
const timeoutMs = Number(process.env.DRIFT_TIMEOUT_SECONDS ?? 900) * 1000;
const build = process.env.CODEBUILD_BUILD_NUMBER ?? "local";

/** The AWS CLI, JSON out; throws with the CLI's own message. */
function aws(args) {
    try {
        const out = execFileSync("aws", [...args, "--output", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        return out.trim() === "" ? {} : JSON.parse(out);
    } catch (error) {
        throw new Error((error.stderr || error.message || String(error)).trim());
    }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quote = (value) => (value === undefined ? "(none)" : JSON.stringify(value));

let failures = 0;

/** Publishes to the topic; a message that cannot be published fails the build (and says why). */
function publish(subject, message) {
    try {
        aws(["sns", "publish", "--region", topic[1], "--topic-arn", topicArn, "--subject", subject.slice(0, 100), "--message", message]);
    } catch (error) {
        failures++;
        console.error(`drift-check: could not publish "${subject}" to ${topicArn}: ${error.message}`);
    }
}

/** Detects drift on one stage's stack; returns the drifted resources ([] in sync). Throws when it cannot tell. */
async function detect(target, profile, stack) {
    const region = ["--profile", profile, "--region", target.region];
    const { StackDriftDetectionId: id } = aws(["cloudformation", "detect-stack-drift", "--stack-name", stack, ...region]);
    const started = Date.now();
    let status;
    for (;;) {
        status = aws(["cloudformation", "describe-stack-drift-detection-status", "--stack-drift-detection-id", id, ...region]);
        if (status.DetectionStatus !== "DETECTION_IN_PROGRESS") break;
        if (Date.now() - started > timeoutMs) throw new Error(`drift detection ${id} still in progress after ${timeoutMs / 1000} s`);
        await sleep(pollMs);
    }
    // DETECTION_FAILED: some resources could not be checked; what was checked still counts, and is reported.
    const incomplete = status.DetectionStatus === "DETECTION_FAILED" ? (status.DetectionStatusReason ?? "no reason given") : undefined;
    if (status.StackDriftStatus !== "DRIFTED") {
        if (incomplete) throw new Error(`drift detection ${id} failed: ${incomplete}`);
        return { id, drifts: [], incomplete };
    }
    const { StackResourceDrifts: drifts = [] } = aws([
        "cloudformation",
        "describe-stack-resource-drifts",
        "--stack-name",
        stack,
        "--stack-resource-drift-status-filters",
        "MODIFIED",
        "DELETED",
        ...region,
    ]);
    return { id, drifts, incomplete };
}

function describeDrift(target, stack, { id, drifts, incomplete }) {
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

for (const target of targets) {
    const stack = `${service}-${target.stage}`;
    const profile = `drift-${target.stage}`;
    try {
        execFileSync("bash", [join(here, "assume-deploy-role.sh")], {
            stdio: ["ignore", "inherit", "pipe"],
            env: {
                ...process.env,
                DEPLOY_PROFILE: profile,
                DEPLOY_ROLE_ARN: target.deployRoleArn,
                TARGET_ACCOUNT_ID: target.accountId,
                TARGET_REGION: target.region,
                STAGE: target.stage,
                DEPLOY_SESSION_NAME: `drift-${build}-${target.stage}`,
            },
        });
    } catch (error) {
        failures++;
        const reason = String(error.stderr ?? error.message).trim();
        console.error(`drift-check: ${target.stage}: cannot assume ${target.deployRoleArn}: ${reason}`);
        publish(`Drift check failed: ${service} ${target.stage}`, `The drift check could not assume ${target.deployRoleArn}:\n${reason}`);
        continue;
    }
    try {
        const result = await detect(target, profile, stack);
        if (result.drifts.length === 0) {
            log(`${target.stage}: ${stack} is in sync with its template`);
            continue;
        }
        log(`${target.stage}: ${stack} has drifted (${result.drifts.map((d) => d.LogicalResourceId).join(", ")})`);
        publish(`Drift: ${service} ${target.stage} (${target.accountId})`, describeDrift(target, stack, result));
    } catch (error) {
        failures++;
        console.error(`drift-check: ${target.stage}: ${error.message}`);
        publish(
            `Drift check failed: ${service} ${target.stage}`,
            `Drift detection on ${stack} in account ${target.accountId} failed:\n${error.message}`,
        );
    }
}
if (failures > 0) fail(`${failures} of ${targets.length} stage(s) could not be checked (published to the topic)`, 1);
log(`checked ${targets.length} stage(s)`);
