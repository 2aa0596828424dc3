/**
 * Sets up moto and the AWS CLI for the deploy suites on a machine that has no usable ones (tests/helpers/moto.ts
 * calls this when its search finds none). Two ways, tried in this order:
 *
 *   1. Debian: the copy of moto's source beside the checkout (shared/vendor/moto, or MOTO_SOURCE) run by Debian's
 *      python3, with moto's dependencies and the AWS CLI from Debian packages (`apt-get install`, as root). Tried
 *      only where such a source copy exists.
 *   2. virtualenv: `python3 -m venv .cache/moto-venv` and `pip install -r tests/helpers/requirements-moto.txt`
 *      (moto[server] and awscli v1, every package pinned). Needs PyPI or a mirror (PIP_INDEX_URL, pip.conf).
 *
 * Why in this order: the source copy exists only on machines set up for working offline (they reach npm and
 * Debian, not PyPI; see shared/vendor/moto/README.md), and looking for it costs nothing, where telling whether
 * PyPI is reachable costs a network timeout on exactly those machines. A clone on CodeBuild or a GitHub runner
 * has no source copy beside it and goes straight to the virtualenv. If the first way fails (not root, no
 * apt-get), the second is tried, with pip's timeouts cut short (--timeout 15 --retries 1) so an unreachable index
 * fails in seconds; the error then says both ways and what each needs.
 *
 * Both are cached on disk: Debian's packages stay installed, and the virtualenv carries a marker file with the
 * SHA-256 of the requirements file it was built from, so an unchanged venv costs one file read.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";

const ROOT = resolve(__dirname, "..", "..");
export const REQUIREMENTS = join(__dirname, "requirements-moto.txt");
export const DEFAULT_VENV = join(ROOT, ".cache", "moto-venv");

/** What the source copy needs from Debian 12 (shared/vendor/moto/README.md), and the AWS CLI the suites run. */
export const DEBIAN_PACKAGES = [
    "python3-boto3",
    "python3-botocore",
    "python3-cryptography",
    "python3-requests",
    "python3-xmltodict",
    "python3-werkzeug",
    "python3-responses",
    "python3-flask",
    "python3-flask-cors",
    "python3-yaml",
    "python3-pyparsing",
    "python3-jsonschema",
    "awscli",
];

/** The Python versions the pinned set installs on (networkx 3.6.1 needs 3.11, cfn-lint 1.51.0 stops before 3.15). */
const VENV_PYTHON = { min: [3, 11], max: [3, 14] } as const;

export interface Command {
    readonly program: string;
    readonly args: readonly string[];
    readonly env?: NodeJS.ProcessEnv;
}

export interface CommandResult {
    /** exit status; null when the program could not be started or was killed */
    readonly status: number | null;
    readonly stdout: string;
    /** stdout and stderr */
    readonly output: string;
}

export type Runner = (command: Command) => CommandResult;

export const runCommand: Runner = ({ program, args, env }) => {
    const result = spawnSync(program, args, {
        env: env ?? process.env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 20 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    return {
        status: result.error ? null : result.status,
        stdout: result.stdout ?? "",
        output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? result.error.message : ""}`,
    };
};

export const commandLine = ({ program, args }: Command) => [program, ...args].join(" ");

export interface ProvisionOptions {
    readonly env: NodeJS.ProcessEnv;
    readonly run: Runner;
    readonly log: (line: string) => void;
}

function lastLines(output: string, count: number): string {
    return output.trim().split("\n").slice(-count).join("\n");
}

// ---- 1. Debian ------------------------------------------------------------------------------------------------

/** The apt-get command that installs DEBIAN_PACKAGES; `-o DPkg::Lock::Timeout` waits for another apt-get. */
export function debianInstall(env: NodeJS.ProcessEnv): Command {
    return {
        program: "apt-get",
        args: ["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", ...DEBIAN_PACKAGES],
        env: { ...env, DEBIAN_FRONTEND: "noninteractive" },
    };
}

/** Why this machine cannot install Debian's packages itself, or undefined when it can. */
export function debianUnavailable(isRoot: boolean, run: Runner, env: NodeJS.ProcessEnv): string | undefined {
    if (!isRoot) return `not root: as root, apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`;
    if (run({ program: "apt-get", args: ["--version"], env }).status !== 0) {
        return `no apt-get here: install moto's dependencies and the AWS CLI another way (${DEBIAN_PACKAGES.join(" ")})`;
    }
    return undefined;
}

/** Installs DEBIAN_PACKAGES (once more after `apt-get update` if the package lists are stale). Throws why not. */
export function provisionDebian(source: string, { env, run, log }: ProvisionOptions, isRoot = process.getuid?.() === 0): void {
    const unavailable = debianUnavailable(isRoot, run, env);
    if (unavailable) throw new Error(`Debian packages for the moto source at ${source}: ${unavailable}`);
    const install = debianInstall(env);
    log(`installing moto's dependencies (for the source at ${source}) and the AWS CLI from Debian: ${commandLine(install)}`);
    const started = Date.now();
    let result = run(install);
    if (result.status !== 0) {
        log("apt-get install failed; apt-get update, then once more");
        const update = run({ program: "apt-get", args: ["update", "-qq"], env: install.env });
        if (update.status === 0) result = run(install);
    }
    if (result.status !== 0) {
        throw new Error(`apt-get could not install ${DEBIAN_PACKAGES.join(" ")}:\n${lastLines(result.output, 15)}`);
    }
    log(`Debian packages installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// ---- 2. virtualenv --------------------------------------------------------------------------------------------

export interface VenvPlan {
    readonly dir: string;
    /** the venv's interpreter, which runs moto */
    readonly python: string;
    /** a folder holding only `aws` (the venv's CLI), to put first on PATH without the venv's python3 and pip */
    readonly cliDir: string;
    readonly marker: string;
    /** SHA-256 of the requirements file: the marker's content once the venv is built from it */
    readonly requirementsSha256: string;
    readonly upToDate: boolean;
    /** what builds it, in order; empty when upToDate */
    readonly commands: readonly Command[];
}

/** The folder of a venv that holds only `aws`, a link to the venv's CLI. */
export const venvCliDir = (dir: string) => join(dir, "aws-cli");

export function sha256(file: string): string {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** How the venv at `dir` is built from `requirements` by `basePython`, or that it already is. */
export function planVenv(args: { dir: string; requirements: string; basePython: string; env: NodeJS.ProcessEnv }): VenvPlan {
    const { dir, requirements, basePython, env } = args;
    const python = join(dir, "bin", "python");
    const marker = join(dir, ".requirements.sha256");
    const requirementsSha256 = sha256(requirements);
    const upToDate = existsSync(python) && existsSync(marker) && readFileSync(marker, "utf8").trim() === requirementsSha256;
    const pipEnv = { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" };
    return {
        dir,
        python,
        cliDir: venvCliDir(dir),
        marker,
        requirementsSha256,
        upToDate,
        commands: upToDate
            ? []
            : [
                  // --clear: whatever an interrupted or older build left is dropped, so the venv holds exactly the pins
                  { program: basePython, args: ["-m", "venv", "--clear", dir], env },
                  {
                      program: python,
                      args: ["-m", "pip", "install", "--timeout", "15", "--retries", "1", "--progress-bar", "off", "-r", requirements],
                      env: pipEnv,
                  },
              ],
    };
}

/**
 * The first python3 on PATH from 3.11 to 3.14 that has the venv module and ensurepip (Debian ships them apart,
 * in python3-venv). Throws what it found instead.
 */
export function venvBasePython(env: NodeJS.ProcessEnv, run: Runner): string {
    const found: string[] = [];
    for (const candidate of ["python3", "python3.14", "python3.13", "python3.12", "python3.11"]) {
        const probe = run({
            program: candidate,
            args: ["-c", "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"],
            env,
        });
        const version = probe.stdout.trim();
        if (probe.status !== 0) {
            if (probe.status !== null) found.push(`${candidate}: ${lastLines(probe.output, 1)}`);
            continue;
        }
        const [major, minor] = version.split(".").map(Number);
        if (major === 3 && minor >= VENV_PYTHON.min[1] && minor <= VENV_PYTHON.max[1]) return candidate;
        found.push(`${candidate}: Python ${version}`);
    }
    throw new Error(
        `no python3 from ${VENV_PYTHON.min.join(".")} to ${VENV_PYTHON.max.join(".")} with the venv module on PATH ` +
            `(${found.join("; ") || "none found"}). On CodeBuild: runtime-versions python: 3.11; Debian: apt-get install python3-venv`,
    );
}

const UNREACHABLE_INDEX =
    /Could not resolve host|Name or service not known|Temporary failure in name resolution|Failed to establish a new connection|Network is unreachable|Connection refused|timed out|No matching distribution found/i;

/** The error for a failed `pip install -r requirements`: what pip said, and what to do about it. */
export function pipFailure(output: string, requirements: string): Error {
    const said = output
        .split("\n")
        .filter((line) => /^(ERROR|WARNING: Retrying)/.test(line.trim()))
        .slice(-3)
        .join("\n");
    const file = relative(ROOT, requirements);
    const advice = UNREACHABLE_INDEX.test(output)
        ? `pip could not reach a package index for ${file}: this needs PyPI, or a mirror of it in PIP_INDEX_URL (or pip.conf). ` +
          `Without one: put a copy of moto's source in shared/vendor/moto beside the checkout (or point MOTO_SOURCE at one) ` +
          `and, as root, apt-get install -y ${DEBIAN_PACKAGES.join(" ")}; or set MOTO_PYTHON to a python3 with moto[server] 5.2.x`
        : `pip could not install ${file}`;
    return new Error(`${advice}.\npip said:\n${said || lastLines(output, 10)}`);
}

/** Builds (or finds up to date) the venv in `dir`. Returns its plan; throws what went wrong and what to do. */
export function provisionVenv(dir: string, { env, run, log }: ProvisionOptions, requirements = REQUIREMENTS): VenvPlan {
    const where = dir.startsWith(`${ROOT}${sep}`) ? relative(ROOT, dir) : dir;
    const peek = planVenv({ dir, requirements, basePython: "python3", env });
    if (peek.upToDate) return peek;
    const plan = planVenv({ dir, requirements, basePython: venvBasePython(env, run), env });
    const [create, install] = plan.commands;
    log(`creating a virtualenv for moto in ${where}: ${commandLine(create)}`);
    const started = Date.now();
    const created = run(create);
    if (created.status !== 0) throw new Error(`${commandLine(create)} failed:\n${lastLines(created.output, 10)}`);
    log(`installing ${relative(ROOT, requirements)} (moto[server], awscli v1, every dependency pinned): ${commandLine(install)}`);
    const installed = run(install);
    if (installed.status !== 0) {
        rmSync(dir, { recursive: true, force: true }); // no half-built venv for the next run to trust
        throw pipFailure(installed.output, requirements);
    }
    mkdirSync(plan.cliDir, { recursive: true });
    symlinkSync(join("..", "bin", "aws"), join(plan.cliDir, "aws"));
    writeFileSync(plan.marker, `${plan.requirementsSha256}\n`);
    log(`virtualenv ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { ...plan, upToDate: true, commands: [] };
}
