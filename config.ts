// Stack configuration: read, validate and type it in one place.
//
// Every stack of this project runs the same program; `role` in its config says which part it deploys:
//   target — the cross-account roles and deployment bucket in an account the pipeline deploys to;
//   tools  — the pipeline in the central tools account;
//   api    — the product API deployed directly by Pulumi (no pipeline).
// All problems are collected and reported together, each naming the key and what a valid value looks like,
// so a bad `Pulumi.<stack>.yaml` fails before any resource is touched.

import {
    DEFAULT_BUILD_ROLE_PREFIX,
    DEFAULT_PULUMI_CLI_VERSION,
    Deployer,
    DEPLOYERS,
    DeployerSettings,
    driftCheckRoleName,
    LOG_RETENTION_DAYS,
    RESERVED_STAGE_NAMES,
    SERVICE_NAME,
    SMOKE_TEST_MODES,
    SmokeTestMode,
    SourceConfig,
    stageBuildRoleName,
    StageSettings,
} from "./components/domain";
import {
    accountIdProblem,
    policyArnProblem,
    releaseVersionProblem,
    roleNameProblem,
    sha256Problem,
    stageProblem,
} from "./components/identifiers";
import { TargetStackRef } from "./components/target-stack";
import * as pulumi from "@pulumi/pulumi";
import { load as loadYaml } from "js-yaml";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type StackRole = "tools" | "target" | "api";

interface CommonConfig {
    /** Retention of every log group the stack creates. */
    readonly logRetentionDays: number;
}

export interface TargetConfig extends CommonConfig {
    readonly role: "target";
    /** Stage deployed into this account, e.g. `dev`; part of every resource name of the service. */
    readonly stage: string;
    /** The tools account whose pipeline deploys here. */
    readonly toolsAccountId: string;
    /** Prefix of the tools account's build roles: the deploy role trusts `<prefix>-<stage>`, the drift role `<prefix>-drift`. */
    readonly pipelineBuildRoleName: string;
    /** What the pipeline deploys with; the deploy role gets exactly the rights that deployer needs. */
    readonly deployer: Deployer;
}

/** One deploy stage of the tools stack: its target stack and how the pipeline promotes to it. */
export interface PipelineStageConfig extends TargetStackRef, StageSettings {}

export interface ToolsConfig extends CommonConfig {
    readonly role: "tools";
    readonly source: SourceConfig;
    /** Branch whose pushes start the pipeline. */
    readonly branch: string;
    /** E-mail addresses subscribed to the pipeline's notifications (each must confirm by e-mail). */
    readonly notificationEmails: readonly string[];
    /** Prefix of the build roles: each stage's is `<prefix>-<stage>`, the drift check's `<prefix>-drift`. */
    readonly buildRoleName: string;
    /** Deploy stages in order. */
    readonly stages: readonly PipelineStageConfig[];
    /** What the Deploy actions run (every target stack must be set up for the same deployer) and what they need. */
    readonly deployer: DeployerSettings;
    /** When drift detection runs (an EventBridge schedule expression), or undefined when it is off. */
    readonly driftSchedule: string | undefined;
}

export interface ApiConfig extends CommonConfig {
    readonly role: "api";
    readonly stage: string;
    /**
     * An existing permissions boundary for the function role (the target stack's, when the pipeline's pulumi
     * deployer runs this stack); unset: the stack creates its own.
     */
    readonly permissionsBoundaryArn: string | undefined;
}

export type StackConfig = TargetConfig | ToolsConfig | ApiConfig;

/**
 * Thrown when stack config is invalid; the message lists every problem found. A RunError: the engine prints a
 * program's RunError as its message alone, without a JavaScript stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                `\n${configHint(problems)}`,
        );
        this.name = "ConfigError";
    }
}

/** How to fix what was found: the hint fits the keys the problems name. */
function configHint(problems: readonly string[]): string {
    const hints: string[] = [];
    if (problems.some((p) => /^stages\b/.test(p))) {
        hints.push("`stages` is a list: edit it in Pulumi.<stack>.yaml, or `pulumi config set --path 'stages[0].name' dev`");
    }
    if (problems.some((p) => !/^stages\b/.test(p) && !/is not a configuration key/.test(p))) {
        hints.push("set a value with `pulumi config set <key> <value>` in this stack");
    }
    hints.push("Pulumi.yaml describes every key");
    return `To fix: ${hints.join("; ")}.`;
}

/** Named drift schedules; anything else must be an EventBridge rate() or cron() expression. */
export const DRIFT_SCHEDULES: Record<string, string> = { daily: "rate(1 day)", hourly: "rate(1 hour)" };

/** Reads one raw config value (as `pulumi.Config#get` does); `undefined` when unset. */
export type ConfigSource = (key: string) => string | undefined;

// ---- validators: each returns a problem message, or undefined when the value is valid ----

// git check-ref-format rules for a branch name, plus a length limit CodePipeline enforces.
export function branchProblem(key: string, value: string): string | undefined {
    const bad =
        value.length === 0 ||
        value.length > 255 ||
        /[\x00-\x20\x7f~^:?*[\\]/.test(value) ||
        value.includes("..") ||
        value.includes("@{") ||
        value.includes("//") ||
        value === "@" ||
        value.startsWith("/") ||
        value.endsWith("/") ||
        value.endsWith(".") ||
        value.endsWith(".lock") ||
        value.startsWith("-") ||
        value.split("/").some((part) => part.startsWith("."));
    return bad
        ? `${key} must be a valid git branch name such as "main" or "release/1.x" (no spaces, "..", "~^:?*[\\", ` +
              `leading "-" or "/", trailing "/", "." or ".lock"); got ${JSON.stringify(value)}`
        : undefined;
}

const REPOSITORY_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export function repositoryNameProblem(key: string, value: string): string | undefined {
    return REPOSITORY_NAME.test(value) && !value.endsWith(".git")
        ? undefined
        : `${key} must be 1-100 characters of letters, digits, ".", "_" or "-" and not end in ".git" ` +
              `(CodeCommit's rule); got ${JSON.stringify(value)}`;
}

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/;
export function connectionArnProblem(key: string, value: string): string | undefined {
    return CONNECTION_ARN.test(value)
        ? undefined
        : `${key} must be a CodeConnections connection ARN such as ` +
              `"arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b2c3d-…" (create and authorize it in the console); ` +
              `got ${JSON.stringify(value)}`;
}

const FULL_REPOSITORY_ID = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
export function fullRepositoryIdProblem(key: string, value: string): string | undefined {
    return FULL_REPOSITORY_ID.test(value)
        ? undefined
        : `${key} must be "<owner>/<repository>", e.g. "acme/product-catalog"; got ${JSON.stringify(value)}`;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// pulumi.StackReference needs the fully qualified name so it does not depend on the caller's default org.
const STACK_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
export function stackNameProblem(key: string, value: string): string | undefined {
    return STACK_NAME.test(value)
        ? undefined
        : `${key} must be a fully qualified stack name "<organization>/<project>/<stack>", ` +
              `e.g. "acme/serverless-cross-account-cicd/target-dev"; got ${JSON.stringify(value)}`;
}

// EventBridge schedule expressions: rate(<n> minute|minutes|hour|hours|day|days) or cron(<6 fields>).
const RATE = /^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$/;
const CRON = /^cron\(\S+( \S+){5}\)$/;
export function driftScheduleProblem(key: string, value: string): string | undefined {
    return value === "off" || value in DRIFT_SCHEDULES || RATE.test(value) || CRON.test(value)
        ? undefined
        : `${key} must be "daily", "hourly", "off", or an EventBridge schedule expression such as "rate(12 hours)" ` +
              `or "cron(0 6 * * ? *)"; got ${JSON.stringify(value)}`;
}

function readDeployer(r: Reader): Deployer {
    const deployer = r.optional("deployer") ?? "serverless";
    if (!DEPLOYERS.includes(deployer as Deployer)) {
        r.check(
            `deployer must be "serverless" (sls deploy through CloudFormation) or "pulumi" (pulumi up of ProductApi); got ${JSON.stringify(deployer)}`,
        );
        return "serverless";
    }
    return deployer as Deployer;
}

// ---- reading ----

class Reader {
    readonly problems: string[] = [];
    constructor(private readonly source: ConfigSource) {}

    optional(key: string): string | undefined {
        const value = this.source(key);
        return value === undefined || value.trim() === "" ? undefined : value.trim();
    }

    required(key: string, hint: string): string {
        const value = this.optional(key);
        if (value === undefined) {
            this.problems.push(`${key} is required: ${hint}`);
            return "";
        }
        return value;
    }

    check(problem: string | undefined): void {
        if (problem) this.problems.push(problem);
    }

    json(key: string, hint: string): unknown {
        const text = this.required(key, hint);
        if (text === "") return undefined;
        try {
            return JSON.parse(text);
        } catch {
            this.problems.push(`${key} must be a YAML list (stored as JSON); could not parse ${JSON.stringify(text)}`);
            return undefined;
        }
    }
}

function readLogRetention(r: Reader): number {
    const raw = r.optional("logRetentionDays") ?? "30";
    const days = Number(raw);
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
        r.check(`logRetentionDays must be one of CloudWatch's values (${LOG_RETENTION_DAYS.join(", ")}); got ${JSON.stringify(raw)}`);
    }
    return days;
}

function readStringList(r: Reader, key: string): string[] {
    const text = r.optional(key);
    if (text === undefined) return [];
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        value = undefined;
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.trim() !== "")) {
        r.check(`${key} must be a YAML list of strings; got ${JSON.stringify(text)}`);
        return [];
    }
    return value as string[];
}

function readSource(r: Reader): SourceConfig {
    const kind = r.optional("sourceKind") ?? "codecommit";
    if (kind === "codecommit") {
        const repositoryName = r.optional("repositoryName") ?? SERVICE_NAME;
        r.check(repositoryNameProblem("repositoryName", repositoryName));
        return { kind, repositoryName };
    }
    if (kind === "codeconnections") {
        const connectionArn = r.required(
            "connectionArn",
            "the ARN of an authorized CodeConnections connection (sourceKind codeconnections)",
        );
        if (connectionArn) r.check(connectionArnProblem("connectionArn", connectionArn));
        const fullRepositoryId = r.required(
            "fullRepositoryId",
            '"<owner>/<repository>" on the connected provider (sourceKind codeconnections)',
        );
        if (fullRepositoryId) r.check(fullRepositoryIdProblem("fullRepositoryId", fullRepositoryId));
        return { kind, connectionArn, fullRepositoryId, triggerFilePaths: readStringList(r, "triggerFilePaths") };
    }
    r.check(`sourceKind must be "codecommit" or "codeconnections"; got ${JSON.stringify(kind)}`);
    return { kind: "codecommit", repositoryName: SERVICE_NAME };
}

function readStages(r: Reader): PipelineStageConfig[] {
    const raw = r.json(
        "stages",
        'the ordered deploy stages, e.g. [{"name": "dev", "targetStack": "acme/serverless-cross-account-cicd/target-dev"}, ' +
            '{"name": "prod", "targetStack": "acme/serverless-cross-account-cicd/target-prod", "approval": true, "smokeTest": "read-only"}]',
    );
    if (raw === undefined) return [];
    if (!Array.isArray(raw) || raw.length === 0) {
        r.check("stages must be a non-empty list of {name, targetStack, approval?, smokeTest?, rollbackOnFailure?} entries");
        return [];
    }
    const stages: PipelineStageConfig[] = [];
    const allowed = ["name", "targetStack", "approval", "smokeTest", "rollbackOnFailure"];
    raw.forEach((entry: unknown, i: number) => {
        const at = `stages[${i}]`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            r.check(`${at} must be an object with "name" and "targetStack"`);
            return;
        }
        const e = entry as Record<string, unknown>;
        const unknownKeys = Object.keys(e).filter((k) => !allowed.includes(k));
        if (unknownKeys.length > 0) r.check(`${at} has unknown key(s) ${unknownKeys.join(", ")}; allowed: ${allowed.join(", ")}`);
        const name = typeof e.name === "string" ? e.name : "";
        const targetStack = typeof e.targetStack === "string" ? e.targetStack : "";
        r.check(stageProblem(`${at}.name`, name) ?? reservedStageProblem(`${at}.name`, name));
        r.check(stackNameProblem(`${at}.targetStack`, targetStack));
        const approval = e.approval ?? false;
        if (typeof approval !== "boolean") r.check(`${at}.approval must be true or false; got ${JSON.stringify(approval)}`);
        const smokeTest = e.smokeTest ?? "full";
        if (!SMOKE_TEST_MODES.includes(smokeTest as SmokeTestMode)) {
            r.check(
                `${at}.smokeTest must be "full" (creates and reads a product) or "read-only" (no writes, for production); got ${JSON.stringify(smokeTest)}`,
            );
        }
        const rollbackOnFailure = e.rollbackOnFailure ?? true;
        if (typeof rollbackOnFailure !== "boolean") {
            r.check(`${at}.rollbackOnFailure must be true or false; got ${JSON.stringify(rollbackOnFailure)}`);
        }
        stages.push({
            name,
            targetStack,
            approval: approval === true,
            smokeTest: smokeTest as SmokeTestMode,
            rollbackOnFailure: rollbackOnFailure !== false,
        });
    });
    const seen = new Set<string>();
    for (const s of stages) {
        if (seen.has(s.name)) r.check(`stages has the name ${JSON.stringify(s.name)} more than once; stage names must be unique`);
        seen.add(s.name);
    }
    const stacks = new Set<string>();
    for (const s of stages) {
        if (stacks.has(s.targetStack)) r.check(`stages uses targetStack ${JSON.stringify(s.targetStack)} more than once`);
        stacks.add(s.targetStack);
    }
    return stages;
}

/** A stage name the tools account's role names reserve (its build role would be another role's). */
function reservedStageProblem(key: string, value: string): string | undefined {
    return RESERVED_STAGE_NAMES.includes(value)
        ? `${key} must not be ${JSON.stringify(value)}: the stage's build role, <buildRoleName>-${value}, is the drift check's role`
        : undefined;
}

/** The build-role names derived from a prefix must be valid IAM role names too. */
function buildRolePrefixProblems(key: string, prefix: string, stages: readonly string[]): (string | undefined)[] {
    return [
        roleNameProblem(key, prefix),
        ...[driftCheckRoleName(prefix), ...stages.map((stage) => stageBuildRoleName(prefix, stage))].map((roleName) =>
            roleName.length > 64 ? `${key} is too long: the derived role name ${roleName} exceeds IAM's 64 characters` : undefined,
        ),
    ];
}

// Drift detection asks CloudFormation, so it exists for the serverless deployer only. Unset means daily there.
function readDriftSchedule(r: Reader, deployer: Deployer): string | undefined {
    const value = r.optional("driftSchedule");
    if (deployer === "pulumi") {
        if (value !== undefined && value !== "off") {
            r.check(
                `driftSchedule must be "off" (or unset) with deployer "pulumi": drift detection asks CloudFormation about ` +
                    `the Serverless stack, which the pulumi deployer does not create (use \`pulumi preview --refresh\` there); got ${JSON.stringify(value)}`,
            );
        }
        return undefined;
    }
    const schedule = value ?? "daily";
    r.check(driftScheduleProblem("driftSchedule", schedule));
    return schedule === "off" ? undefined : (DRIFT_SCHEDULES[schedule] ?? schedule);
}

function readPulumiCli(r: Reader): { version: string; sha256: string } {
    const version = r.optional("pulumiCliVersion") ?? DEFAULT_PULUMI_CLI_VERSION;
    r.check(releaseVersionProblem("pulumiCliVersion", version, DEFAULT_PULUMI_CLI_VERSION));
    const sha256 = (
        r.required(
            "pulumiCliSha256",
            `the SHA-256 of pulumi-v${version}-linux-x64.tar.gz, from https://github.com/pulumi/pulumi/releases/download/v${version}/pulumi-${version}-checksums.txt ` +
                "(deployer pulumi installs that exact file in every build and refuses any other)",
        ) ?? ""
    ).toLowerCase();
    if (sha256) r.check(sha256Problem("pulumiCliSha256", sha256));
    return { version, sha256 };
}

/** Reads and validates the stack's configuration; throws ConfigError listing every problem. */
/** Keys of this project's namespace that Pulumi.yaml cannot declare (a list of objects): config.ts validates them. */
const UNDECLARED_KEYS = ["stages"];

/** The keys of this project's namespace: those Pulumi.yaml declares, plus `stages`. */
export function projectConfigKeys(pulumiYaml: string = readFileSync(join(__dirname, "Pulumi.yaml"), "utf8")): string[] {
    const declared = (loadYaml(pulumiYaml) as { config?: Record<string, unknown> }).config ?? {};
    return [...Object.keys(declared).filter((k) => !k.includes(":")), ...UNDECLARED_KEYS];
}

/** Edit distance (insert, delete, substitute), for "did you mean". */
function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/**
 * A key set in this project's namespace that the program does not read would be silently ignored
 * (`notificationEmail` for `notificationEmails`): each is a problem naming the closest known key.
 */
export function unknownKeyProblems(setKeys: readonly string[], knownKeys: readonly string[]): string[] {
    return setKeys
        .filter((key) => !knownKeys.includes(key))
        .map((key) => {
            const [closest] = [...knownKeys].sort(
                (a, b) => editDistance(key.toLowerCase(), a.toLowerCase()) - editDistance(key.toLowerCase(), b.toLowerCase()),
            );
            const near =
                closest !== undefined && editDistance(key.toLowerCase(), closest.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3));
            return (
                `${key} is not a configuration key of this project${near ? ` (did you mean ${closest}?)` : ""}: ` +
                `remove it with \`pulumi config rm ${key}\`; the keys are ${knownKeys.join(", ")}`
            );
        });
}

/**
 * Reads and validates the stack's config. `setKeys`, when given, are the keys set in this project's namespace
 * (without the `<project>:` prefix): any the program does not know is refused rather than ignored.
 */
export function readStackConfig(source: ConfigSource, setKeys?: readonly string[]): StackConfig {
    const r = new Reader(source);
    if (setKeys) unknownKeyProblems(setKeys, projectConfigKeys()).forEach((p) => r.check(p));
    const role = r.required("role", 'one of "target", "tools" or "api"');
    const logRetentionDays = readLogRetention(r);

    let config: StackConfig | undefined;
    switch (role) {
        case "target": {
            const stage = r.required("stage", 'the stage deployed into this account, e.g. "dev"');
            if (stage) r.check(stageProblem("stage", stage));
            const toolsAccountId = r.required("toolsAccountId", "the 12-digit ID of the tools account that runs the pipeline");
            if (toolsAccountId) r.check(accountIdProblem("toolsAccountId", toolsAccountId));
            if (stage) r.check(reservedStageProblem("stage", stage));
            const pipelineBuildRoleName = r.optional("pipelineBuildRoleName") ?? DEFAULT_BUILD_ROLE_PREFIX;
            buildRolePrefixProblems("pipelineBuildRoleName", pipelineBuildRoleName, [stage]).forEach((p) => r.check(p));
            const deployer = readDeployer(r);
            config = { role, stage, toolsAccountId, pipelineBuildRoleName, deployer, logRetentionDays };
            break;
        }
        case "tools": {
            const source = readSource(r);
            const branch = r.optional("branch") ?? "main";
            r.check(branchProblem("branch", branch));
            const buildRoleName = r.optional("buildRoleName") ?? DEFAULT_BUILD_ROLE_PREFIX;
            const stages = readStages(r);
            buildRolePrefixProblems(
                "buildRoleName",
                buildRoleName,
                stages.map((s) => s.name),
            ).forEach((p) => r.check(p));
            const deployerKind = readDeployer(r);
            const driftSchedule = readDriftSchedule(r, deployerKind);
            const deployer: DeployerSettings =
                deployerKind === "pulumi" ? { kind: "pulumi", cli: readPulumiCli(r) } : { kind: "serverless" };
            const notificationEmails = readStringList(r, "notificationEmails");
            for (const email of notificationEmails) {
                if (!EMAIL.test(email)) r.check(`notificationEmails has ${JSON.stringify(email)}, which is not an e-mail address`);
            }
            config = {
                role,
                source,
                branch,
                buildRoleName,
                stages,
                notificationEmails,
                deployer,
                driftSchedule,
                logRetentionDays,
            };
            break;
        }
        case "api": {
            const stage = r.required("stage", 'the stage to deploy, e.g. "dev"');
            if (stage) r.check(stageProblem("stage", stage));
            const permissionsBoundaryArn = r.optional("permissionsBoundaryArn");
            if (permissionsBoundaryArn !== undefined) r.check(policyArnProblem("permissionsBoundaryArn", permissionsBoundaryArn));
            config = { role, stage, permissionsBoundaryArn, logRetentionDays };
            break;
        }
        case "":
            break;
        default:
            r.check(`role must be "target", "tools" or "api"; got ${JSON.stringify(role)}`);
    }
    if (r.problems.length > 0 || config === undefined) throw new ConfigError(r.problems);
    return config;
}
