/**
 * Section 2: artifact sizes. The shipped zip (build/<fn>.zip, what Serverless `package.artifact` and Pulumi
 * FileArchive both upload) against the unbundled alternative, estimated as follows:
 *
 *   handler files  = functions/**\/*.ts transpiled one by one (bench/tmp/unbundled, see cold.ts)
 *   node_modules   = the package closure of the handlers' bare imports: each imported package plus its
 *                    `dependencies`, `optionalDependencies` and installed `peerDependencies`, recursively,
 *                    resolved with Node's lookup from the repository's node_modules (nested copies included)
 *   zipped bytes   = Σ per file (raw deflate level 9 + local header 30 B + central entry 46 B + 2 × name) + 22 B,
 *                    i.e. exactly what a deflate-9 zip of those files weighs (zip compresses file by file)
 *
 * "full" ships whole package directories (what `zip -r` / Serverless' default packaging of these packages
 * would do); "pruned" keeps only what Node can load at run time (drops dist-types/, dist-es/, *.d.ts, *.map,
 * *.md): a lower bound for a hand-tuned unbundled zip. Serverless' default packaging of THIS repository
 * would also ship every other production dependency (@pulumi/aws alone is ~84 MB); that is not counted.
 */
import { builtinModules } from "node:module";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { deflateRawSync } from "node:zlib";
import { ROOT } from "./lib/proc";

export interface ZipEstimate {
    files: number;
    rawBytes: number;
    zipBytes: number;
}
export interface UnbundledEstimate {
    packages: number;
    full: ZipEstimate;
    pruned: ZipEstimate;
}

const BUILTINS = new Set(builtinModules);

function packageName(spec: string): string {
    const parts = spec.split("/");
    return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function resolvePackageDir(name: string, fromDir: string): string | undefined {
    for (let d = fromDir; ; d = dirname(d)) {
        const candidate = join(d, "node_modules", name);
        if (existsSync(join(candidate, "package.json"))) return candidate;
        if (dirname(d) === d) return undefined;
    }
}

function listFiles(dir: string, skipNodeModules = true): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
            if (skipNodeModules && e.name === "node_modules") continue;
            const p = join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) out.push(p);
        }
    };
    walk(dir);
    return out;
}

const PRUNE = /(\/dist-types\/|\/dist-es\/|\.d\.ts$|\.d\.mts$|\.d\.cts$|\.map$|\.md$)/;

function zipEstimate(files: { name: string; path: string }[]): ZipEstimate {
    let raw = 0;
    let zip = 22;
    for (const f of files) {
        const data = readFileSync(f.path);
        const nameLen = Buffer.byteLength(f.name);
        raw += data.length;
        const deflated = data.length === 0 ? 2 : deflateRawSync(data, { level: 9 }).length;
        zip += Math.min(deflated, data.length) + 30 + 46 + 2 * nameLen; // zip stores a file when deflate does not help
    }
    return { files: files.length, rawBytes: raw, zipBytes: zip };
}

/** Closure of packages the transpiled handler files import, and the zip estimate for handler + closure. */
export function estimateUnbundled(handlerFiles: string[], handlerRoot: string): UnbundledEstimate {
    const queue: { name: string; from: string }[] = [];
    for (const f of handlerFiles) {
        for (const m of readFileSync(f, "utf8").matchAll(/require\("([^"]+)"\)/g)) {
            const spec = m[1];
            if (spec.startsWith(".") || spec.startsWith("node:") || BUILTINS.has(spec)) continue;
            queue.push({ name: packageName(spec), from: dirname(f) });
        }
    }
    const dirs = new Set<string>();
    while (queue.length) {
        const { name, from } = queue.shift()!;
        const dir = resolvePackageDir(name, from);
        if (!dir || dirs.has(dir)) continue;
        dirs.add(dir);
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
        for (const field of ["dependencies", "optionalDependencies", "peerDependencies"]) {
            for (const dep of Object.keys(pkg[field] ?? {})) queue.push({ name: dep, from: dir });
        }
    }
    const files: { name: string; path: string }[] = handlerFiles.map((p) => ({ name: relative(handlerRoot, p), path: p }));
    for (const dir of dirs) {
        for (const p of listFiles(dir)) files.push({ name: relative(ROOT, p), path: p });
    }
    // sanity: every file exists and is a regular file
    for (const f of files) if (!statSync(f.path).isFile()) throw new Error(`not a file: ${f.path}`);
    return {
        packages: dirs.size,
        full: zipEstimate(files),
        pruned: zipEstimate(files.filter((f) => !PRUNE.test(f.name))),
    };
}

/** Bytes per top-level package in an esbuild metafile (what dominates a bundle). */
export function topInputs(metaPath: string, limit = 4): { name: string; bytes: number }[] {
    const meta = JSON.parse(readFileSync(metaPath, "utf8"));
    const out = Object.values(meta.outputs as Record<string, { inputs: Record<string, { bytesInOutput: number }> }>)[0];
    const agg = new Map<string, number>();
    for (const [file, v] of Object.entries(out.inputs)) {
        const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
        const key = m ? m[1] : "functions/ (own code)";
        agg.set(key, (agg.get(key) ?? 0) + v.bytesInOutput);
    }
    return [...agg.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, limit)
        .map(([name, bytes]) => ({ name, bytes }));
}
