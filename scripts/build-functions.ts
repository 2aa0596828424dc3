/**
 * Builds the Lambda artifacts both deployers ship, one per route of functions/routes.json (handler string
 * `index.handler`, the route table's functionSettings.handler):
 *
 *   build/<fn>/index.js     esbuild bundle (node22, cjs, minified, AWS SDK bundled at the pinned version)
 *   build/<fn>.zip          deterministic zip holding only index.js (fixed timestamp and mode: the same
 *                           source gives byte-identical zips, so Pulumi/Serverless redeploy only on change)
 *   build/<fn>.meta.json    esbuild metafile, for bundle analysis (https://esbuild.github.io/analyze/)
 *
 * Credentials: the SDK's default chain (@aws-sdk/credential-provider-node) statically links SSO, INI, process,
 * web-identity, IMDS/ECS and login providers. Lambda always hands a function its role credentials in
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and the local gateway sets fake ones the same
 * way, so the bundle swaps that module for functions/lib/env-credentials.ts (env first, then the container
 * endpoint AWS_CONTAINER_CREDENTIALS_FULL_URI in case a runtime ever serves credentials that way).
 * `--full-credential-chain` builds with the SDK default instead (for comparison).
 *
 * Usage: ts-node --transpile-only scripts/build-functions.ts [--full-credential-chain]
 */
import { build as esbuild, type Plugin } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { FUNCTION_SETTINGS, ROUTES } from "../functions/route-table";

export const ROOT = resolve(__dirname, "..");
/** One bundle per route of the route table (functions/routes.json): functions/<bundle>.ts → build/<bundle>.zip. */
export const FUNCTIONS: readonly string[] = ROUTES.map((r) => r.bundle);
export type FunctionName = string;
/** The file in each zip that the handler string names (`index` of `index.handler`). */
const HANDLER_FILE = `${FUNCTION_SETTINGS.handler.slice(0, FUNCTION_SETTINGS.handler.lastIndexOf("."))}.js`;

export interface BuildOptions {
    outDir?: string; // default <repo>/build
    quiet?: boolean;
    fullCredentialChain?: boolean;
}

export interface BuiltFunction {
    name: FunctionName;
    bundle: string;
    zip: string;
    meta: string;
    rawBytes: number;
    zipBytes: number;
}

/** Redirects the SDK's default credential chain to the env(+container) provider. See header comment. */
const envCredentialsPlugin: Plugin = {
    name: "env-credentials",
    setup(b) {
        b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
            path: join(ROOT, "functions", "lib", "env-credentials.ts"),
        }));
    },
};

// ---- deterministic zip (store one file, deflated) -------------------------------------------------------
const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the zip epoch
const UNIX_FILE_0644 = (0o100644 << 16) >>> 0;

export function zipSingleFile(name: string, data: Buffer): Buffer {
    const nameBuf = Buffer.from(name, "utf8");
    const deflated = deflateRawSync(data, { level: 9 });
    const crc = crc32(data) >>> 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(8, 8); // method: deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28); // extra length

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory header signature
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode below is honoured)
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attrs
    central.writeUInt32LE(UNIX_FILE_0644, 38); // external attrs: -rw-r--r--
    central.writeUInt32LE(0, 42); // offset of local header

    const centralSize = central.length + nameBuf.length;
    const centralOffset = local.length + nameBuf.length + deflated.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
    end.writeUInt16LE(1, 8); // entries on this disk
    end.writeUInt16LE(1, 10); // entries total
    end.writeUInt32LE(centralSize, 12);
    end.writeUInt32LE(centralOffset, 16);

    return Buffer.concat([local, nameBuf, deflated, central, nameBuf, end]);
}

// ---- build ---------------------------------------------------------------------------------------------
/**
 * Replaces `path` in one step (a rename within its directory): a reader — `npm start` in another process, a
 * deploy packaging build/ — sees the old file or the new one, never none or half of one, even while builds overlap.
 */
function writeAtomically(path: string, data: string | Buffer): void {
    const scratch = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(scratch, data);
    renameSync(scratch, path);
}

export async function buildFunctions(options: BuildOptions = {}): Promise<BuiltFunction[]> {
    const outDir = options.outDir ?? join(ROOT, "build");
    const results: BuiltFunction[] = [];
    for (const name of FUNCTIONS) {
        const dir = join(outDir, name);
        mkdirSync(dir, { recursive: true });
        const bundlePath = join(dir, HANDLER_FILE);
        const out = await esbuild({
            absWorkingDir: ROOT,
            entryPoints: [join(ROOT, "functions", `${name}.ts`)],
            outfile: bundlePath,
            bundle: true,
            platform: "node",
            target: "node22",
            format: "cjs",
            minify: true,
            // Prefer the SDK's ESM builds: they tree-shake; the dist-cjs builds are single pre-bundled files.
            mainFields: ["module", "main"],
            metafile: true,
            write: false,
            logLevel: "silent",
            plugins: options.fullCredentialChain ? [] : [envCredentialsPlugin],
        });
        const code = Buffer.from(out.outputFiles[0].contents);
        writeAtomically(bundlePath, code);
        const zip = zipSingleFile(HANDLER_FILE, code);
        const zipPath = join(outDir, `${name}.zip`);
        writeAtomically(zipPath, zip);
        const metaPath = join(outDir, `${name}.meta.json`);
        writeAtomically(metaPath, JSON.stringify(out.metafile, null, 2));
        results.push({ name, bundle: bundlePath, zip: zipPath, meta: metaPath, rawBytes: code.length, zipBytes: zip.length });
    }
    if (!options.quiet) {
        for (const r of results) {
            console.log(
                `${r.name.padEnd(16)} index.js ${(r.rawBytes / 1024).toFixed(1).padStart(7)} KiB   zip ${(r.zipBytes / 1024).toFixed(1).padStart(6)} KiB   ${r.zip}`,
            );
        }
    }
    return results;
}

if (require.main === module) {
    buildFunctions({ fullCredentialChain: process.argv.includes("--full-credential-chain") }).catch((err) => {
        console.error(err);
        process.exit(1);
    });
}
