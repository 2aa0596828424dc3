// Stack configuration: read, validate and type it in one place.
//
// Every stack of this project runs the same program; `role` in its config says which part it deploys:
//   target — the cross-account roles and deployment bucket in an account the pipeline deploys to;
//   tools  — the pipeline in the central tools account;
//   api    — the product API deployed directly by Pulumi (no pipeline).
// All problems are collected and reported together, each naming the key and what a valid value looks like,
// so a bad `Pulumi.<stack>.yaml` fails before any resource is touched.

/** The Serverless service name. serverless.yml's `service:` must be the same (a test checks it). */
export const SERVICE_NAME = "product-catalog-service";

/** Log retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export type StackRole = "tools" | "target" | "api";

/**
 * What deploys the product API from the pipeline: `serverless` runs `sls deploy` (CloudFormation, as the blog
 * sample does); `pulumi` runs the `api` role of this program (ProductApi) with `pulumi up`.
 */
export type Deployer = "serverless" | "pulumi";
export const DEPLOYERS: readonly Deployer[] = ["serverless", "pulumi"];

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
    /** Name of the pipeline's CodeBuild role in the tools account: the only principal the deploy role trusts. */
    readonly pipelineBuildRoleName: string;
    /** What the pipeline deploys with; the deploy role gets exactly the rights that deployer needs. */
    readonly deployer: Deployer;
}

/** What a stage's smoke test may do: `full` creates a product and reads it back; `read-only` writes nothing. */
export type SmokeTestMode = "full" | "read-only";
export const SMOKE_TEST_MODES: readonly SmokeTestMode[] = ["full", "read-only"];

export interface PipelineStageConfig {
    /** Stage name, e.g. `dev`; must equal the target stack's `stage` output (checked at deploy time). */
    readonly name: string;
    /** Fully qualified name of the target stack, `<organization>/<project>/<stack>`. */
    readonly targetStack: string;
    /** A person must approve in the pipeline before this stage deploys. */
    readonly approval: boolean;
    /** Smoke test run against the stage's API after it deploys; production stages use `read-only`. */
    readonly smokeTest: SmokeTestMode;
    /** When the stage fails (its smoke test, typically), CodePipeline redeploys its last successful execution. */
    readonly rollbackOnFailure: boolean;
}

/** Where the pipeline's source comes from. */
export type SourceConfig =
    | { readonly kind: "codecommit"; readonly repositoryName: string }
    | {
          readonly kind: "codeconnections";
          /** A CodeConnections connection (GitHub, GitLab, Bitbucket), created and authorized in the console. */
          readonly connectionArn: string;
          /** `<owner>/<repository>` on the connected provider. */
          readonly fullRepositoryId: string;
          /** Pushes that change none of these paths do not start the pipeline (all paths when empty). */
          readonly triggerFilePaths: readonly string[];
      };

export interface ToolsConfig extends CommonConfig {
    readonly role: "tools";
    readonly source: SourceConfig;
    /** Branch whose pushes start the pipeline. */
    readonly branch: string;
    /** E-mail addresses subscribed to the pipeline's notifications (each must confirm by e-mail). */
    readonly notificationEmails: readonly string[];
    /** Deterministic name of the CodeBuild role: the target stacks trust exactly this role. */
    readonly buildRoleName: string;
    /** Deploy stages in order. */
    readonly stages: readonly PipelineStageConfig[];
    /** What the Deploy actions run; every target stack must be set up for the same deployer. */
    readonly deployer: Deployer;
    /** When drift detection runs (an EventBridge schedule expression), or undefined when it is off. */
    readonly driftSchedule: string | undefined;
    /** The Pulumi CLI the `pulumi` deployer installs in the build, verified by its SHA-256 (undefined otherwise). */
    readonly pulumiCli: { readonly version: string; readonly sha256: string } | undefined;
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

/** Thrown when stack config is invalid; the message lists every problem found. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                "\nSet values with `pulumi config set <key> <value>`; see Pulumi.yaml for every key.",
        );
        this.name = "ConfigError";
    }
}

export const DEFAULT_BUILD_ROLE_NAME = `${SERVICE_NAME}-pipeline-build`;

/** The drift-check project's role: the build role's name with this suffix, so the targets can trust both by name. */
export const DRIFT_ROLE_SUFFIX = "-drift";
export const driftRoleName = (buildRoleName: string) => `${buildRoleName}${DRIFT_ROLE_SUFFIX}`;

/** Named drift schedules; anything else must be an EventBridge rate() or cron() expression. */
export const DRIFT_SCHEDULES: Record<string, string> = { daily: "rate(1 day)", hourly: "rate(1 hour)" };

/** The Pulumi CLI release the `pulumi` deployer installs by default: the one matching @pulumi/pulumi in package-lock.json. */
export const DEFAULT_PULUMI_CLI_VERSION = "3.276.0";

/** Reads one raw config value (as `pulumi.Config#get` does); `undefined` when unset. */
export type ConfigSource = (key: string) => string | undefined;

// ---- validators: each returns a problem message, or undefined when the value is valid ----

const ACCOUNT_ID = /^\d{12}$/;
export function accountIdProblem(key: string, value: string): string | undefined {
    return ACCOUNT_ID.test(value)
        ? undefined
        : `${key} must be a 12-digit AWS account ID such as 111111111111; got ${JSON.stringify(value)}`;
}

// The stage becomes part of Lambda function, table, role, log group and CloudFormation stack names
// (`product-catalog-service-<stage>-findProduct` must fit Lambda's 64 characters), so it is kept short
// and lowercase: S3 and CloudFormation reject some characters the others accept.
const STAGE = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,15}$/;
export function stageProblem(key: string, value: string): string | undefined {
    return STAGE.test(value)
        ? undefined
        : `${key} must be 1-16 characters of lowercase letters, digits and single hyphens, starting with a letter ` +
              `and not ending with a hyphen (it becomes part of every resource name), e.g. "dev" or "prod-eu"; ` +
              `got ${JSON.stringify(value)}`;
}

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

// IAM role names: 1-64 of [\w+=,.@-]. The build role name is also embedded in the targets' trust policies.
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
export function roleNameProblem(key: string, value: string): string | undefined {
    return ROLE_NAME.test(value)
        ? undefined
        : `${key} must be an IAM role name (1-64 letters, digits or "+=,.@_-"); got ${JSON.stringify(value)}`;
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

const SEMVER = /^\d+\.\d+\.\d+$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]{1,128}$/;
const SHA256 = /^[0-9a-f]{64}$/;

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
        r.check(stageProblem(`${at}.name`, name));
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
    if (!SEMVER.test(version))
        r.check(`pulumiCliVersion must be a release such as "${DEFAULT_PULUMI_CLI_VERSION}"; got ${JSON.stringify(version)}`);
    const sha256 = (
        r.required(
            "pulumiCliSha256",
            `the SHA-256 of pulumi-v${version}-linux-x64.tar.gz, from https://github.com/pulumi/pulumi/releases/download/v${version}/pulumi-${version}-checksums.txt ` +
                "(deployer pulumi installs that exact file in every build and refuses any other)",
        ) ?? ""
    ).toLowerCase();
    if (sha256 && !SHA256.test(sha256)) r.check(`pulumiCliSha256 must be 64 hexadecimal digits; got ${JSON.stringify(sha256)}`);
    return { version, sha256 };
}

/** Reads and validates the stack's configuration; throws ConfigError listing every problem. */
export function readStackConfig(source: ConfigSource): StackConfig {
    const r = new Reader(source);
    const role = r.required("role", 'one of "target", "tools" or "api"');
    const logRetentionDays = readLogRetention(r);

    let config: StackConfig | undefined;
    switch (role) {
        case "target": {
            const stage = r.required("stage", 'the stage deployed into this account, e.g. "dev"');
            if (stage) r.check(stageProblem("stage", stage));
            const toolsAccountId = r.required("toolsAccountId", "the 12-digit ID of the tools account that runs the pipeline");
            if (toolsAccountId) r.check(accountIdProblem("toolsAccountId", toolsAccountId));
            const pipelineBuildRoleName = r.optional("pipelineBuildRoleName") ?? DEFAULT_BUILD_ROLE_NAME;
            r.check(roleNameProblem("pipelineBuildRoleName", pipelineBuildRoleName));
            r.check(roleNameProblem("pipelineBuildRoleName (with its drift-check suffix)", driftRoleName(pipelineBuildRoleName)));
            const deployer = readDeployer(r);
            config = { role, stage, toolsAccountId, pipelineBuildRoleName, deployer, logRetentionDays };
            break;
        }
        case "tools": {
            const source = readSource(r);
            const branch = r.optional("branch") ?? "main";
            r.check(branchProblem("branch", branch));
            const buildRoleName = r.optional("buildRoleName") ?? DEFAULT_BUILD_ROLE_NAME;
            r.check(roleNameProblem("buildRoleName", buildRoleName));
            r.check(roleNameProblem("buildRoleName (with its drift-check suffix)", driftRoleName(buildRoleName)));
            const stages = readStages(r);
            const deployer = readDeployer(r);
            const driftSchedule = readDriftSchedule(r, deployer);
            const pulumiCli = deployer === "pulumi" ? readPulumiCli(r) : undefined;
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
                pulumiCli,
                logRetentionDays,
            };
            break;
        }
        case "api": {
            const stage = r.required("stage", 'the stage to deploy, e.g. "dev"');
            if (stage) r.check(stageProblem("stage", stage));
            const permissionsBoundaryArn = r.optional("permissionsBoundaryArn");
            if (permissionsBoundaryArn !== undefined && !POLICY_ARN.test(permissionsBoundaryArn)) {
                r.check(
                    `permissionsBoundaryArn must be an IAM policy ARN such as "arn:aws:iam::222222222222:policy/boundary-${SERVICE_NAME}-dev"; ` +
                        `got ${JSON.stringify(permissionsBoundaryArn)}`,
                );
            }
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
