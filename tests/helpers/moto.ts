/**
 * moto, the AWS emulator, in server mode on a free loopback port: one per suite, stopped by stop().
 *
 * Which moto (first found wins; the chosen one is printed once per process):
 *   1. MOTO_PYTHON=<python> (with MOTO_SOURCE=<dir> for a source copy), when set: nothing else is tried;
 *   2. a copy of moto's source: MOTO_SOURCE, or shared/vendor/moto beside this checkout (or beside the checkout
 *      it was cloned from), run by a python3 that has moto's dependencies (Debian's python3-* packages);
 *   3. an installed moto (`pip install 'moto[server]==5.2.*'`) in python3 on PATH or /usr/bin/python3.
 * Nothing found is an error that says how to install it: the deploy suites never skip.
 *
 * The server is tests/helpers/moto_server.py (moto plus request resource ARNs for CloudFormation and Lambda,
 * so that access control can evaluate resource-scoped statements; see its header).
 */
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "./free-port";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");
const SERVER = join(__dirname, "moto_server.py");
const MOTO_MAJOR_MINOR = "5.2";

export interface MotoRuntime {
    python: string;
    /** PYTHONPATH for a source copy; undefined for an installed moto */
    source?: string;
    version: string;
}

export interface Moto {
    readonly url: string;
    readonly runtime: MotoRuntime;
    /**
     * Access control: from the next request on, every call must be signed by a known principal and is checked
     * against its IAM policies (moto's INITIAL_NO_AUTH_ACTION_COUNT, set at run time through /moto-api/reset-auth).
     */
    enforceIam(): Promise<void>;
    /** moto's stderr/stdout so far (request log), for a failing assertion's message */
    log(): string;
    stop(): Promise<void>;
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

function sourceCandidates(): string[] {
    const found = [process.env.MOTO_SOURCE, join(ROOT, "..", "shared", "vendor", "moto")];
    const origin = originCheckout();
    if (origin) found.push(join(origin, "..", "shared", "vendor", "moto"));
    return found.filter((d): d is string => !!d && existsSync(join(d, "moto", "server.py")));
}

/** moto's version as `python` imports it (with `source` on PYTHONPATH), or undefined if it cannot. */
function probe(python: string, source?: string): string | undefined {
    try {
        const out = execFileSync(
            python,
            ["-c", "import moto, moto.server, moto.cloudformation, moto.awslambda; print(moto.__version__); print(moto.__file__)"],
            {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
                env: { ...process.env, PYTHONPATH: source ?? "" },
                timeout: 60_000,
            },
        );
        const [version, file] = out.trim().split("\n");
        if (source && !resolve(file).startsWith(resolve(source))) return undefined; // an installed moto shadowed it
        return version;
    } catch {
        return undefined;
    }
}

let chosen: MotoRuntime | undefined;

export function findMoto(): MotoRuntime {
    if (chosen) return chosen;
    const pythons = process.env.MOTO_PYTHON ? [process.env.MOTO_PYTHON] : ["python3", "/usr/bin/python3"];
    const sources = process.env.MOTO_PYTHON ? (process.env.MOTO_SOURCE ? [process.env.MOTO_SOURCE] : []) : sourceCandidates();
    const attempts: [string, string | undefined][] = [
        ...sources.flatMap((s) => pythons.map((p): [string, string] => [p, s])),
        ...(process.env.MOTO_PYTHON && process.env.MOTO_SOURCE ? [] : pythons.map((p): [string, undefined] => [p, undefined])),
    ];
    for (const [python, source] of attempts) {
        const version = probe(python, source);
        if (!version) continue;
        if (!version.startsWith(`${MOTO_MAJOR_MINOR}.`)) {
            throw new Error(
                `moto ${version} (${python}${source ? `, ${source}` : ""}) is not ${MOTO_MAJOR_MINOR}.x: pip install 'moto[server]==${MOTO_MAJOR_MINOR}.*'`,
            );
        }
        chosen = { python, source, version };
        console.log(`      (moto ${version}: ${source ? `source ${source}` : "installed"}, ${python})`);
        return chosen;
    }
    throw new Error(
        "moto (the AWS emulator the deploy suites run against) was not found. Either " +
            `pip install 'moto[server]==${MOTO_MAJOR_MINOR}.*', or point MOTO_SOURCE at a copy of its source and install its ` +
            "dependencies (Debian/Ubuntu: see .ci/run for the apt-get line). Tried: " +
            attempts.map(([p, s]) => (s ? `${p} with ${s}` : p)).join("; "),
    );
}

export async function startMoto(): Promise<Moto> {
    const runtime = findMoto();
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
        log: () => output,
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
