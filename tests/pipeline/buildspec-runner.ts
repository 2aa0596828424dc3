/**
 * Runs a parsed buildspec the way CodeBuild runs version 0.2 with `env.shell: bash`
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html and
 * https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html):
 *   - phases install → pre_build → build → post_build, then UPLOAD_ARTIFACTS when the action has output artifacts;
 *   - each command in its own bash whose state (variables, exported or not, the working directory, functions)
 *     carries over to the next command and phase, as in 0.2; a command may `exit N` without ending the build:
 *     the state is snapshotted on the shell's EXIT (declare -p / declare -f / pwd) and restored before the next;
 *   - the first failing command skips the rest of its block; `finally` runs after `commands` even then; a phase
 *     fails when any command of either fails;
 *   - after a failed phase: `on-failure: ABORT` stops the build (no later phase, no artifacts), CONTINUE goes on
 *     to the next phase; without it, a failed install or pre_build ends the build, a failed build still runs
 *     post_build, and UPLOAD_ARTIFACTS is attempted after build and post_build whatever their result;
 *   - env.variables < the project's variables < the start-build (action) overrides; CODEBUILD_* stay CodeBuild's;
 *     CODEBUILD_BUILD_SUCCEEDING is 1 until a phase fails, then 0;
 *   - runtime-versions are checked against the runtimes the environment provides, never installed;
 *   - exported-variables are read from the shell after the last phase (AWS_* names cannot be exported); a name
 *     the build never set is not exported;
 *   - `reports` are recorded, not processed.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { copyArtifactFiles, selectArtifactFiles } from "./artifact-files";
import { ArtifactSpec, Buildspec, PHASES, PhaseName, PhaseSpec } from "./buildspec";

export type BuildPhase = "INSTALL" | "PRE_BUILD" | "BUILD" | "POST_BUILD" | "UPLOAD_ARTIFACTS";

export interface CommandResult {
    readonly command: string;
    readonly block: "commands" | "finally";
    /** null when the build's timeout killed it */
    readonly exitCode: number | null;
}

export interface PhaseResult {
    readonly name: BuildPhase;
    readonly status: "SUCCEEDED" | "FAILED";
    readonly commands: CommandResult[];
    /** why it failed, in CodeBuild's words where there are some */
    readonly message?: string;
    readonly durationMs: number;
}

export interface BuildResult {
    readonly status: "SUCCEEDED" | "FAILED";
    readonly phases: PhaseResult[];
    readonly exportedVariables: Record<string, string>;
    /** the first output artifact's directory, when the build uploaded one */
    readonly outputArtifactDir?: string;
    /** every output artifact uploaded, by name */
    readonly outputArtifacts: Record<string, string>;
    readonly runtimeVersions: Record<string, string>;
    readonly reports: Record<string, unknown>;
    readonly log: string;
}

export interface BuildRunInput {
    readonly buildspec: Buildspec;
    /** CODEBUILD_SRC_DIR: where the first command starts */
    readonly sourceDir: string;
    /** a scratch directory outside the source, for the shell's state between commands */
    readonly stateDir: string;
    /** the container's environment, CODEBUILD_* included */
    readonly environment: Record<string, string>;
    /** the project's variables, then the action's (start-build overrides), already merged in that order */
    readonly overrides: Record<string, string>;
    /** output artifacts the action expects: one takes `artifacts`, several take `secondary-artifacts.<name>` */
    readonly outputs: readonly { name: string; dir: string }[];
    /** runtime name → versions the environment provides, e.g. { nodejs: ["22"] } */
    readonly runtimes: Record<string, string[]>;
    readonly timeoutMs: number;
}

const PHASE_NAMES: Record<PhaseName, BuildPhase> = { install: "INSTALL", pre_build: "PRE_BUILD", build: "BUILD", post_build: "POST_BUILD" };

// Runs one command with the state of the previous ones; on EXIT it saves the state, whatever ended the command.
// $1 is the state directory. Names of bash's own variables are not carried over.
const COMMAND_SHELL = `
__cb_state=$1; shift
. "$__cb_state/variables"
. "$__cb_state/functions"
cd "$(<"$__cb_state/cwd")" || exit 1
__cb_save() {
    __cb_status=$?
    set +e
    for __cb_name in $(compgen -v); do
        case "$__cb_name" in
            __cb_*|BASH|BASH_*|BASHOPTS|BASHPID|EPOCH*|HIST*|COMP_*|COLUMNS|LINES|DIRSTACK|EUID|FUNCNAME|GROUPS|IFS|LINENO|OLDPWD|OPTARG|OPTERR|OPTIND|PIPESTATUS|PPID|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_) ;;
            *) declare -p "$__cb_name" ;;
        esac
    done > "$__cb_state/variables.next" 2>/dev/null
    mv "$__cb_state/variables.next" "$__cb_state/variables"
    for __cb_name in $(compgen -A function); do
        case "$__cb_name" in __cb_*) ;; *) declare -f "$__cb_name" ;; esac
    done > "$__cb_state/functions"
    pwd > "$__cb_state/cwd"
    exit "$__cb_status"
}
trap __cb_save EXIT
eval "$(<"$__cb_state/command")"
`;

const READ_EXPORTS = `. "$1/variables" 2>/dev/null; shift; for n in "$@"; do if [[ -v $n ]]; then printf '%s\\0%s\\0' "$n" "\${!n}"; fi; done`;

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function timestamp(): string {
    const d = new Date();
    const pad = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export async function runBuildspec(input: BuildRunInput): Promise<BuildResult> {
    const { buildspec, stateDir } = input;
    const deadline = Date.now() + input.timeoutMs;
    let log = "";
    const say = (line: string) => (log += `[Container] ${timestamp()} ${line}\n`);
    let timedOut = false;

    const environment: Record<string, string> = { ...input.environment, ...buildspec.variables, ...input.overrides };
    for (const [k, v] of Object.entries(input.environment)) if (k.startsWith("CODEBUILD_")) environment[k] = v;
    environment.CODEBUILD_BUILD_SUCCEEDING = "1";

    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(
        join(stateDir, "variables"),
        Object.entries(environment)
            .filter(([k]) => IDENTIFIER.test(k))
            .map(([k, v]) => `declare -x ${k}=${quote(v)}\n`)
            .join(""),
    );
    writeFileSync(join(stateDir, "functions"), "");
    writeFileSync(join(stateDir, "cwd"), input.sourceDir);

    const shell = (args: string[], onOutput: (chunk: string) => void) =>
        new Promise<number | null>((done) => {
            const child = spawn("/bin/bash", ["-c", ...args], {
                env: {},
                cwd: input.sourceDir,
                detached: true,
                stdio: ["ignore", "pipe", "pipe"],
            });
            const timer = setTimeout(
                () => {
                    timedOut = true;
                    process.kill(-child.pid!, "SIGKILL");
                },
                Math.max(0, deadline - Date.now()),
            );
            child.stdout.on("data", (d) => onOutput(String(d)));
            child.stderr.on("data", (d) => onOutput(String(d)));
            child.on("close", (code) => {
                clearTimeout(timer);
                done(timedOut ? null : code);
            });
        });

    const runCommand = async (command: string, block: CommandResult["block"]): Promise<CommandResult> => {
        say(`Running command ${command}`);
        writeFileSync(join(stateDir, "command"), command);
        const exitCode = await shell([COMMAND_SHELL, "codebuild", stateDir], (chunk) => (log += chunk));
        if (exitCode !== 0) say(`Command did not exit successfully ${command} exit status ${exitCode ?? "killed"}`);
        return { command, block, exitCode };
    };

    const checkRuntimes = (spec: PhaseSpec): string | undefined => {
        for (const [name, wanted] of Object.entries(spec.runtimeVersions)) {
            const provided = input.runtimes[name];
            if (!provided)
                return `Unknown runtime named '${name}'. This build image has the following runtimes: ${Object.keys(input.runtimes).join(", ")}`;
            const version = wanted.replace(/^\$\{?(\w+)\}?$/, (_, v: string) => environment[v] ?? "").replace(/\.x$/, "");
            if (version !== "latest" && !provided.includes(version)) {
                return `Unknown runtime version named '${wanted}' of ${name}. This build image has the following versions: ${provided.join(", ")}`;
            }
            say(`Selected runtime ${name} ${wanted} (provided by the environment, not installed)`);
        }
        return undefined;
    };

    const runPhase = async (name: PhaseName, spec: PhaseSpec | undefined, succeeding: boolean): Promise<PhaseResult> => {
        const started = Date.now();
        const phase = PHASE_NAMES[name];
        say(`Entering phase ${phase}`);
        writeFileSync(join(stateDir, "variables"), `declare -x CODEBUILD_BUILD_SUCCEEDING=${succeeding ? 1 : 0}\n`, { flag: "a" });
        const commands: CommandResult[] = [];
        let message = spec ? checkRuntimes(spec) : undefined;
        for (const block of message ? [] : (["commands", "finally"] as const)) {
            for (const command of spec?.[block] ?? []) {
                const result = await runCommand(command, block);
                commands.push(result);
                if (result.exitCode !== 0) {
                    message ??= timedOut
                        ? `Build timed out after ${Math.round(input.timeoutMs / 1000)} s (the project's buildTimeout)`
                        : `Error while executing command: ${command}. Reason: exit status ${result.exitCode}`;
                    break;
                }
            }
            if (timedOut) break;
        }
        const status = message ? "FAILED" : "SUCCEEDED";
        say(`Phase complete: ${phase} State: ${status}`);
        if (message) say(`Phase context status code: COMMAND_EXECUTION_ERROR Message: ${message}`);
        return { name: phase, status, commands, message, durationMs: Date.now() - started };
    };

    const phases: PhaseResult[] = [];
    let failed = false;
    let upload = true;
    for (const name of PHASES) {
        const spec = buildspec.phases[name];
        const result = await runPhase(name, spec, !failed);
        phases.push(result);
        if (result.status === "SUCCEEDED") continue;
        failed = true;
        if (timedOut || spec?.onFailure === "ABORT") {
            upload = false;
            break;
        }
        if (spec?.onFailure === "CONTINUE") continue;
        if (name === "install" || name === "pre_build") {
            upload = false;
            break;
        }
    }

    const exportedVariables: Record<string, string> = {};
    const exportable = buildspec.exportedVariables.filter((name) => {
        if (name.startsWith("AWS_")) say(`Skipping exported variable ${name}: variables starting with AWS_ cannot be exported`);
        return !name.startsWith("AWS_");
    });
    if (exportable.length > 0) {
        let out = "";
        await shell([READ_EXPORTS, "exports", stateDir, ...exportable], (chunk) => (out += chunk));
        const fields = out.split("\0");
        for (let i = 0; i + 1 < fields.length; i += 2) exportedVariables[fields[i]] = fields[i + 1];
    }

    const outputArtifacts: Record<string, string> = {};
    if (upload && input.outputs.length > 0) {
        const started = Date.now();
        say("Entering phase UPLOAD_ARTIFACTS");
        let message: string | undefined;
        for (const output of input.outputs) {
            const spec: ArtifactSpec | undefined =
                input.outputs.length === 1
                    ? (buildspec.artifacts ?? buildspec.secondaryArtifacts[output.name])
                    : buildspec.secondaryArtifacts[output.name];
            if (!spec) {
                message = `no artifacts definition for output artifact ${output.name} in the buildspec`;
                break;
            }
            const files = selectArtifactFiles(input.sourceDir, spec);
            if (files.length === 0) {
                message = "no matching artifact paths found";
                break;
            }
            copyArtifactFiles(input.sourceDir, files, output.dir);
            outputArtifacts[output.name] = output.dir;
            say(`Uploaded ${files.length} file(s) as artifact ${output.name}`);
        }
        const status = message ? "FAILED" : "SUCCEEDED";
        say(`Phase complete: UPLOAD_ARTIFACTS State: ${status}`);
        if (message) say(`Phase context status code: CLIENT_ERROR Message: ${message}`);
        phases.push({ name: "UPLOAD_ARTIFACTS", status, commands: [], message, durationMs: Date.now() - started });
        failed ||= !!message;
    }

    return {
        status: failed ? "FAILED" : "SUCCEEDED",
        phases,
        exportedVariables,
        outputArtifactDir: input.outputs.length > 0 ? outputArtifacts[input.outputs[0].name] : undefined,
        outputArtifacts,
        runtimeVersions: buildspec.phases.install?.runtimeVersions ?? {},
        reports: buildspec.reports,
        log,
    };
}
