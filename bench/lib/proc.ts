/** Process helpers for the benchmark: clean environments, timed spawns, TypeScript children with IPC. */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { now } from "./stats";

export const ROOT = resolve(__dirname, "..", "..");

/**
 * A minimal environment: PATH/HOME/locale from the caller and nothing else (no AWS_*, NODE_OPTIONS or npm_*
 * variables leak into measured processes), plus `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const keep = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"];
    const env: NodeJS.ProcessEnv = {};
    for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
    return { ...env, ...extra };
}

/** What Lambda gives a function at init (fake credentials; nothing here makes a network call). */
export const LAMBDA_LIKE_ENV: Record<string, string> = {
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIAFAKEFAKEFAKEFAKE",
    AWS_SECRET_ACCESS_KEY: "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake",
    AWS_SESSION_TOKEN: "FAKEsessionTOKEN",
    AWS_LAMBDA_FUNCTION_NAME: "bench",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    PRODUCTS_TABLE_NAME: "product-catalog-service-bench-products",
};

/** Runs a command to completion, synchronously, and returns its wall time. */
export function timeSync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}) {
    const t0 = now();
    const r = spawnSync(cmd, args, {
        cwd: opts.cwd ?? ROOT,
        env: opts.env ?? cleanEnv(),
        encoding: "utf8",
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    return { ms: now() - t0, status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

/** Runs a command asynchronously (the event loop stays free), with a hard timeout. */
export function timeAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }) {
    return new Promise<{ ms: number; status: number | null; output: string; timedOut: boolean }>((ok) => {
        const t0 = now();
        const child = spawn(cmd, args, {
            cwd: opts.cwd ?? ROOT,
            env: opts.env ?? process.env,
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
        let output = "";
        const collect = (b: Buffer) => {
            output += b.toString("utf8");
            if (output.length > 4_000_000) output = output.slice(-2_000_000);
        };
        child.stdout!.on("data", collect);
        child.stderr!.on("data", collect);
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            try {
                process.kill(-child.pid!, "SIGKILL"); // the child's own process group (detached), nothing else
            } catch {
                child.kill("SIGKILL");
            }
        }, opts.timeoutMs);
        child.on("close", (status) => {
            clearTimeout(timer);
            ok({ ms: now() - t0, status, output, timedOut });
        });
    });
}

/** Forks a TypeScript module of bench/ (transpile-only ts-node) with an IPC channel. */
export function forkTs(file: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    return fork(join(ROOT, "bench", file), args, {
        cwd: ROOT,
        env,
        execArgv: ["--require", "ts-node/register/transpile-only"],
        stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
}

/** Collects IPC messages from a forked child until it exits (or the time limit kills it). */
export function collectMessages<T = any>(
    child: ChildProcess,
    timeoutMs: number,
): Promise<{ messages: T[]; code: number | null; timedOut: boolean }> {
    return new Promise((ok) => {
        const messages: T[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        child.on("message", (m) => messages.push(m as T));
        child.on("exit", (code) => {
            clearTimeout(timer);
            ok({ messages, code, timedOut });
        });
    });
}
