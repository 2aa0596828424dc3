/**
 * Section 1: cold init. Each sample is the wall time of a fresh `node -e` process (spawnSync, Lambda-like env,
 * nothing else inherited); variants are interleaved round by round, the order rotating every round, so drift
 * on a shared machine hits them all alike. The child also reports the in-process require() time (module
 * load + init only, no process start), which is steadier than the wall time.
 */
import { build as esbuild } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { cleanEnv, LAMBDA_LIKE_ENV, ROOT, timeSync } from "./lib/proc";
import { median, percentile } from "./lib/stats";

export interface ColdVariant {
    key: string;
    label: string;
    /** module to require; undefined = empty process (`node -e ''`) */
    module?: string;
    /** extra modules to require instead of one bundle (the builtins floor) */
    modules?: string[];
}

export interface ColdStats {
    key: string;
    label: string;
    runs: number;
    wallMedian: number;
    wallP25: number;
    wallP75: number;
    requireMedian: number | null;
    failures: number;
    firstError?: string;
}

export const UNBUNDLED_DIR = join(ROOT, "bench", "tmp", "unbundled");

/**
 * The handlers as they would ship without a bundler: functions/**\/*.ts transpiled file by file (esbuild,
 * bundle:false, cjs) into bench/tmp/unbundled/ (gitignored). Bare imports resolve from the repository's
 * node_modules (dist-cjs builds, the SDK's default credential chain), as from a zip holding node_modules.
 */
export async function buildUnbundled(): Promise<string[]> {
    rmSync(UNBUNDLED_DIR, { recursive: true, force: true });
    mkdirSync(UNBUNDLED_DIR, { recursive: true });
    const srcDir = join(ROOT, "functions");
    const entries: string[] = [];
    const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
            const p = join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) entries.push(p);
        }
    };
    walk(srcDir);
    await esbuild({
        absWorkingDir: ROOT,
        entryPoints: entries,
        outdir: UNBUNDLED_DIR,
        outbase: srcDir,
        bundle: false,
        platform: "node",
        target: "node22",
        format: "cjs",
        logLevel: "silent",
    });
    return entries.map((e) => join(UNBUNDLED_DIR, relative(srcDir, e).replace(/\.ts$/, ".js")));
}

/** node: builtins a bundle requires (what any code doing HTTPS + SigV4 needs as well). */
export function builtinsOf(bundle: string): string[] {
    const text = readFileSync(bundle, "utf8");
    return [...new Set([...text.matchAll(/require\("(node:[a-z_/0-9]+)"\)/g)].map((m) => m[1]))].sort();
}

function script(v: ColdVariant): string {
    if (!v.module && !v.modules) return "";
    const mods = JSON.stringify(v.modules ?? [v.module]);
    return `const t=process.hrtime.bigint();for(const m of ${mods})require(m);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
}

/**
 * The measuring loop runs in a small plain-JS launcher process (`node -e`), not in this ts-node process:
 * spawning from a lean parent keeps fork/exec overhead (which grows with the parent's heap) out of every
 * sample, baseline included.
 */
const LAUNCHER = `
const { spawnSync } = require("node:child_process");
const o = JSON.parse(process.argv[1]);
const n = o.scripts.length;
const wall = o.scripts.map(() => []), req = o.scripts.map(() => []), fail = o.scripts.map(() => 0), err = o.scripts.map(() => null);
const clock = () => Number(process.hrtime.bigint()) / 1e6;
const run = (i) => {
  const t0 = clock();
  const r = spawnSync(process.execPath, ["-e", o.scripts[i]], { env: o.env, cwd: o.cwd, encoding: "utf8", timeout: 30000 });
  const dt = clock() - t0;
  if (r.status !== 0) { fail[i]++; err[i] = err[i] || String(r.stderr || r.error || r.signal).split("\\n").slice(0, 4).join(" | "); return; }
  wall[i].push(dt);
  if (o.scripts[i]) req[i].push(Number(r.stdout));
};
for (let i = 0; i < n; i++) spawnSync(process.execPath, ["-e", o.scripts[i]], { env: o.env, cwd: o.cwd }); // warm page cache, unrecorded
const started = clock();
for (let round = 0; round < o.runs; round++) {
  if (round >= o.minRuns && clock() - started > o.softMs) break;
  for (let j = 0; j < n; j++) run((j + round) % n);
}
process.stdout.write(JSON.stringify({ wall, req, fail, err }));
`;

export function measureCold(variants: ColdVariant[], opts: { runs: number; minRuns: number; softMs: number }): ColdStats[] {
    const env = cleanEnv(LAMBDA_LIKE_ENV);
    const payload = JSON.stringify({ scripts: variants.map(script), env, cwd: ROOT, ...opts });
    const r = timeSync(process.execPath, ["-e", LAUNCHER, payload], { env: cleanEnv(), timeoutMs: opts.softMs * 3 + 60_000 });
    if (r.status !== 0) throw new Error(`cold-init launcher failed (${r.status ?? r.signal}): ${r.stderr.slice(0, 2000)}`);
    const { wall, req, fail, err } = JSON.parse(r.stdout) as { wall: number[][]; req: number[][]; fail: number[]; err: (string | null)[] };
    const q = (xs: number[], p: number) => percentile(xs, p);
    return variants.map((v, i) => ({
        key: v.key,
        label: v.label,
        runs: wall[i].length,
        wallMedian: median(wall[i]),
        wallP25: q(wall[i], 25),
        wallP75: q(wall[i], 75),
        requireMedian: req[i].length ? median(req[i]) : null,
        failures: fail[i],
        ...(err[i] ? { firstError: err[i]! } : {}),
    }));
}
