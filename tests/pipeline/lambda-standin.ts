/**
 * Stand-in for the Lambda service invoking a function (moto stores functions but runs them only in Docker:
 * moto/awslambda/models.py, LambdaFunction._invoke_lambda runs the code with `self.docker_client.containers.run`).
 * It runs the function's DEPLOYED code, as moto holds it:
 *   - configuration from GetFunction (Runtime, Handler, Timeout, MemorySize, Environment, Role, CodeSha256);
 *   - code: GetFunction's Code.Location names a bucket that does not exist
 *     (moto/awslambda/models.py, LambdaFunction.get_code: `https://awslambda-<region>-tasks.s3…/<S3Key>`), and a
 *     ZipFile-created function's zip lives only in moto's memory (LambdaFunction._set_function_code: "TODO: we
 *     should be putting this in a lambda bucket"; /moto-api/data.json cannot dump it either: reading
 *     LambdaFunction.docker_client raises without Docker, which moto/moto_api/_internal/responses.py model_data
 *     does not catch, so the whole dump answers 500). So the zip is looked for (1) among `codeArchives` the
 *     caller knows, (2) under Code.Location's key in the account's S3 buckets, which is where a function created
 *     from S3 (CloudFormation, `sls deploy`) has it; either way it must hash to the function's CodeSha256, so
 *     only the deployed code ever runs. Unzipped once per CodeSha256;
 *   - in a Node.js child process (./lambda-runtime.js, one per invocation) with the function's variables, the
 *     variables Lambda sets, AWS_ENDPOINT_URL=moto, and the function role's session (`credentialsFor`, as
 *     Lambda assumes it for lambda.amazonaws.com) in AWS_ACCESS_KEY_ID/…, so moto enforces the role's policy;
 *   - the function's timeout ends the invocation as Lambda does ("Task timed out after N seconds").
 * Why not npm `lambda-local`: it runs handlers inside the calling process, sharing process.env and the module
 * cache between functions and with the test; one process per invocation keeps each function's environment and
 * credentials its own.
 */
import { GetFunctionCommand, GetFunctionCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity } from "@smithy/types";
import { execFileSync, fork } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { CredentialsFor, SessionCredentials } from "./pulumi-shapes";

export interface LambdaStandInOptions {
    readonly motoUrl: string;
    readonly region: string;
    /** reads functions and their code as the Lambda service does: an administrator of the functions' account */
    readonly readCredentials: AwsCredentialIdentity;
    /** sessions of the functions' execution roles, as Lambda gets them (service lambda.amazonaws.com) */
    readonly credentialsFor: CredentialsFor;
    /** zip files that may hold a function's code (matched by CodeSha256) */
    readonly codeArchives?: readonly string[];
    /** where code is unzipped */
    readonly workDir: string;
}

export type InvocationOutcome =
    | { readonly kind: "result"; readonly payload: unknown }
    | { readonly kind: "error"; readonly errorType: string; readonly errorMessage: string };

export interface Invocation {
    readonly functionArn: string;
    readonly requestId: string;
    readonly outcome: InvocationOutcome;
    /** the function's stdout and stderr (its CloudWatch log) */
    readonly logs: string;
    readonly durationMs: number;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("base64");

/**
 * A function ARN as Lambda API parameters. By name, not ARN: with access control on, moto refuses a request
 * whose path holds an ARN (its signature check uses the path decoded, tests/helpers/moto_server.py correction 3
 * re-encodes S3 paths only), so the functions read here must be in the read credentials' account.
 */
export function functionRef(functionArn: string): { FunctionName: string; Qualifier?: string } {
    const [, , , , , , name, qualifier] = functionArn.split(":");
    if (!name) throw new Error(`${functionArn} is not a function ARN`);
    return { FunctionName: name, Qualifier: qualifier };
}

export class LambdaStandIn {
    readonly invocations: Invocation[] = [];
    private readonly lambda: LambdaClient;
    private readonly s3: S3Client;
    private readonly runtime = `nodejs${process.versions.node.split(".")[0]}.x`;

    constructor(private readonly options: LambdaStandInOptions) {
        const config = { endpoint: options.motoUrl, region: options.region, credentials: options.readCredentials, maxAttempts: 1 };
        this.lambda = new LambdaClient(config);
        this.s3 = new S3Client({ ...config, forcePathStyle: true });
    }

    close(): void {
        this.lambda.destroy();
        this.s3.destroy();
    }

    /** Invokes the function synchronously (RequestResponse); never throws for the function's own failures. */
    async invoke(functionArn: string, event: unknown): Promise<Invocation> {
        const requestId = randomUUID();
        const started = Date.now();
        const done = (outcome: InvocationOutcome, logs = ""): Invocation => {
            const invocation = { functionArn, requestId, outcome, logs, durationMs: Date.now() - started };
            this.invocations.push(invocation);
            return invocation;
        };
        let fn: GetFunctionCommandOutput;
        let codeDir: string;
        let session: SessionCredentials;
        try {
            fn = await this.lambda.send(new GetFunctionCommand(functionRef(functionArn)));
            const runtime = fn.Configuration?.Runtime;
            if (runtime !== this.runtime) throw new Error(`runtime ${runtime} is not provided by the stand-in (${this.runtime} only)`);
            codeDir = await this.code(functionArn, fn);
            session = await this.options.credentialsFor(fn.Configuration!.Role!, fn.Configuration!.FunctionArn!);
        } catch (error) {
            return done({ kind: "error", errorType: "StandIn.FunctionUnavailable", errorMessage: (error as Error).message });
        }
        const config = fn.Configuration!;
        const timeoutMs = (config.Timeout ?? 3) * 1000;
        const name = config.FunctionName!;
        const env: Record<string, string> = {
            ...config.Environment?.Variables,
            PATH: [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(delimiter),
            LANG: "en_US.UTF-8",
            TZ: ":UTC",
            LAMBDA_TASK_ROOT: codeDir,
            LAMBDA_RUNTIME_DIR: __dirname,
            _HANDLER: config.Handler!,
            AWS_EXECUTION_ENV: `AWS_Lambda_${this.runtime}`,
            AWS_LAMBDA_FUNCTION_NAME: name,
            AWS_LAMBDA_FUNCTION_VERSION: config.Version ?? "$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.MemorySize ?? 128),
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
            AWS_LAMBDA_LOG_STREAM_NAME: `stand-in/${requestId}`,
            AWS_REGION: this.options.region,
            AWS_DEFAULT_REGION: this.options.region,
            AWS_ACCESS_KEY_ID: session.accessKeyId,
            AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
            AWS_SESSION_TOKEN: session.sessionToken,
            // the stand-in part: the function's AWS calls go to moto
            AWS_ENDPOINT_URL: this.options.motoUrl,
        };
        const child = fork(join(__dirname, "lambda-runtime.js"), [], {
            cwd: codeDir,
            env,
            execPath: process.execPath,
            execArgv: [],
            stdio: ["ignore", "pipe", "pipe", "ipc"],
        });
        let logs = "";
        child.stdout!.on("data", (d) => (logs += d));
        child.stderr!.on("data", (d) => (logs += d));
        const outcome = await new Promise<InvocationOutcome>((resolve) => {
            const timer = setTimeout(() => {
                child.kill("SIGKILL");
                resolve({
                    kind: "error",
                    errorType: "Sandbox.Timedout",
                    errorMessage: `${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
                });
            }, timeoutMs);
            child.once("message", (m: { ok: boolean; result?: unknown; errorType?: string; errorMessage?: string }) => {
                clearTimeout(timer);
                resolve(
                    m.ok
                        ? { kind: "result", payload: m.result }
                        : { kind: "error", errorType: m.errorType!, errorMessage: m.errorMessage! },
                );
            });
            child.once("exit", (code, signal) => {
                clearTimeout(timer);
                resolve({
                    kind: "error",
                    errorType: "Runtime.ExitError",
                    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${signal ?? `exit status ${code}`}`,
                });
            });
            child.send({
                handler: config.Handler,
                event,
                context: {
                    functionName: name,
                    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
                    invokedFunctionArn: functionArn,
                    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
                    awsRequestId: requestId,
                    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
                    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
                    deadline: started + timeoutMs,
                },
            });
        });
        // the process has ended, or is ending: its last output belongs to this invocation
        await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("close", () => r())));
        return done(outcome, logs);
    }

    /** The directory holding the function's deployed code, unzipped once per CodeSha256. */
    private async code(functionArn: string, fn: GetFunctionCommandOutput): Promise<string> {
        const digest = fn.Configuration!.CodeSha256!;
        const dir = join(this.options.workDir, "code", Buffer.from(digest, "base64").toString("hex"));
        if (existsSync(join(dir, ".unzipped"))) return dir;
        const zip = (await this.fromArchives(digest)) ?? (await this.fromS3(digest, fn.Code?.Location));
        if (!zip) {
            throw new Error(
                `the code of ${functionArn} (CodeSha256 ${digest}) is in none of the stand-in's codeArchives nor under ` +
                    `${fn.Code?.Location} in the account's buckets: moto keeps a ZipFile-created function's code only in memory`,
            );
        }
        mkdirSync(dir, { recursive: true });
        const file = `${dir}.zip`;
        writeFileSync(file, zip);
        execFileSync("unzip", ["-q", "-o", file, "-d", dir]);
        writeFileSync(join(dir, ".unzipped"), digest);
        return dir;
    }

    private async fromArchives(digest: string): Promise<Buffer | undefined> {
        for (const path of this.options.codeArchives ?? []) {
            const bytes = readFileSync(path);
            if (sha256(bytes) === digest) return bytes;
        }
        return undefined;
    }

    private async fromS3(digest: string, location: string | undefined): Promise<Buffer | undefined> {
        if (!location) return undefined;
        const key = decodeURIComponent(new URL(location).pathname.slice(1));
        const { Buckets } = await this.s3.send(new ListBucketsCommand({}));
        for (const { Name } of Buckets ?? []) {
            try {
                const object = await this.s3.send(new GetObjectCommand({ Bucket: Name, Key: key }));
                const bytes = Buffer.from(await object.Body!.transformToByteArray());
                if (sha256(bytes) === digest) return bytes;
            } catch (error) {
                if ((error as Error).name !== "NoSuchKey") throw error;
            }
        }
        return undefined;
    }
}
