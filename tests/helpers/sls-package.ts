/**
 * Runs `sls package` (the project's pinned osls) on the real serverless.yml, offline, and returns the packaged
 * CloudFormation template. Shared by tests/serverless and by other suites (parity, IAM simulation):
 *
 *   import { packageService, DEFAULT_PACKAGE_OPTIONS } from "../helpers/sls-package";
 *   const { template } = await packageService();               // stage dev, us-east-1, example params
 *
 * - Runs in a throwaway copy of the service (serverless.yml, scripts/ci-sls-*.js, functions/routes.json, build/*.zip) so it never
 *   touches the shared .serverless/ or build/ of the working tree, and parallel runs cannot collide.
 * - Artifacts come from the real build (scripts/build-functions.ts `buildFunctions({ outDir })`, built once per
 *   process into a temp dir), so the packaged template is the one CI would deploy.
 * - AWS credentials are fake and every AWS_* variable of the caller is dropped: packaging makes no AWS call.
 * - Results are cached per process and per options, so `sls package` (~2-5 s) runs once per distinct options.
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROUTES } from "../../functions/route-table";

export const REPO_ROOT = resolve(__dirname, "..", "..");
export const SERVICE = "product-catalog-service";
/** The zips serverless.yml deploys, build/<bundle>.zip: one per route of the route table (functions/routes.json). */
export const FUNCTION_ARTIFACTS: readonly string[] = ROUTES.map((r) => r.bundle);

/** Example parameter values: target account 222222222222 (the tools account would be 111111111111). */
export const EXAMPLE_PARAMS = {
    cfnRoleArn: "arn:aws:iam::222222222222:role/product-catalog-cfn-execution",
    deploymentBucket: "product-catalog-deployments-222222222222-us-east-1",
    permissionsBoundaryArn: "arn:aws:iam::222222222222:policy/product-catalog-workload-boundary",
} as const;

export interface PackageOptions {
    stage: string;
    region: string;
    /** `--param` values; a key set to undefined is omitted (to test missing parameters). */
    params: Record<string, string | undefined>;
}

export const DEFAULT_PACKAGE_OPTIONS: PackageOptions = { stage: "dev", region: "us-east-1", params: { ...EXAMPLE_PARAMS } };

// Minimal CloudFormation typing: enough for tests, loose enough for intrinsic functions.
export interface CfnResource {
    Type: string;
    Properties?: Record<string, any>;
    DependsOn?: string | string[];
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
    Condition?: string;
    Metadata?: Record<string, any>;
}
export interface CfnTemplate {
    AWSTemplateFormatVersion?: string;
    Resources: Record<string, CfnResource>;
    Outputs?: Record<string, { Value: any; Export?: { Name: any }; Description?: string }>;
}

export interface SlsRun {
    /** exit code of `sls package` */
    code: number;
    stdout: string;
    stderr: string;
    /** the throwaway service directory */
    serviceDir: string;
}

export interface PackagedService extends SlsRun {
    options: PackageOptions;
    template: CfnTemplate;
    /** .serverless/serverless-state.json: resolved service config (provider.iam.deploymentRole, deploymentBucket, ...) */
    state: { service: Record<string, any>; package: Record<string, any> };
    /** directory holding the zips built by buildFunctions() */
    artifactsDir: string;
}

const tempDirs: string[] = [];
process.on("exit", () => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function makeTempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    tempDirs.push(dir);
    return dir;
}

// ---- artifacts -------------------------------------------------------------------------------------------
let artifactsPromise: Promise<string> | undefined;

/** Builds the function zips once per process (into a temp dir) and returns the directory holding <fn>.zip. */
export function buildArtifacts(): Promise<string> {
    artifactsPromise ??= (async () => {
        const dir = makeTempDir("sls-artifacts-");
        const buildScript = join(REPO_ROOT, "scripts", "build-functions.ts");
        if (existsSync(buildScript)) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const mod = require(buildScript) as { buildFunctions?: (o: { outDir?: string; quiet?: boolean }) => Promise<unknown> };
            if (typeof mod.buildFunctions !== "function") {
                throw new Error(
                    "scripts/build-functions.ts no longer exports buildFunctions({ outDir, quiet }); update tests/helpers/sls-package.ts",
                );
            }
            await mod.buildFunctions({ outDir: dir, quiet: true });
            for (const fn of FUNCTION_ARTIFACTS) {
                if (!existsSync(join(dir, `${fn}.zip`))) throw new Error(`buildFunctions() did not produce ${fn}.zip in ${dir}`);
            }
            return dir;
        }
        throw new Error("scripts/build-functions.ts not found: the serverless tests package the real build artifacts");
    })();
    return artifactsPromise;
}

// ---- sls package -----------------------------------------------------------------------------------------
function slsEnv(home: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith("AWS_") && !k.startsWith("SLS_") && !k.startsWith("SERVERLESS_")) env[k] = v;
    }
    return {
        ...env,
        HOME: home,
        AWS_ACCESS_KEY_ID: "AKIAFAKEFAKEFAKEFAKE",
        AWS_SECRET_ACCESS_KEY: "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake",
        AWS_EC2_METADATA_DISABLED: "true",
        SLS_DEPRECATION_NOTIFICATION_MODE: "warn",
        FORCE_COLOR: "0",
        NO_COLOR: "1",
    };
}

/** Copies what `sls package` reads into a fresh directory: serverless.yml, scripts/ci-sls-*.js, the route table, build/*.zip. */
async function prepareServiceDir(): Promise<string> {
    const artifactsDir = await buildArtifacts();
    const serviceDir = makeTempDir("sls-service-");
    copyFileSync(join(REPO_ROOT, "serverless.yml"), join(serviceDir, "serverless.yml"));
    mkdirSync(join(serviceDir, "scripts"));
    for (const f of readdirSync(join(REPO_ROOT, "scripts"))) {
        if (/^ci-sls-.*\.js$/.test(f)) copyFileSync(join(REPO_ROOT, "scripts", f), join(serviceDir, "scripts", f));
    }
    mkdirSync(join(serviceDir, "functions"));
    copyFileSync(join(REPO_ROOT, "functions", "routes.json"), join(serviceDir, "functions", "routes.json"));
    mkdirSync(join(serviceDir, "build"));
    for (const fn of FUNCTION_ARTIFACTS) copyFileSync(join(artifactsDir, `${fn}.zip`), join(serviceDir, "build", `${fn}.zip`));
    mkdirSync(join(serviceDir, ".home"));
    return serviceDir;
}

/** Runs `sls package` once with the given options; never throws on a non-zero exit (see `code`). */
export async function runSlsPackage(options: PackageOptions = DEFAULT_PACKAGE_OPTIONS): Promise<SlsRun> {
    const serviceDir = await prepareServiceDir();
    const slsBin = join(REPO_ROOT, "node_modules", "osls", "bin", "serverless.js");
    const args = [slsBin, "package", "--stage", options.stage, "--region", options.region];
    for (const [k, v] of Object.entries(options.params)) if (v !== undefined) args.push(`--param=${k}=${v}`);
    return new Promise((resolvePromise) => {
        execFile(
            process.execPath,
            args,
            { cwd: serviceDir, env: slsEnv(join(serviceDir, ".home")), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
                const code = error ? (typeof (error as any).code === "number" ? (error as any).code : 1) : 0;
                resolvePromise({ code, stdout: String(stdout), stderr: String(stderr), serviceDir });
            },
        );
    });
}

const cache = new Map<string, Promise<PackagedService>>();

/** `sls package` + parsed template/state, cached per process and options. Rejects if packaging fails. */
export function packageService(options: PackageOptions = DEFAULT_PACKAGE_OPTIONS): Promise<PackagedService> {
    const key = JSON.stringify([options.stage, options.region, Object.entries(options.params).sort()]);
    let p = cache.get(key);
    if (!p) {
        p = (async () => {
            const run = await runSlsPackage(options);
            if (run.code !== 0) {
                throw new Error(`sls package failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
            }
            const out = join(run.serviceDir, ".serverless");
            const template = JSON.parse(readFileSync(join(out, "cloudformation-template-update-stack.json"), "utf8")) as CfnTemplate;
            const state = JSON.parse(readFileSync(join(out, "serverless-state.json"), "utf8"));
            return { ...run, options, template, state, artifactsDir: await buildArtifacts() };
        })();
        cache.set(key, p);
        p.catch(() => cache.delete(key));
    }
    return p;
}

/** Shortcut: the packaged template for the default options (stage dev, us-east-1, EXAMPLE_PARAMS). */
export async function getPackagedTemplate(): Promise<CfnTemplate> {
    return (await packageService()).template;
}
