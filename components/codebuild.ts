// CodeBuild as this project uses it, for the pipeline's projects and the drift check alike: the container every
// build runs in, the buildspec of a build that runs the deploy kit, and a project with its own role, policy and log
// group (BuildProject).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dump } from "js-yaml";
import { AccountContext, BuildRoleGrants, buildRolePolicy, serviceTrustPolicy } from "./policies";

/** CodeBuild image with Node.js 22 (Amazon Linux 2023 standard 5.0). */
export const BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/**
 * The container every CodeBuild project of this project runs in, with these plain-text variables. No Docker builds
 * here: privileged mode would give the build root on the host's Docker daemon.
 */
export function buildEnvironment(variables: Record<string, pulumi.Input<string>>): aws.types.input.codebuild.ProjectEnvironment {
    return {
        type: "LINUX_CONTAINER",
        computeType: "BUILD_GENERAL1_SMALL",
        image: BUILD_IMAGE,
        imagePullCredentialsType: "CODEBUILD",
        privilegedMode: false,
        environmentVariables: Object.entries(variables).map(([name, value]) => ({ name, value, type: "PLAINTEXT" })),
    };
}

/** Where a kit build finds the deploy kit: set on its project by the tools stack. */
export const DEPLOY_KIT_VARIABLES = { bucket: "DEPLOY_KIT_BUCKET", key: "DEPLOY_KIT_KEY", sha256: "DEPLOY_KIT_SHA256" } as const;

/** The variable a Deploy action exports and later actions read as `#{<namespace>.API_URL}`. */
export const API_URL_VARIABLE = "API_URL";

/**
 * The inline buildspec of a build that runs the deploy kit (a stage's Deploy, the drift check): it fetches exactly
 * the kit object its project names, refuses it unless its SHA-256 is the one the project pins, and runs it. Nothing
 * of the commit is executed: for `deploy`, the commit's artifact is data (the Test stage's package and bundles),
 * except with the pulumi deployer, whose `pulumi up` runs the commit's program (`installProgram`: its dependencies
 * from the lockfile, without lifecycle scripts).
 */
export function kitBuildspec(command: "deploy" | "drift", options: { installProgram?: boolean } = {}): string {
    const kit = "/tmp/deploy-kit.js";
    const v = DEPLOY_KIT_VARIABLES;
    const spec = {
        version: 0.2,
        env: {
            shell: "bash",
            variables: { NPM_CONFIG_UPDATE_NOTIFIER: "false", NPM_CONFIG_FUND: "false", NPM_CONFIG_AUDIT: "false" },
            ...(command === "deploy" ? { "exported-variables": [API_URL_VARIABLE] } : {}),
        },
        phases: {
            install: {
                "on-failure": "ABORT",
                "runtime-versions": { nodejs: 22 },
                commands: [
                    `aws s3api get-object --bucket "$${v.bucket}" --key "$${v.key}" ${kit} >/dev/null`,
                    `echo "$${v.sha256}  ${kit}" | sha256sum --check --strict -`,
                    ...(options.installProgram ? ["npm ci --ignore-scripts --prefer-offline"] : []),
                ],
            },
            build: {
                "on-failure": "ABORT",
                commands: [
                    `node ${kit} ${command}`,
                    // a plain assignment keeps a failing command failing (`export X="$(...)"` would hide it)
                    ...(command === "deploy"
                        ? [`${API_URL_VARIABLE}="$(node -p 'require("./deploy-output.json").url')"`, `export ${API_URL_VARIABLE}`]
                        : []),
                ],
            },
        },
        ...(command === "deploy" ? { artifacts: { files: ["deploy-output.json"], "discard-paths": "yes" } } : {}),
        ...(options.installProgram ? { cache: { paths: ["/root/.npm/**/*"] } } : {}),
    };
    return dump(spec, { lineWidth: -1, noRefs: true });
}

/** A value whose strings, at any depth, may be Outputs (pulumi.output unwraps them all). */
type DeepInput<T> = T extends string
    ? pulumi.Input<string>
    : T extends readonly (infer U)[]
      ? readonly DeepInput<U>[]
      : T extends object
        ? { readonly [K in keyof T]: DeepInput<T[K]> }
        : T;

/** A build's role grants, the log group and cache aside (BuildProject adds its own). */
export type ProjectGrants = DeepInput<Omit<BuildRoleGrants, "logGroupArns" | "cache">>;

export interface BuildProjectArgs {
    /** The CodeBuild project's name (its log group is `/aws/codebuild/<name>`). */
    readonly projectName: string;
    readonly description: string;
    /** A deterministic role name, when another account's trust policy names it; generated otherwise. */
    readonly roleName?: string;
    readonly account: pulumi.Input<AccountContext>;
    /** What the role may do besides writing its log group (and its cache, when it has one). */
    readonly grants: ProjectGrants;
    /** A file of the input artifact (the commit's), or an inline buildspec (the tools stack's). */
    readonly buildspec: pulumi.Input<string>;
    /** CODEPIPELINE: an action of the pipeline; NO_SOURCE: started on its own (the drift check). */
    readonly source: "CODEPIPELINE" | "NO_SOURCE";
    readonly environment: Record<string, pulumi.Input<string>>;
    readonly timeoutMinutes: number;
    /** Encrypts the build's output artifacts and cache. */
    readonly encryptionKeyArn: pulumi.Input<string>;
    /** CodeBuild's S3 cache (npm's download cache): this project's own prefix of the build-assets bucket. */
    readonly cache?: { readonly bucketName: pulumi.Input<string>; readonly bucketArn: pulumi.Input<string> };
    readonly logRetentionDays: pulumi.Input<number>;
}

/** One CodeBuild project with its own role (trusted by CodeBuild of this account only), policy and log group. */
export class BuildProject extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly project: aws.codebuild.Project;
    public readonly logGroup: aws.cloudwatch.LogGroup;

    public readonly projectName: pulumi.Output<string>;
    public readonly projectArn: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: BuildProjectArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:tools:BuildProject", name, {}, opts);
        const account = pulumi.output(args.account);
        const cachePrefix = `codebuild-cache/${args.projectName}/`;

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: `/aws/codebuild/${args.projectName}`, retentionInDays: args.logRetentionDays },
            { parent: this },
        );
        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: args.roleName,
                description: `Runs the ${args.projectName} CodeBuild project`,
                assumeRolePolicy: account.apply((ctx) => serviceTrustPolicy("codebuild.amazonaws.com", ctx.accountId)),
            },
            { parent: this },
        );
        const cache = args.cache;
        const policy = new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([this.logGroup.arn, pulumi.output(args.grants), cache?.bucketArn, args.encryptionKeyArn])
                    .apply(([logGroupArn, grants, cacheBucketArn, keyArn]) =>
                        buildRolePolicy({
                            ...(grants as BuildRoleGrants),
                            logGroupArns: [logGroupArn],
                            cache: cacheBucketArn === undefined ? undefined : { bucketArn: cacheBucketArn, prefix: cachePrefix, keyArn },
                        }),
                    ),
            },
            { parent: this },
        );
        const fromPipeline = args.source === "CODEPIPELINE";
        this.project = new aws.codebuild.Project(
            `${name}-project`,
            {
                name: args.projectName,
                description: args.description,
                serviceRole: this.role.arn,
                encryptionKey: args.encryptionKeyArn,
                buildTimeout: args.timeoutMinutes,
                queuedTimeout: 60,
                source: { type: args.source, buildspec: args.buildspec },
                artifacts: { type: fromPipeline ? "CODEPIPELINE" : "NO_ARTIFACTS" },
                cache: cache
                    ? { type: "S3", location: pulumi.interpolate`${cache.bucketName}/${cachePrefix.replace(/\/$/, "")}` }
                    : undefined,
                environment: buildEnvironment(args.environment),
                logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: this.logGroup.name } },
            },
            // CodeBuild checks the role's permissions on first use; attach them before the project exists.
            { parent: this, dependsOn: [policy] },
        );

        this.projectName = this.project.name;
        this.projectArn = this.project.arn;
        this.roleArn = this.role.arn;
        this.registerOutputs({ projectName: this.projectName, projectArn: this.projectArn, roleArn: this.roleArn });
    }
}
