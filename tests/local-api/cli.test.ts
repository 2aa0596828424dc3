/**
 * The local API as people run it: `./nodew npm start -- --port N` (npm → `sh -c "<start script>"` → ts-node
 * scripts/local-api.ts). Stopping npm alone must stop the server; a busy port must say so in one line.
 *
 * Process trees are read from /proc (Linux, as in CI). Every process a test starts is killed by pid afterwards,
 * whatever the outcome, so a failing run leaves no server behind.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { buildFunctions, ROOT } from "../../scripts/build-functions";
import { freePort } from "../helpers/free-port";

/** pid → parent pid, and whether it has exited (a zombie counts as exited), for every process visible in /proc. */
function processTable(): Map<number, { ppid: number; exited: boolean }> {
    const table = new Map<number, { ppid: number; exited: boolean }>();
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // "pid (comm) state ppid …": comm may contain spaces and parentheses, so read after the last ")".
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            table.set(Number(entry), { ppid: Number(ppid), exited: state === "Z" || state === "X" });
        } catch {
            // exited while we were reading
        }
    }
    return table;
}

/** The process and all its descendants. */
function processTree(root: number): number[] {
    const table = processTable();
    const tree = [root];
    for (let i = 0; i < tree.length; i++) {
        for (const [pid, p] of table) if (p.ppid === tree[i] && !p.exited && !tree.includes(pid)) tree.push(pid);
    }
    return tree;
}

/** The pids of `pids` that are still running. */
function stillRunning(pids: number[]): number[] {
    const table = processTable();
    return pids.filter((pid) => table.has(pid) && !table.get(pid)!.exited);
}

const commandLine = (pid: number) => {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
        return "";
    }
};

async function answers(port: number): Promise<boolean> {
    try {
        await fetch(`http://127.0.0.1:${port}/product/find/probe`, { signal: AbortSignal.timeout(1000) });
        return true;
    } catch {
        return false;
    }
}

async function waitFor(what: string, ms: number, check: () => boolean | Promise<boolean>, output: () => string) {
    const deadline = Date.now() + ms;
    while (!(await check())) {
        if (Date.now() > deadline)
            throw new Error(`${what} within ${ms} ms; output so far (last 3000 characters):\n${output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

interface Started {
    child: ChildProcess;
    output: () => string;
    exited: Promise<number | null>;
}

function start(command: string, args: string[]): Started {
    let output = "";
    const child = spawn(command, args, {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LOG_LEVEL: "silent" },
    });
    child.stdout!.on("data", (c) => (output += c));
    child.stderr!.on("data", (c) => (output += c));
    const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
    return { child, output: () => output, exited };
}

describe("local API command line (npm start, scripts/local-api.ts)", function () {
    this.timeout(120_000);
    let leftovers: number[] = [];
    afterEach(() => {
        // Only what this test started, by pid: a failed assertion must not leave a server running.
        for (const pid of leftovers) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        leftovers = [];
    });

    // SIGKILL: npm cannot pass anything on; the server must notice that its parent is gone.
    for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
        it(`${signal} to the npm process alone stops the server: the port closes and no process remains`, async () => {
            const port = await freePort();
            const run = start(join(ROOT, "nodew"), ["npm", "start", "--", "--port", String(port)]);
            leftovers = [run.child.pid!];
            await waitFor(`npm start answering on ${port}`, 90_000, () => answers(port), run.output);

            const tree = processTree(run.child.pid!);
            leftovers = tree;
            const server = tree.find((pid) => commandLine(pid).includes("scripts/local-api.ts"));
            expect(server, `a local-api.ts process under npm (tree: ${tree.map(commandLine).join(" | ")})`).to.not.equal(undefined);

            run.child.kill(signal); // the npm process only, as a process manager or `kill <pid>` would
            await waitFor(`port ${port} closed after ${signal}`, 5000, async () => !(await answers(port)), run.output);
            await waitFor(
                `every process of npm start gone after ${signal}`,
                5000,
                () => stillRunning(tree).length === 0,
                () => `${run.output()}\nstill running: ${stillRunning(tree).map(commandLine).join(" | ")}`,
            );
            await run.exited;
        });
    }

    it("a busy port: one line saying so and suggesting a free one, exit 1, no stack trace", async () => {
        const blocker: Server = createServer();
        const port = await freePort();
        await new Promise<void>((ok) => blocker.listen(port, "127.0.0.1", () => ok()));
        try {
            await buildFunctions({ quiet: true }); // what `npm start` does before it runs this command
            const run = start(process.execPath, [
                require.resolve("ts-node/dist/bin"),
                "--transpile-only",
                "scripts/local-api.ts",
                "--port",
                String(port),
            ]);
            leftovers = [run.child.pid!];
            const code = await run.exited;
            const output = run.output();
            expect(code, output).to.equal(1);
            const match = /^local-api: port (\d+) is in use; choose another with npm start -- --port (\d+)$/m.exec(output);
            expect(match, output).to.not.equal(null);
            expect(Number(match![1])).to.equal(port);
            const suggested = Number(match![2]);
            expect(suggested).to.not.equal(port);
            // The suggestion is free: it can be listened on.
            const probe = createServer();
            await new Promise<void>((ok, fail) => probe.once("error", fail).listen(suggested, "127.0.0.1", () => ok()));
            await new Promise<void>((ok) => probe.close(() => ok()));
            expect(output).not.to.match(/EADDRINUSE|\n\s+at /);
        } finally {
            await new Promise<void>((ok) => blocker.close(() => ok()));
        }
    });
});
