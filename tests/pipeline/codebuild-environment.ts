/**
 * What CodeBuild gives one build, on this machine (stand-in: moto emulates CodeBuild's API, not a build
 * container: moto/codebuild/models.py start_build records a build, and batch_get_builds (_set_phases) marks its
 * phases SUCCEEDED as time passes, running nothing):
 *   - a fresh workspace: the primary input artifact copied into CODEBUILD_SRC_DIR, each secondary one into
 *     CODEBUILD_SRC_DIR_<artifact name> (action-reference-CodeBuild.html, "Input artifacts"), a fresh HOME, no
 *     node_modules but what the artifact holds;
 *   - PATH: a wrapper `aws` first (the AWS CLI of this machine with `--endpoint-url` moto added, as in
 *     tests/deploy/codebuild.ts), the Node.js running the rehearsal (22), then the system directories; no
 *     version-manager shims, so `python3` is Debian's, which cannot import moto (PYTHON* variables are not passed);
 *   - CodeBuild's variables (build-env-ref-env-vars.html): CODEBUILD_BUILD_ID/ARN/NUMBER/IMAGE, CODEBUILD_SRC_DIR,
 *     CODEBUILD_INITIATOR, CODEBUILD_RESOLVED_SOURCE_VERSION (when the primary artifact has a revision),
 *     CODEBUILD_START_TIME, AWS_REGION, AWS_DEFAULT_REGION;
 *   - the project's service role, and only it, through AWS_CONTAINER_CREDENTIALS_FULL_URI: a loopback endpoint
 *     serving a moto session of that role (`credentialsFor`); AWS_ENDPOINT_URL points every SDK at moto;
 *   - the project's S3 cache as a directory per project kept for the whole rehearsal: each buildspec cache path
 *     under /root (CodeBuild builds run as root, HOME=/root) is linked from the same path under this HOME, so
 *     `/root/.npm/**\/*` is npm's cache ($HOME/.npm). Optionally seeded once from an npm cache of this machine
 *     (content hard-linked, index copied), so `npm ci --prefer-offline` does not download the world.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { delimiter, dirname, join, sep } from "node:path";
import { SessionCredentials } from "./pulumi-shapes";

export interface BuildEnvironmentOptions {
    /** where the build's workspace is created (a fresh directory inside) */
    readonly workDir: string;
    readonly projectName: string;
    readonly buildNumber: number;
    readonly region: string;
    readonly accountId: string;
    readonly image: string;
    /** moto's URL */
    readonly awsEndpoint: string;
    readonly session: SessionCredentials;
    readonly primary: { readonly name: string; readonly dir: string; readonly revision?: string };
    readonly secondary: readonly { readonly name: string; readonly dir: string }[];
    /** e.g. codepipeline/<pipeline name> */
    readonly initiator: string;
    /** the project's cache directory, kept between builds; undefined: no cache */
    readonly cacheDir?: string;
    /** buildspec cache.paths */
    readonly cachePaths: readonly string[];
    /**
     * Directories linked beside the source directory (a path relative to the build's root, the parent of
     * CODEBUILD_SRC_DIR → the directory it links to): what a build machine has beside its checkout. Not CodeBuild's:
     * the rehearsal uses it to stand for an offline machine's vendored copies (e.g. `shared/vendor/moto`).
     */
    readonly besideSource?: Readonly<Record<string, string>>;
}

export interface BuildEnvironment {
    readonly buildId: string;
    readonly root: string;
    readonly sourceDir: string;
    readonly env: Record<string, string>;
    /** credential requests served to the build so far */
    readonly credentialRequests: number;
    close(): Promise<void>;
}

const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

let cli: string | undefined;

/** The AWS CLI program: a version manager's shim (pyenv) is resolved to its target, which is not put on PATH. */
function awsCli(): string {
    if (cli) return cli;
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
        const candidate = join(dir, "aws");
        if (!existsSync(candidate)) continue;
        const program = candidate.includes(`${sep}shims${sep}`)
            ? execFileSync("pyenv", ["which", "aws"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
            : candidate;
        return (cli = program);
    }
    throw new Error("the AWS CLI (`aws`) is not on PATH: install it (Debian: apt-get install awscli)");
}

/** Seeds an npm cache directory from another one: content hard-linked (content-addressed, never rewritten), index copied. */
export function seedNpmCache(from: string, to: string): void {
    const source = join(from, "_cacache");
    if (!existsSync(source)) throw new Error(`no npm cache at ${source}`);
    mkdirSync(join(to, "_cacache"), { recursive: true });
    execFileSync("cp", ["-al", join(source, "content-v2"), join(to, "_cacache", "content-v2")]);
    cpSync(join(source, "index-v5"), join(to, "_cacache", "index-v5"), { recursive: true });
}

/** The directory a cache path names, before its first glob segment: `/root/.npm/**\/*` → `/root/.npm`. */
function cacheRoot(path: string): string {
    const segments = path.split("/");
    const firstGlob = segments.findIndex((s) => /[*?[]/.test(s));
    return (firstGlob < 0 ? segments : segments.slice(0, firstGlob)).join("/").replace(/\/+$/, "");
}

export async function createBuildEnvironment(options: BuildEnvironmentOptions): Promise<BuildEnvironment> {
    const buildUuid = randomUUID();
    const buildId = `${options.projectName}:${buildUuid}`;
    const root = join(options.workDir, `${options.projectName}-${options.buildNumber}-${buildUuid.slice(0, 8)}`);
    const sourceDir = join(root, "src");
    const home = join(root, "root");
    const bin = join(root, "bin");
    for (const dir of [home, bin, dirname(sourceDir)]) mkdirSync(dir, { recursive: true });
    cpSync(options.primary.dir, sourceDir, { recursive: true });
    const secondaryVars: Record<string, string> = {};
    for (const artifact of options.secondary) {
        const dir = join(root, "src2", artifact.name);
        cpSync(artifact.dir, dir, { recursive: true });
        secondaryVars[`CODEBUILD_SRC_DIR_${artifact.name}`] = dir;
    }

    for (const [relative, target] of Object.entries(options.besideSource ?? {})) {
        const link = join(root, relative);
        if (!link.startsWith(`${root}${sep}`) || link.startsWith(`${sourceDir}${sep}`) || link === sourceDir)
            throw new Error(`besideSource ${relative}: must name a path beside the source directory`);
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(target, link);
    }

    for (const path of options.cachePaths) {
        const top = cacheRoot(path);
        if (!top.startsWith("/root/")) throw new Error(`cache path ${path}: only paths under /root are modelled (the build's HOME)`);
        if (!options.cacheDir) continue;
        const kept = join(options.cacheDir, top);
        mkdirSync(kept, { recursive: true });
        const inHome = join(home, top.slice("/root/".length));
        mkdirSync(dirname(inHome), { recursive: true });
        if (!existsSync(inHome)) symlinkSync(kept, inHome);
    }

    writeFileSync(join(bin, "aws"), `#!/bin/sh\nexec ${JSON.stringify(awsCli())} --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n`);
    chmodSync(join(bin, "aws"), 0o755);

    let credentialRequests = 0;
    const server = createServer((_req, res) => {
        credentialRequests++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
            JSON.stringify({
                AccessKeyId: options.session.accessKeyId,
                SecretAccessKey: options.session.secretAccessKey,
                Token: options.session.sessionToken,
                Expiration: options.session.expiration.toISOString(),
            }),
        );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const credentialsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/credentials/${buildUuid}`;

    const env: Record<string, string> = {
        PATH: [bin, dirname(process.execPath), ...SYSTEM_PATH].join(delimiter),
        HOME: home,
        LANG: "C.UTF-8",
        CODEBUILD_BUILD_ID: buildId,
        CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${options.region}:${options.accountId}:build/${buildId}`,
        CODEBUILD_BUILD_NUMBER: String(options.buildNumber),
        CODEBUILD_BUILD_IMAGE: options.image,
        CODEBUILD_INITIATOR: options.initiator,
        CODEBUILD_SRC_DIR: sourceDir,
        CODEBUILD_START_TIME: String(Date.now()),
        ...(options.primary.revision ? { CODEBUILD_RESOLVED_SOURCE_VERSION: options.primary.revision } : {}),
        ...secondaryVars,
        AWS_REGION: options.region,
        AWS_DEFAULT_REGION: options.region,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: credentialsUrl,
        // the stand-in part: every SDK and (through the wrapper) the CLI talk to moto
        AWS_ENDPOINT_URL: options.awsEndpoint,
        AWS_EC2_METADATA_DISABLED: "true",
    };

    return {
        buildId,
        root,
        sourceDir,
        env,
        get credentialRequests() {
            return credentialRequests;
        },
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}
