/**
 * A CodePipeline CodeBuild action run as CodeBuild would run it (action-reference-CodeBuild.html): the project
 * named by `ProjectName`, its buildspec (source.buildspec: a file of the primary input artifact, default
 * buildspec.yml, or an inline YAML document), the input artifacts (PrimarySource, or the only one), the
 * project's environment variables overridden by the action's `EnvironmentVariables` (a JSON array of
 * {name, value, type}; PLAINTEXT only here), the project's service role as the only credentials, and the
 * project's timeout. The action configuration arrives with its pipeline variables already resolved.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Buildspec, parseBuildspec } from "./buildspec";
import { BuildResult, runBuildspec } from "./buildspec-runner";
import { createBuildEnvironment } from "./codebuild-environment";
import { CredentialsFor, ProjectInputs } from "./pulumi-shapes";

export interface ArtifactRef {
    readonly name: string;
    readonly dir: string;
    /** the source revision it comes from (a commit ID), for CODEBUILD_RESOLVED_SOURCE_VERSION */
    readonly revision?: string;
}

export interface CodeBuildActionInput {
    readonly project: ProjectInputs;
    readonly actionName: string;
    readonly configuration: Record<string, string>;
    readonly inputs: readonly ArtifactRef[];
    readonly outputs: readonly { name: string; dir: string }[];
    readonly workDir: string;
    readonly buildNumber: number;
    readonly region: string;
    readonly accountId: string;
    readonly awsEndpoint: string;
    readonly initiator: string;
    readonly credentialsFor: CredentialsFor;
    /** the project's cache directory when its cache is S3 (or LOCAL) */
    readonly cacheDir?: string;
    /** keep the build's workspace (default: removed once its artifacts are copied out) */
    readonly keepWorkspace?: boolean;
    /** see BuildEnvironmentOptions.besideSource */
    readonly besideSource?: Readonly<Record<string, string>>;
}

export interface CodeBuildActionResult extends BuildResult {
    readonly buildId: string;
    readonly buildspecSource: string;
    readonly credentialRequests: number;
}

type EnvironmentVariable = { name: string; value: string; type?: string };

function plaintext(variables: readonly EnvironmentVariable[], where: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const v of variables) {
        if (typeof v?.name !== "string" || typeof v.value !== "string") {
            throw new Error(`${where}: each variable needs a string name and value; got ${JSON.stringify(v)}`);
        }
        if ((v.type ?? "PLAINTEXT") !== "PLAINTEXT")
            throw new Error(`${where}: variable ${v.name} is of type ${v.type}, not modelled (PLAINTEXT only)`);
        out[v.name] = v.value;
    }
    return out;
}

function actionEnvironmentVariables(configuration: Record<string, string>, actionName: string): Record<string, string> {
    const raw = configuration.EnvironmentVariables;
    if (raw === undefined) return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch (error) {
        throw new Error(`action ${actionName}: EnvironmentVariables is not JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new Error(`action ${actionName}: EnvironmentVariables must be a JSON array of {name, value, type}`);
    return plaintext(parsed as EnvironmentVariable[], `action ${actionName}: EnvironmentVariables`);
}

function primaryInput(inputs: readonly ArtifactRef[], configuration: Record<string, string>, actionName: string): ArtifactRef {
    if (inputs.length === 0) throw new Error(`action ${actionName}: a CodeBuild action needs an input artifact`);
    const named = configuration.PrimarySource;
    if (named === undefined) {
        if (inputs.length > 1) throw new Error(`action ${actionName}: PrimarySource is required with several input artifacts`);
        return inputs[0];
    }
    const found = inputs.find((i) => i.name === named);
    if (!found) throw new Error(`action ${actionName}: PrimarySource ${named} is not one of its input artifacts`);
    return found;
}

function loadBuildspec(project: ProjectInputs, sourceDir: string): { buildspec: Buildspec; source: string } {
    const spec = project.source.buildspec ?? "buildspec.yml";
    if (spec.includes("\n")) {
        const source = `the inline buildspec of project ${project.name}`;
        return { buildspec: parseBuildspec(spec, source), source };
    }
    const file = join(sourceDir, spec);
    if (!existsSync(file))
        throw new Error(`YAML_FILE_ERROR: the buildspec ${spec} of project ${project.name} is not in the input artifact`);
    return { buildspec: parseBuildspec(readFileSync(file, "utf8"), spec), source: spec };
}

export async function runCodeBuildAction(input: CodeBuildActionInput): Promise<CodeBuildActionResult> {
    const { project, actionName, configuration } = input;
    if (project.source.type !== "CODEPIPELINE")
        throw new Error(`project ${project.name}: source type ${project.source.type} is not modelled (CODEPIPELINE only)`);
    const overrides = {
        ...plaintext(project.environment.environmentVariables ?? [], `project ${project.name}`),
        ...actionEnvironmentVariables(configuration, actionName),
    };
    const primary = primaryInput(input.inputs, configuration, actionName);
    const { buildspec, source } = loadBuildspec(project, primary.dir);
    const cached = project.cache?.type === "S3" || project.cache?.type === "LOCAL";
    const session = await input.credentialsFor(
        project.serviceRole,
        `arn:aws:codebuild:${input.region}:${input.accountId}:project/${project.name}`,
    );

    const environment = await createBuildEnvironment({
        workDir: input.workDir,
        projectName: project.name ?? actionName,
        buildNumber: input.buildNumber,
        region: input.region,
        accountId: input.accountId,
        image: project.environment.image,
        awsEndpoint: input.awsEndpoint,
        session,
        primary,
        secondary: input.inputs.filter((i) => i !== primary),
        initiator: input.initiator,
        cacheDir: cached ? input.cacheDir : undefined,
        cachePaths: buildspec.cachePaths,
        besideSource: input.besideSource,
    });
    try {
        const result = await runBuildspec({
            buildspec,
            sourceDir: environment.sourceDir,
            stateDir: join(environment.root, "shell-state"),
            environment: environment.env,
            overrides,
            outputs: input.outputs,
            runtimes: { nodejs: [process.versions.node.split(".")[0]] },
            timeoutMs: (project.buildTimeout ?? 60) * 60_000,
        });
        return { ...result, buildId: environment.buildId, buildspecSource: source, credentialRequests: environment.credentialRequests };
    } finally {
        await environment.close();
        if (!input.keepWorkspace) rmSync(environment.root, { recursive: true, force: true });
    }
}
