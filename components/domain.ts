// The project's domain: the facts every part agrees on (the service, the deployers, the stage settings, the role
// names that link the accounts), declared once. Components, the deploy kit and config.ts import from here; this
// module imports nothing of the project.

/** The Serverless service name; serverless.yml's `service:` is the same (a test checks it). */
export const SERVICE_NAME = "product-catalog-service";

/**
 * What deploys the product API from the pipeline: `serverless` packages it in the Test stage and has CloudFormation
 * create it through a change set (as the blog sample's `sls deploy` did); `pulumi` runs `pulumi up` of this program's
 * `api` role (ProductApi).
 */
export type Deployer = "serverless" | "pulumi";
export const DEPLOYERS: readonly Deployer[] = ["serverless", "pulumi"];

/** What a stage's smoke test may do: `full` creates a product and reads it back; `read-only` writes nothing. */
export type SmokeTestMode = "full" | "read-only";
export const SMOKE_TEST_MODES: readonly SmokeTestMode[] = ["full", "read-only"];

/** Log retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** How the tools pipeline promotes a release into one target stage. */
export interface StageSettings {
    /** A person approves before this stage deploys. */
    readonly approval: boolean;
    /** The smoke test run against the stage's API after it deploys; production stages use `read-only`. */
    readonly smokeTest: SmokeTestMode;
    /** A failed stage (its smoke test, typically) is rolled back to its last successful execution. */
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

/** The Pulumi CLI the pulumi deployer installs in each Deploy build: exactly this release file, by checksum. */
export interface PulumiCli {
    readonly version: string;
    readonly sha256: string;
}
export const DEFAULT_PULUMI_CLI_VERSION = "3.276.0";

/** The tools stack's side of a deployer: what its Deploy builds need besides the target. */
export type DeployerSettings = { readonly kind: "serverless" } | { readonly kind: "pulumi"; readonly cli: PulumiCli };

// ---- role names that link the tools account and the targets ----------------------------------------------
// A target stack is deployed before the tools stack and trusts tools roles by name (an IAM trust policy cannot
// name a role that does not exist yet), so both sides derive the names from the same prefix here.

/** Default prefix of the tools account's build roles (config `buildRoleName` / `pipelineBuildRoleName`). */
export const DEFAULT_BUILD_ROLE_PREFIX = `${SERVICE_NAME}-pipeline-build`;

/**
 * The build role of one stage's deploy project: `<prefix>-<stage>`. Each target's deploy role trusts exactly its own
 * stage's build role, so a build of one stage (whatever the commit it runs makes it do) cannot reach another stage.
 */
export const stageBuildRoleName = (prefix: string, stage: string) => `${prefix}-${stage}`;

/** The drift check's role in the tools account, which only the targets' read-only drift roles trust. */
export const DRIFT_ROLE_SUFFIX = "drift";
export const driftCheckRoleName = (prefix: string) => `${prefix}-${DRIFT_ROLE_SUFFIX}`;

/** Stage names that would make a stage build role collide with another role of the tools account. */
export const RESERVED_STAGE_NAMES: readonly string[] = [DRIFT_ROLE_SUFFIX];
