/**
 * Section 3: warm latency (handlers vs raw SDK, in the child) and HTTP load (autocannon, in this process)
 * against the local API and against a bare node:http server (the HTTP baseline). See bench/warm-child.ts.
 */
import type { ChildProcess } from "node:child_process";
import { forkTs } from "./lib/proc";
import { percentile } from "./lib/stats";

// autocannon 9 ships no types; the part used here.
interface AcRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (req: AcRequest) => AcRequest;
}
interface AcResult {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; average: number; max: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
    duration: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon") as (opts: Record<string, unknown>) => Promise<AcResult>;

export interface LatencyStats {
    n: number;
    p50: number;
    p99: number;
}
export interface LoadStats {
    name: string;
    rps: number;
    p50: number;
    p99: number;
    total: number;
    ok2xx: number;
    errors: number;
    timeouts: number;
    non2xx: number;
}
export interface WarmResult {
    latency: Record<"handler-create" | "sdk-put" | "handler-find" | "sdk-get", LatencyStats>;
    unexpected: Record<string, number>;
    rounds: number;
    load: LoadStats[];
}

function waitFor(child: ChildProcess, type: string, timeoutMs: number): Promise<any> {
    return new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`bench/warm-child.ts: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (m: any) => {
            if (m?.type === "error") {
                clearTimeout(timer);
                fail(new Error(`bench/warm-child.ts failed: ${m.message}`));
            } else if (m?.type === type) {
                clearTimeout(timer);
                child.off("message", onMessage);
                ok(m);
            }
        };
        child.on("message", onMessage);
        child.once("exit", (code) => {
            clearTimeout(timer);
            fail(new Error(`bench/warm-child.ts exited (${code}) before "${type}"`));
        });
    });
}

async function load(name: string, url: string, requests: AcRequest[], durationS: number, connections: number): Promise<LoadStats> {
    const r = await autocannon({ url, connections, duration: durationS, maxOverallRequests: 200_000, requests, timeout: 5 });
    return {
        name,
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        total: r.requests.total,
        ok2xx: r["2xx"],
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
    };
}

export async function runWarm(opts: {
    perKind: number;
    warmup: number;
    batch: number;
    maxMs: number;
    loadSeconds: number;
    connections: number;
}): Promise<WarmResult> {
    const child = forkTs("warm-child.ts", [JSON.stringify(opts)]);
    const killer = setTimeout(() => child.kill("SIGKILL"), opts.maxMs + 4 * opts.loadSeconds * 1000 + 60_000);
    try {
        const latencyMsg = waitFor(child, "latency", opts.maxMs + 60_000);
        const readyMsg = waitFor(child, "ready", opts.maxMs + 60_000);
        const lat = await latencyMsg;
        const ready = await readyMsg;
        const latency = Object.fromEntries(
            Object.entries(lat.samples as Record<string, number[]>).map(([k, xs]) => [
                k,
                { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) },
            ]),
        ) as WarmResult["latency"];

        const ids: string[] = ready.findIds;
        const run = `${Date.now().toString(36)}`;
        let i = 0;
        const body = (id: string) => JSON.stringify({ id, title: "Amazon Echo", description: "Smart speaker with Alexa", price: "89.99" });
        const json = { "Content-Type": "application/json" };
        const results: LoadStats[] = [];
        results.push(
            await load(
                "bare GET (baseline)",
                ready.bareUrl,
                [{ method: "GET", path: "/product/find/x" }],
                opts.loadSeconds,
                opts.connections,
            ),
        );
        results.push(
            await load(
                "API GET /product/find/{id}",
                ready.apiUrl,
                [{ method: "GET", setupRequest: (req) => ({ ...req, path: `/product/find/${ids[i++ % ids.length]}` }) }],
                opts.loadSeconds,
                opts.connections,
            ),
        );
        results.push(
            await load(
                "bare POST (baseline)",
                ready.bareUrl,
                [{ method: "POST", path: "/product/create", headers: json, body: body("x") }],
                opts.loadSeconds,
                opts.connections,
            ),
        );
        results.push(
            await load(
                "API POST /product/create",
                ready.apiUrl,
                [
                    {
                        method: "POST",
                        path: "/product/create",
                        headers: json,
                        setupRequest: (req) => ({ ...req, body: body(`ac-${run}-${i++}`) }),
                    },
                ],
                opts.loadSeconds,
                opts.connections,
            ),
        );
        const stopped = waitFor(child, "stopped", 15_000);
        child.send({ type: "stop" });
        await stopped;
        return { latency, unexpected: lat.unexpected, rounds: lat.rounds, load: results };
    } finally {
        clearTimeout(killer);
        if (child.exitCode === null) child.kill("SIGKILL");
    }
}
