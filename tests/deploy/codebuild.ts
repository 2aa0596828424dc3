/**
 * CodeBuild's side of a build, for running the real scripts against moto:
 *   - a build workspace: for a Deploy action the Test stage's artifact (sources, serverless.yml, scripts, the
 *     bundles in build/) with this checkout's node_modules (the pinned osls); for the drift check its source
 *     archive's files;
 *   - the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) that hands the build its
 *     project role's session. This part is a stand-in: moto emulates AWS APIs, not CodeBuild's credential endpoint
 *     inside a build container. It serves a real moto session of the real build role, so every call the
 *     build makes with it is authenticated and authorised by moto;
 *   - `aws` first on PATH: the AWS CLI of this machine with `--endpoint-url` added, because CLIs older than
 *     v1.29 / v2.13 ignore AWS_ENDPOINT_URL, which osls (AWS SDK v3) reads.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve, sep } from "node:path";
import { buildArtifacts, FUNCTION_ARTIFACTS } from "../helpers/sls-package";
import { SessionCredentials } from "./accounts";

const ROOT = resolve(__dirname, "..", "..");

export interface ContainerCredentials {
    readonly url: string;
    /** Requests served so far. */
    readonly served: number;
    close(): Promise<void>;
}

/** Serves `session` in the ECS/CodeBuild container credentials format. */
export async function serveContainerCredentials(session: () => SessionCredentials): Promise<ContainerCredentials> {
    let served = 0;
    const server: Server = createServer((_req, res) => {
        served++;
        const s = session();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
            JSON.stringify({
                AccessKeyId: s.accessKeyId,
                SecretAccessKey: s.secretAccessKey,
                Token: s.sessionToken,
                Expiration: s.expiration.toISOString(),
            }),
        );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/credentials`,
        get served() {
            return served;
        },
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}

/**
 * The AWS CLI of this machine: the first `aws` on PATH that is the program itself. A version manager's shim
 * (pyenv, asdf) is a bash script, which would inherit the shell options a test forces on (SHELLOPTS); its
 * target is used instead.
 */
function awsCli(): string {
    const onPath = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "aws"));
    for (const candidate of onPath) {
        if (!existsSync(candidate)) continue;
        let program = candidate;
        if (candidate.includes(`${sep}shims${sep}`)) {
            try {
                program = execFileSync("pyenv", ["which", "aws"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
            } catch {
                continue;
            }
        }
        try {
            execFileSync(program, ["--version"], { stdio: "ignore", timeout: 30_000 });
            return program;
        } catch {
            /* not a working CLI */
        }
    }
    throw new Error("the AWS CLI (`aws`) is not on PATH: install it (Debian: apt-get install awscli; or pip install awscli)");
}

export interface Workspace {
    readonly dir: string;
    /** Environment of a build: CodeBuild's variables, the action's or project's, and moto as the endpoint. */
    readonly env: NodeJS.ProcessEnv;
    run(command: string[], extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }>;
    remove(): void;
}

/** What a Deploy action's build holds of the Test stage's artifact (besides node_modules and the bundles). */
export const DEPLOY_FILES: Record<string, string> = Object.fromEntries([
    ...["serverless.yml", "package.json"].map((f) => [f, f]),
    ...readdirSync(join(ROOT, "scripts"))
        .filter((f) => /^(ci-|assume-).*\.(sh|js)$/.test(f))
        .map((f) => [`scripts/${f}`, `scripts/${f}`]),
]);

/**
 * A build's working directory: `files` (destination → repository path), and for a Deploy action this checkout's
 * node_modules and the bundles the Test stage built.
 */
export async function createWorkspace(args: {
    endpoint: string;
    credentialsUrl: string;
    env: Record<string, string>;
    files: Record<string, string>;
    deployAction?: boolean;
    buildNumber?: number;
}): Promise<Workspace> {
    const dir = mkdtempSync(join(tmpdir(), "codebuild-"));
    for (const [to, from] of Object.entries(args.files)) {
        mkdirSync(dirname(join(dir, to)), { recursive: true });
        copyFileSync(join(ROOT, from), join(dir, to));
    }
    if (args.deployAction) {
        symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
        mkdirSync(join(dir, "build"));
        const artifacts = await buildArtifacts();
        for (const fn of FUNCTION_ARTIFACTS) copyFileSync(join(artifacts, `${fn}.zip`), join(dir, "build", `${fn}.zip`));
    }

    const bin = join(dir, ".bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "aws"), `#!/bin/sh\nexec ${JSON.stringify(awsCli())} --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n`);
    chmodSync(join(bin, "aws"), 0o755);
    mkdirSync(join(dir, ".home"));

    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|SLS_|SERVERLESS_|npm_|PYTHON)/.test(k)) env[k] = v;
    Object.assign(env, args.env, {
        PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter),
        HOME: join(dir, ".home"),
        CODEBUILD_BUILD_NUMBER: String(args.buildNumber ?? 1),
        AWS_REGION: args.env.TARGET_REGION ?? "us-east-1",
        AWS_DEFAULT_REGION: args.env.TARGET_REGION ?? "us-east-1",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: args.credentialsUrl,
        AWS_ENDPOINT_URL: args.endpoint,
        AWS_EC2_METADATA_DISABLED: "true",
        // osls polls the stack every 5 s by default; moto finishes in well under a second
        SLS_AWS_MONITORING_FREQUENCY: "100",
        SLS_TELEMETRY_DISABLED: "1",
        NPM_CONFIG_UPDATE_NOTIFIER: "false",
        FORCE_COLOR: "0",
    });

    return {
        dir,
        env,
        run(command, extraEnv = {}) {
            return new Promise((done) => {
                // async: the credentials endpoint lives in this process and must keep serving
                const child = spawn(command[0], command.slice(1), {
                    cwd: dir,
                    env: { ...env, ...extraEnv },
                    stdio: ["ignore", "pipe", "pipe"],
                });
                let output = "";
                child.stdout.on("data", (d) => (output += d));
                child.stderr.on("data", (d) => (output += d));
                child.on("close", (code) => done({ code, output }));
            });
        },
        remove: () => rmSync(dir, { recursive: true, force: true }),
    };
}
