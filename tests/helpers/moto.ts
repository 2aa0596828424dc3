/**
 * moto, the AWS emulator, in server mode on a free loopback port: one per suite, stopped by stop().
 *
 * Which moto (first found wins):
 *   1. MOTO_PYTHON=<python> (with MOTO_SOURCE=<dir> for a source copy), when set: nothing else is tried, and
 *      nothing is installed;
 *   2. a copy of moto's source: MOTO_SOURCE, or shared/vendor/moto beside this checkout (or beside the checkout
 *      it was cloned from), run by a python3 that has moto's dependencies (Debian's python3-* packages);
 *   3. an installed moto 5.2.x (moto.server, moto.cloudformation, moto.awslambda importable) in python3 on PATH
 *      or /usr/bin/python3;
 *   4. the virtualenv .cache/moto-venv, if an earlier run built it from the current requirements file;
 *   5. none of these: one is set up (tests/helpers/moto-provision.ts: Debian's packages for the source copy,
 *      else the virtualenv from tests/helpers/requirements-moto.txt), and the search runs again.
 * The AWS CLI the suites run: the virtualenv's when moto is the virtualenv's, else the first working `aws` on
 * PATH; a missing CLI is set up the same way. Nothing found or set up is an error that says what to install: the
 * deploy suites never skip. The choice is printed once per process:
 *       (moto 5.2.1: installed, /usr/bin/python3; aws-cli/1.45.11 at /usr/bin/aws)
 *
 * The choice is settled when this module is first loaded (mocha loads every spec file before it runs one):
 * setting up takes minutes the first time, longer than a suite's before() hook may take; loading has no timeout.
 * A failure is kept and thrown by findMoto()/startMoto(), so that only the suites that need moto fail.
 *
 * The server is tests/helpers/moto_server.py (moto plus corrections where it departs from AWS, trust policies
 * among them; see its header).
 */
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { freePort } from "./free-port";
import { DEFAULT_VENV, planVenv, provisionDebian, provisionVenv, REQUIREMENTS, runCommand, Runner, venvCliDir } from "./moto-provision";

const ROOT = resolve(__dirname, "..", "..");
const SERVER = join(__dirname, "moto_server.py");
const MOTO_MAJOR_MINOR = "5.2";

export interface MotoRuntime {
    python: string;
    /** PYTHONPATH for a source copy; undefined for an installed moto */
    source?: string;
    version: string;
    /** the AWS CLI the suites run, and what `aws --version` says */
    aws: string;
    awsVersion: string;
}

/** Credentials of a role session moto issued. */
export interface MotoSession {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: Date;
    /** arn:aws:sts::<account>:assumed-role/<role name>/<session name> */
    arn: string;
}

export interface ServiceAssumeRole {
    /** the service principal, e.g. lambda.amazonaws.com */
    service: string;
    roleArn: string;
    sessionName: string;
    /** aws:SourceAccount: the account of the resource the service acts for (absent: not in the request context) */
    sourceAccount?: string;
    /** aws:SourceArn: that resource's ARN */
    sourceArn?: string;
    durationSeconds?: number;
}

export interface Moto {
    readonly url: string;
    readonly runtime: MotoRuntime;
    /**
     * Access control: from the next request on, every call must be signed by a known principal and is checked
     * against its IAM policies, and sts:AssumeRole also against the role's trust policy (moto's
     * INITIAL_NO_AUTH_ACTION_COUNT, set at run time through /moto-api/reset-auth).
     */
    enforceIam(): Promise<void>;
    /** An AWS service assuming a role, as the role's trust policy allows it (see assumeRoleAsService). */
    assumeRoleAsService(args: ServiceAssumeRole): Promise<MotoSession>;
    /** moto's stderr/stdout so far (request log), for a failing assertion's message */
    log(): string;
    /**
     * moto's log once it holds every one of `lines` (or after `timeoutMs`): moto writes a line before it answers,
     * but the line reaches this process through a pipe, possibly after the answer did.
     */
    logHolding(lines: readonly string[], timeoutMs?: number): Promise<string>;
    stop(): Promise<void>;
}

export interface FindOptions {
    readonly env?: NodeJS.ProcessEnv;
    /** where the virtualenv lives (.cache/moto-venv) */
    readonly venvDir?: string;
    readonly run?: Runner;
    readonly log?: (line: string) => void;
    /** whether apt-get may be run (as root); default: this process's uid is 0 */
    readonly isRoot?: boolean;
}

function originCheckout(): string | undefined {
    try {
        const url = execFileSync("git", ["-C", ROOT, "remote", "get-url", "origin"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        return url.startsWith("/") || url.startsWith(".") ? resolve(ROOT, url) : undefined;
    } catch {
        return undefined;
    }
}

/** The copies of moto's source the search looks at (MOTO_SOURCE, shared/vendor/moto beside this or the origin checkout). */
export function sourceCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
    const found = [env.MOTO_SOURCE, join(ROOT, "..", "shared", "vendor", "moto")];
    const origin = originCheckout();
    if (origin) found.push(join(origin, "..", "shared", "vendor", "moto"));
    const existing = found.filter((d): d is string => !!d && existsSync(join(d, "moto", "server.py"))).map((d) => resolve(d));
    return [...new Set(existing)];
}

/** `name` as a path: itself if it has a slash, else the first executable of that name in env.PATH's folders. */
function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
    if (name.includes(sep)) return existsSync(name) ? name : undefined;
    const candidates = (env.PATH ?? "")
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, name));
    return candidates.find((file) => {
        try {
            accessSync(file, constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

type Probe = { version: string } | { problem: string };

/** moto's version as `python` imports it (with `source` on PYTHONPATH), or why it cannot. */
function probe(python: string, source: string | undefined, env: NodeJS.ProcessEnv, run: Runner): Probe {
    const { status, stdout, output } = run({
        program: python,
        args: ["-c", "import moto, moto.server, moto.cloudformation, moto.awslambda; print(moto.__version__); print(moto.__file__)"],
        env: { ...env, PYTHONPATH: source ?? "" },
    });
    if (status !== 0) return { problem: output.trim().split("\n").pop() || `exit ${status}` };
    const [version, file] = stdout.trim().split("\n");
    if (source && !resolve(file).startsWith(source)) return { problem: `an installed moto (${file}) shadows the source` };
    if (!version.startsWith(`${MOTO_MAJOR_MINOR}.`)) return { problem: `moto ${version}, not ${MOTO_MAJOR_MINOR}.x` };
    return { version };
}

/**
 * The AWS CLI `aws` names on env.PATH, if it runs. A version manager's shim (pyenv, asdf) is a bash script, which
 * would inherit the shell options a test forces on (SHELLOPTS); its target is used instead.
 */
function awsOnPath(env: NodeJS.ProcessEnv, run: Runner): { aws: string; awsVersion: string } | undefined {
    for (const dir of (env.PATH ?? "").split(delimiter)) {
        const candidate = join(dir, "aws");
        if (!existsSync(candidate)) continue;
        let program = candidate;
        if (candidate.includes(`${sep}shims${sep}`)) {
            const which = run({ program: "pyenv", args: ["which", "aws"], env });
            if (which.status !== 0) continue;
            program = which.stdout.trim();
        }
        const found = awsVersion(program, env, run);
        if (found) return found;
    }
    return undefined;
}

function awsVersion(program: string, env: NodeJS.ProcessEnv, run: Runner): { aws: string; awsVersion: string } | undefined {
    const { status, output } = run({ program, args: ["--version"], env });
    return status === 0 ? { aws: program, awsVersion: output.trim().split(" ")[0] } : undefined;
}

interface Search {
    moto?: Omit<MotoRuntime, "aws" | "awsVersion">;
    aws?: { aws: string; awsVersion: string };
    tried: string[];
}

function search(env: NodeJS.ProcessEnv, venvDir: string, run: Runner): Search {
    const tried: string[] = [];
    const explicit = env.MOTO_PYTHON;
    const pythons = [...new Set((explicit ? [explicit] : ["python3", "/usr/bin/python3"]).map((p) => onPath(p, env) ?? p))];
    const sources = explicit ? (env.MOTO_SOURCE ? [resolve(env.MOTO_SOURCE)] : []) : sourceCandidates(env);
    const attempts: [string, string | undefined][] = [
        ...sources.flatMap((s) => pythons.map((p): [string, string] => [p, s])),
        ...(explicit && env.MOTO_SOURCE ? [] : pythons.map((p): [string, undefined] => [p, undefined])),
    ];
    const venv = planVenv({ dir: venvDir, requirements: REQUIREMENTS, basePython: "python3", env });
    if (!explicit && venv.upToDate) attempts.push([venv.python, undefined]);

    let moto: Search["moto"];
    for (const [python, source] of attempts) {
        const found = probe(python, source, env, run);
        if ("version" in found) {
            moto = { python, source, version: found.version };
            break;
        }
        tried.push(`${python}${source ? ` with ${source}` : ""}: ${found.problem}`);
    }
    const venvCli = join(venv.cliDir, "aws");
    const aws =
        moto?.python === venv.python
            ? awsVersion(venvCli, env, run)
            : (awsOnPath(env, run) ?? (venv.upToDate ? awsVersion(venvCli, env, run) : undefined));
    if (!aws) tried.push("aws: no working AWS CLI on PATH");
    return { moto, aws, tried };
}

/** Finds moto and the AWS CLI as the header says, setting them up if need be; no caching, nothing printed on success. */
export function resolveMoto(options: FindOptions = {}): MotoRuntime {
    const env = options.env ?? process.env;
    const venvDir = options.venvDir ?? DEFAULT_VENV;
    const run = options.run ?? runCommand;
    const log = options.log ?? ((line: string) => console.log(`moto: ${line}`));
    const complete = (s: Search) => (s.moto && s.aws ? { ...s.moto, ...s.aws } : undefined);

    let found = search(env, venvDir, run);
    const ready = complete(found);
    if (ready) return ready;
    if (env.MOTO_PYTHON) {
        throw new Error(`MOTO_PYTHON=${env.MOTO_PYTHON} cannot run moto ${MOTO_MAJOR_MINOR}.x with the AWS CLI: ${found.tried.join("; ")}`);
    }

    const failures: string[] = [];
    const source = sourceCandidates(env)[0];
    const ways: { way: string; provision: () => void }[] = [];
    if (source) ways.push({ way: "Debian packages", provision: () => provisionDebian(source, { env, run, log }, options.isRoot) });
    ways.push({ way: "virtualenv", provision: () => provisionVenv(venvDir, { env, run, log }) });
    for (const { way, provision } of ways) {
        try {
            provision();
        } catch (error) {
            failures.push(`${way}: ${(error as Error).message}`);
            continue;
        }
        found = search(env, venvDir, run);
        const provisioned = complete(found);
        if (provisioned) return provisioned;
        failures.push(`${way}: set up, yet still ${found.tried.join("; ")}`);
    }
    throw new Error(
        `moto ${MOTO_MAJOR_MINOR}.x (the AWS emulator the deploy suites run against) or the AWS CLI was not found, and could ` +
            `not be set up.\nTried: ${found.tried.join("; ")}\n${failures.join("\n")}`,
    );
}

function summary(runtime: MotoRuntime): string {
    const where = runtime.source ? `source ${runtime.source}` : "installed";
    return `moto ${runtime.version}: ${where}, ${runtime.python}; ${runtime.awsVersion} at ${runtime.aws}`;
}

let settled: { runtime: MotoRuntime } | { error: Error } | undefined;

/** This process's moto and AWS CLI (see the header), found or set up once. */
export function findMoto(): MotoRuntime {
    if (!settled) {
        try {
            const runtime = resolveMoto();
            // awsCli() in tests/deploy/codebuild.ts takes the first `aws` on PATH: the venv's is on it only this way
            if (dirname(runtime.aws) === venvCliDir(DEFAULT_VENV)) {
                process.env.PATH = [venvCliDir(DEFAULT_VENV), process.env.PATH].join(delimiter);
            }
            console.log(`      (${summary(runtime)})`);
            settled = { runtime };
        } catch (error) {
            settled = { error: error as Error };
        }
    }
    if ("error" in settled) throw settled.error;
    return settled.runtime;
}

/** POST /moto-api/assume-role-as-service (tests/helpers/moto_server.py, section 8) at the moto behind `url`. */
export async function assumeRoleAsService(url: string, args: ServiceAssumeRole): Promise<MotoSession> {
    const res = await fetch(`${url}/moto-api/assume-role-as-service`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(args),
    });
    const body = (await res.json()) as Record<string, string>;
    if (!res.ok) throw new Error(`${args.service} may not assume ${args.roleArn} (HTTP ${res.status}): ${body.message}`);
    return {
        accessKeyId: body.AccessKeyId,
        secretAccessKey: body.SecretAccessKey,
        sessionToken: body.SessionToken,
        expiration: new Date(body.Expiration),
        arn: body.Arn,
    };
}

export async function startMoto(options: { runtime?: MotoRuntime } = {}): Promise<Moto> {
    const runtime = options.runtime ?? findMoto();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: runtime.source ?? "", PYTHONUNBUFFERED: "1" };
    for (const k of Object.keys(env)) if (k.startsWith("AWS_") || k.startsWith("MOTO_")) delete env[k];
    const child: ChildProcess = spawn(runtime.python, [SERVER, "-H", "127.0.0.1", "-p", String(port)], {
        env,
        cwd: tmpdir(),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group: stop() ends the server and anything it started
    });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));

    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}) before it listened:\n${output}`);
        try {
            if ((await fetch(`${url}/moto-api/`)).ok) break;
        } catch {
            /* not listening yet */
        }
        if (Date.now() > deadline) {
            process.kill(-child.pid!, "SIGKILL");
            throw new Error(`moto did not listen on ${url} within 60 s:\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }

    return {
        url,
        runtime,
        async enforceIam() {
            const res = await fetch(`${url}/moto-api/reset-auth`, { method: "POST", body: "0" });
            if (!res.ok) throw new Error(`moto reset-auth: HTTP ${res.status}`);
        },
        assumeRoleAsService: (args) => assumeRoleAsService(url, args),
        log: () => output,
        async logHolding(lines, timeoutMs = 5000) {
            const until = Date.now() + timeoutMs;
            while (!lines.every((line) => output.includes(line)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
            return output;
        },
        async stop() {
            if (child.exitCode === null) {
                process.kill(-child.pid!, "SIGTERM");
                const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGKILL"), 5000);
                await exited;
                clearTimeout(timer);
            }
        },
    };
}

// Settled while mocha loads the spec files (see the header); findMoto() keeps and rethrows a failure.
try {
    findMoto();
} catch {
    /* thrown again where a suite calls findMoto() or startMoto() */
}
