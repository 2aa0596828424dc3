/**
 * CodeBuild's side of a build, for running the deploy kit against moto:
 *   - a build workspace: for a Deploy action the Test stage's artifact (the bundles and the stage's package in
 *     build/, ./release.ts), and the deploy kit bundled exactly as the tools stack uploads it;
 *   - the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) that hands the build its
 *     project role's session. This part is a stand-in: moto emulates AWS APIs, not CodeBuild's credential endpoint
 *     inside a build container. It serves a real moto session of the real build role, so every call the
 *     build makes with it is authenticated and authorised by moto;
 *   - `aws` first on PATH: the AWS CLI of this machine with `--endpoint-url` added, because CLIs older than
 *     v1.29 / v2.13 ignore AWS_ENDPOINT_URL.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve, sep } from "node:path";
import { deployKitBundle } from "../../components/deploy-kit-bundle";
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
    /** The deploy kit, where the buildspec puts it (outside the input artifact): the bundle the tools stack uploads. */
    readonly kit: string;
    /** Environment of a build: CodeBuild's variables, the action's or project's, and moto as the endpoint. */
    readonly env: NodeJS.ProcessEnv;
    run(command: string[], extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }>;
    /** Runs the deploy kit as a kit build's buildspec does: `node <kit> <command>`. */
    runKit(command: "deploy" | "drift", extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }>;
    remove(): void;
}

/**
 * A build's working directory (its input artifact is placed by the caller, e.g. tests/deploy/release.ts), with
 * the deploy kit the tools stack would upload, the AWS CLI pointed at moto, and a fresh HOME.
 */
export async function createWorkspace(args: {
    endpoint: string;
    credentialsUrl: string;
    env: Record<string, string>;
    files?: Record<string, string>;
    buildNumber?: number;
}): Promise<Workspace> {
    const dir = mkdtempSync(join(tmpdir(), "codebuild-"));
    for (const [to, from] of Object.entries(args.files ?? {})) {
        mkdirSync(dirname(join(dir, to)), { recursive: true });
        copyFileSync(join(ROOT, from), join(dir, to));
    }
    const kit = join(dir, ".kit", "deploy-kit.js");
    mkdirSync(dirname(kit));
    writeFileSync(kit, deployKitBundle().code);

    const bin = join(dir, ".bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "aws"), `#!/bin/sh\nexec ${JSON.stringify(awsCli())} --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n`);
    chmodSync(join(bin, "aws"), 0o755);
    mkdirSync(join(dir, ".home"));

    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|SLS_|SERVERLESS_|npm_|PYTHON|DEPLOY_|PULUMI_)/.test(k)) env[k] = v;
    Object.assign(env, args.env, {
        PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter),
        HOME: join(dir, ".home"),
        CODEBUILD_BUILD_NUMBER: String(args.buildNumber ?? 1),
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: args.credentialsUrl,
        AWS_ENDPOINT_URL: args.endpoint,
        AWS_EC2_METADATA_DISABLED: "true",
        // the kit polls CloudFormation every 5 s by default; moto finishes in well under a second
        DEPLOY_POLL_MS: "100",
        NPM_CONFIG_UPDATE_NOTIFIER: "false",
        FORCE_COLOR: "0",
    });

    const run: Workspace["run"] = (command, extraEnv = {}) =>
        new Promise((done) => {
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
    return {
        dir,
        kit,
        env,
        run,
        runKit: (command, extraEnv) => run([process.execPath, kit, command], extraEnv),
        remove: () => rmSync(dir, { recursive: true, force: true }),
    };
}
