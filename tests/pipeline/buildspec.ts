/**
 * A CodeBuild buildspec (version 0.2) read into what the rehearsal runs. Keys that would change what a build
 * does but are not modelled here (run-as, parameter-store, secrets-manager, batch, proxy, a shell other than
 * bash) are refused with a message, so a buildspec never runs differently from CodeBuild without saying so.
 * Reference: https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
 */
import { load as loadYaml } from "js-yaml";

export const PHASES = ["install", "pre_build", "build", "post_build"] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PhaseSpec {
    readonly commands: string[];
    readonly finally: string[];
    readonly onFailure?: "ABORT" | "CONTINUE";
    /** install only */
    readonly runtimeVersions: Record<string, string>;
}

export interface ArtifactSpec {
    readonly files: string[];
    readonly baseDirectory?: string;
    readonly discardPaths: boolean;
    readonly excludePaths: string[];
}

export interface Buildspec {
    readonly variables: Record<string, string>;
    readonly exportedVariables: string[];
    readonly phases: Partial<Record<PhaseName, PhaseSpec>>;
    readonly artifacts?: ArtifactSpec;
    readonly secondaryArtifacts: Record<string, ArtifactSpec>;
    /** Recorded, not processed (no report groups here). */
    readonly reports: Record<string, unknown>;
    readonly cachePaths: string[];
}

const TOP_LEVEL = ["version", "env", "phases", "artifacts", "reports", "cache"];
const NOT_MODELLED_TOP = ["run-as", "proxy", "batch"];
const ENV_KEYS = ["shell", "variables", "exported-variables", "git-credential-helper"];
const NOT_MODELLED_ENV = ["parameter-store", "secrets-manager"];
const PHASE_KEYS = ["commands", "finally", "on-failure", "runtime-versions"];

type Yaml = Record<string, unknown>;

const isMap = (v: unknown): v is Yaml => typeof v === "object" && v !== null && !Array.isArray(v);

function strings(value: unknown, where: string): string[] {
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((item, i) => {
        if (typeof item === "string") return item;
        if (typeof item === "number" || typeof item === "boolean") return String(item);
        throw new Error(`${where}[${i}] must be a string; got ${JSON.stringify(item)}`);
    });
}

function yesNo(value: unknown, where: string): boolean {
    if (value === undefined) return false;
    if (value === true || value === "yes" || value === "true") return true;
    if (value === false || value === "no" || value === "false") return false;
    throw new Error(`${where} must be yes or no; got ${JSON.stringify(value)}`);
}

function unknownKeys(map: Yaml, known: string[], notModelled: string[], where: string): void {
    for (const key of Object.keys(map)) {
        if (notModelled.includes(key)) throw new Error(`${where}${key} is not modelled by the pipeline rehearsal`);
        if (!known.includes(key)) throw new Error(`${where}${key} is not a buildspec key`);
    }
}

function artifactSpec(value: unknown, where: string): ArtifactSpec {
    if (!isMap(value)) throw new Error(`${where} must be a mapping`);
    const files = strings(value.files, `${where}.files`);
    if (files.length === 0) throw new Error(`${where}.files is required`);
    const base = value["base-directory"];
    if (base !== undefined && typeof base !== "string") throw new Error(`${where}.base-directory must be a string`);
    return {
        files,
        baseDirectory: base,
        discardPaths: yesNo(value["discard-paths"], `${where}.discard-paths`),
        excludePaths: strings(value["exclude-paths"], `${where}.exclude-paths`),
    };
}

function phaseSpec(name: PhaseName, value: unknown): PhaseSpec {
    const where = `phases.${name}`;
    if (!isMap(value)) throw new Error(`${where} must be a mapping`);
    unknownKeys(value, PHASE_KEYS, ["run-as"], `${where}.`);
    const onFailure = value["on-failure"];
    if (onFailure !== undefined && onFailure !== "ABORT" && onFailure !== "CONTINUE") {
        throw new Error(`${where}.on-failure must be ABORT or CONTINUE; got ${JSON.stringify(onFailure)}`);
    }
    const runtimes = value["runtime-versions"] ?? {};
    if (!isMap(runtimes)) throw new Error(`${where}.runtime-versions must be a mapping`);
    if (name !== "install" && Object.keys(runtimes).length > 0) throw new Error(`${where}.runtime-versions is allowed in install only`);
    return {
        commands: strings(value.commands, `${where}.commands`),
        finally: strings(value.finally, `${where}.finally`),
        onFailure,
        runtimeVersions: Object.fromEntries(Object.entries(runtimes).map(([k, v]) => [k, String(v)])),
    };
}

/** Parses a buildspec; `source` names it in error messages (a file name, or "inline buildspec of <project>"). */
export function parseBuildspec(text: string, source: string): Buildspec {
    let doc: unknown;
    try {
        doc = loadYaml(text);
    } catch (error) {
        throw new Error(`YAML_FILE_ERROR in ${source}: ${(error as Error).message}`);
    }
    try {
        if (!isMap(doc)) throw new Error("the buildspec must be a YAML mapping");
        unknownKeys(doc, TOP_LEVEL, NOT_MODELLED_TOP, "");
        if (String(doc.version) !== "0.2") throw new Error(`version must be 0.2; got ${JSON.stringify(doc.version)}`);
        const env = doc.env ?? {};
        if (!isMap(env)) throw new Error("env must be a mapping");
        unknownKeys(env, ENV_KEYS, NOT_MODELLED_ENV, "env.");
        // Commands keep their shell state through a bash snapshot of it (see ./buildspec-runner.ts).
        if (env.shell !== "bash") throw new Error(`env.shell must be bash (the only shell modelled); got ${JSON.stringify(env.shell)}`);
        if (yesNo(env["git-credential-helper"], "env.git-credential-helper")) throw new Error("env.git-credential-helper is not modelled");
        const variables = env.variables ?? {};
        if (!isMap(variables)) throw new Error("env.variables must be a mapping");
        const phases = doc.phases;
        if (!isMap(phases)) throw new Error("phases is required and must be a mapping");
        for (const name of Object.keys(phases)) {
            if (!(PHASES as readonly string[]).includes(name)) throw new Error(`phases.${name} is not a phase (${PHASES.join(", ")})`);
        }
        const artifacts = doc.artifacts;
        let secondary: Record<string, ArtifactSpec> = {};
        if (isMap(artifacts) && artifacts["secondary-artifacts"] !== undefined) {
            const entries = artifacts["secondary-artifacts"];
            if (!isMap(entries)) throw new Error("artifacts.secondary-artifacts must be a mapping");
            secondary = Object.fromEntries(
                Object.entries(entries).map(([k, v]) => [k, artifactSpec(v, `artifacts.secondary-artifacts.${k}`)]),
            );
        }
        const hasPrimary = isMap(artifacts) && artifacts.files !== undefined;
        const cache = doc.cache ?? {};
        if (!isMap(cache)) throw new Error("cache must be a mapping");
        const reports = doc.reports ?? {};
        if (!isMap(reports)) throw new Error("reports must be a mapping");
        return {
            variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
            exportedVariables: strings(env["exported-variables"], "env.exported-variables"),
            phases: Object.fromEntries(PHASES.filter((p) => phases[p] !== undefined).map((p) => [p, phaseSpec(p, phases[p])])),
            artifacts: hasPrimary ? artifactSpec(artifacts, "artifacts") : undefined,
            secondaryArtifacts: secondary,
            reports,
            cachePaths: strings(cache.paths, "cache.paths"),
        };
    } catch (error) {
        throw new Error(`YAML_FILE_ERROR in ${source}: ${(error as Error).message}`);
    }
}
