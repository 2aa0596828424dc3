/**
 * Local product API (`npm start`): embedded dynalite + a small API Gateway (REST, Lambda proxy) emulator that
 * serves the routes of the route table (functions/routes.json, which serverless.yml and ProductApi read too) by
 * invoking the SAME bundles the deployers ship (build/<bundle>/index.js, zipped as build/<bundle>.zip).
 *
 *   npm start                       # in-memory table, http://localhost:3000
 *   npm start -- --port 4000 --data-dir .local-data    # persist the table to disk (.local-data is gitignored)
 *
 * Stopping: SIGINT/SIGTERM stop the server and dynalite, then the process exits 0. npm runs a script through
 * `sh -c`, and sh neither forwards signals nor (dash) execs the last command, so the start script `exec`s this
 * one: npm then signals it directly. Under an npm script it also stops when its parent exits (onParentExit).
 * A busy port is reported as `port N is in use; choose another with npm start -- --port M`, exit 1.
 *
 * Why not serverless-offline: its peer dependency installs Serverless v4 (which takes over `sls`, needs a
 * binary download and a licence for larger orgs), handler env vars need --localEnvironment, and a handler
 * that throws comes back as HTTP 200. Here it comes back as API Gateway does it: 502 {"message":"Internal server error"}.
 *
 * Gateway semantics (differences from API Gateway are deliberate and listed):
 *   - routes come from the route table (functions/routes.json: functionKey, method, path, bundle; the function
 *     settings' handler and timeout); path parameters `{name}` (one segment) and `{name+}` (greedy), values
 *     URL-decoded; method ANY (tests' throwaway functions) matches all. The handlers get the table's variable
 *     (TABLE_ENV), AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and fake credentials from here.
 *   - unknown path → 404 {"message":"Not Found"}.
 *   - known path, undeclared method → 405 {"message":"Method Not Allowed"} + Allow header. (API Gateway REST
 *     answers 403 {"message":"Missing Authentication Token"} for both cases; 405 says what is actually wrong.)
 *   - handler throws / returns a malformed result → 502 {"message":"Internal server error"};
 *     runs past the function timeout (the route table's timeoutSeconds) → 504 {"message":"Endpoint request timed out"}.
 *   - request bodies over 10 MB → 413 (API Gateway's payload limit). Bodies reach the handler as UTF-8 text
 *     with isBase64Encoded false (no binaryMediaTypes).
 *   - request headers reach the handler as API Gateway passes them: names spelled as the client sent them,
 *     `headers` with the last value of each name, `multiValueHeaders` with all of them (so the handler's
 *     Content-Type check sees exactly what it would see behind API Gateway).
 *   - requestContext.stage is "local" and requestContext.path equals event.path (served at the root, like a
 *     custom domain without base path), so Location headers are plain /product/find/{id}.
 *   - the handlers run in this process and share process.env, so one local API per process at a time.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { DEFAULT_SCHEMA, Type } from "js-yaml";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { SERVICE_NAME } from "../components/domain";
import { FUNCTION_SETTINGS, ROUTES, TABLE_ENV } from "../functions/route-table";

const ROOT = resolve(__dirname, "..");
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const API_GATEWAY_MAX_TIMEOUT_S = 29;
const LOCAL_REGION = "us-east-1";
const DEFAULT_PORT = 3000;
const DEFAULT_HOST = "127.0.0.1";

// ---- dynalite --------------------------------------------------------------------------------------------

// dynalite ships no types; this is the part used here.
type DynaliteServer = Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (opts: {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
}) => DynaliteServer = require("dynalite");

export interface LocalDynamo {
    endpoint: string;
    tableName: string;
    stop(): Promise<void>;
}

/** Fake but well-formed credentials for dynalite (it does not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * Starts dynalite in this process on 127.0.0.1 (port 0 = any free port) and creates `tableName`
 * (partition key `id` (S), on-demand) unless it already exists in `dataDir`. stop() closes every connection
 * and the LevelDB store, so nothing keeps the event loop alive.
 */
export async function startDynalite(opts: { tableName: string; dataDir?: string; port?: number }): Promise<LocalDynamo> {
    if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
    const server = dynalite({ path: opts.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((ok, fail) => {
        server.once("error", fail);
        server.listen(opts.port ?? 0, "127.0.0.1", () => ok());
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let stopped: Promise<void> | undefined;
    const stop = () =>
        (stopped ??= new Promise<void>((ok, fail) => {
            server.close((err?: Error) => (err ? fail(err) : ok()));
            server.closeAllConnections();
        }));
    try {
        await createTable(endpoint, opts.tableName);
    } catch (err) {
        await stop();
        throw err;
    }
    return { endpoint, tableName: opts.tableName, stop };
}

async function createTable(endpoint: string, tableName: string): Promise<void> {
    const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    try {
        try {
            await client.send(
                new CreateTableCommand({
                    TableName: tableName,
                    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
                    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
                    BillingMode: "PAY_PER_REQUEST",
                }),
            );
        } catch (err) {
            if ((err as Error).name !== "ResourceInUseException") throw err; // persisted table from --data-dir
        }
        for (let i = 0; i < 500; i++) {
            const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
            if (Table?.TableStatus === "ACTIVE") return;
            await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`table ${tableName} did not become ACTIVE`);
    } finally {
        client.destroy();
    }
}

// ---- routes from the route table (functions/routes.json) ----------------------------------------------

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context, callback?: (err: unknown, res?: unknown) => void) => unknown;

/** A function the local API serves and its route: the route table's entries, or throwaway ones in tests. */
export interface LocalFunction {
    readonly functionKey: string;
    /** HTTP method, or ANY for all of them. */
    readonly method: string;
    /** Path below the stage, without a leading slash; `{name}` is one segment, `{name+}` the rest of the path. */
    readonly path: string;
    /** The handler: `export` of the module `file` (absolute path). */
    readonly file: string;
    readonly export: string;
    readonly timeoutSeconds: number;
}

/** What the local API serves: the service (it names the table and the functions) and its functions. */
export interface LocalAppSpec {
    readonly service: string;
    readonly functions: readonly LocalFunction[];
}

/** The product API: every route of the route table, served by the bundle `npm run build` wrote for it. */
export function productApp(buildDir = join(ROOT, "build")): LocalAppSpec {
    const handler = FUNCTION_SETTINGS.handler;
    const dot = handler.lastIndexOf(".");
    return {
        service: SERVICE_NAME,
        functions: ROUTES.map((route) => ({
            functionKey: route.functionKey,
            method: route.method,
            path: route.path,
            file: join(buildDir, route.bundle, `${handler.slice(0, dot)}.js`),
            export: handler.slice(dot + 1),
            timeoutSeconds: FUNCTION_SETTINGS.timeoutSeconds,
        })),
    };
}

export interface Route {
    functionKey: string;
    method: string; // upper case, or ANY
    resource: string; // "/product/find/{id}"
    pattern: RegExp;
    params: string[];
    bundle: string; // absolute path of the handler module, e.g. build/<bundle>/index.js
    exportName: string;
    timeoutMs: number;
}

export interface LocalApp {
    service: string;
    routes: Route[];
}

/** The routes of `spec` (by default the product API's), with their path patterns. */
export function loadRoutes(spec: LocalAppSpec = productApp()): LocalApp {
    const routes = spec.functions.map((fn): Route => {
        const resource = `/${fn.path.replace(/^\/+|\/+$/g, "")}`;
        const params: string[] = [];
        const source = resource
            .split("/")
            .map((seg) => {
                const m = /^\{([A-Za-z0-9_.-]+)(\+)?\}$/.exec(seg);
                if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
                params.push(m[1]);
                return m[2] ? "(.+)" : "([^/]+)";
            })
            .join("/");
        return {
            functionKey: fn.functionKey,
            method: fn.method.toUpperCase(),
            resource,
            pattern: new RegExp(`^${source}$`),
            params,
            bundle: fn.file,
            exportName: fn.export,
            timeoutMs: Math.min(fn.timeoutSeconds, API_GATEWAY_MAX_TIMEOUT_S) * 1000,
        };
    });
    if (routes.length === 0) throw new Error(`${spec.service}: no functions to serve`);
    return { service: spec.service, routes };
}

// serverless.yml and Pulumi stack files as YAML: CloudFormation short-form intrinsics (!GetAtt, !Ref, ...) appear under
// serverless.yml's provider.iam/resources and must parse. Each becomes { "Fn::X": value } like the long form. The
// tests read those files with this schema.
const CFN_TAGS = [
    "Base64",
    "Cidr",
    "Condition",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Ref",
    "ToJsonString",
    "Length",
];
export const CFN_SCHEMA = DEFAULT_SCHEMA.extend(
    CFN_TAGS.flatMap((tag) =>
        (["scalar", "sequence", "mapping"] as const).map(
            (kind) =>
                new Type(`!${tag}`, {
                    kind,
                    construct: (data: unknown) => ({ [tag === "Ref" || tag === "Condition" ? tag : `Fn::${tag}`]: data }),
                }),
        ),
    ),
);

// ---- gateway ----------------------------------------------------------------------------------------------

export interface LocalApiOptions {
    port?: number; // default 3000; 0 = any free port
    host?: string; // default 127.0.0.1
    dataDir?: string; // persist dynalite here; in-memory when absent
    quiet?: boolean; // no banner/access log (handler logs follow LOG_LEVEL)
    /** What to serve; the product API (the route table's routes and their bundles) by default. */
    app?: LocalAppSpec;
}

export interface LocalApi {
    url: string;
    tableName: string;
    dynamoEndpoint: string;
    routes: Route[];
    stop(): Promise<void>;
}

let running = false;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
    res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
    return new Promise((ok, fail) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = false;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_REQUEST_BYTES) tooLarge = true;
            else chunks.push(c);
        });
        req.on("end", () => ok(tooLarge ? "too-large" : Buffer.concat(chunks)));
        req.on("error", fail);
    });
}

function decode(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}

function buildEvent(
    req: IncomingMessage,
    url: URL,
    route: Route,
    match: RegExpExecArray,
    body: Buffer,
    requestId: string,
): APIGatewayProxyEvent {
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
        headers[name] = value;
        (multiValueHeaders[name] ??= []).push(value);
    }
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
        query[k] = v;
        (multiQuery[k] ??= []).push(v);
    }
    const pathParameters: Record<string, string> = {};
    route.params.forEach((name, i) => (pathParameters[name] = decode(match[i + 1])));
    const hasQuery = Object.keys(query).length > 0;
    const now = new Date();
    return {
        body: body.length > 0 ? body.toString("utf8") : null,
        headers,
        multiValueHeaders,
        httpMethod: req.method ?? "GET",
        isBase64Encoded: false,
        path: url.pathname,
        pathParameters: route.params.length > 0 ? pathParameters : null,
        queryStringParameters: hasQuery ? query : null,
        multiValueQueryStringParameters: hasQuery ? multiQuery : null,
        stageVariables: null,
        resource: route.resource,
        requestContext: {
            accountId: "123456789012",
            apiId: "local",
            authorizer: null,
            protocol: `HTTP/${req.httpVersion}`,
            httpMethod: req.method ?? "GET",
            path: url.pathname,
            stage: "local",
            requestId,
            requestTime: now.toUTCString(),
            requestTimeEpoch: now.getTime(),
            resourceId: "local",
            resourcePath: route.resource,
            domainName: req.headers.host ?? "localhost",
            identity: {
                accessKey: null,
                accountId: null,
                apiKey: null,
                apiKeyId: null,
                caller: null,
                clientCert: null,
                cognitoAuthenticationProvider: null,
                cognitoAuthenticationType: null,
                cognitoIdentityId: null,
                cognitoIdentityPoolId: null,
                principalOrgId: null,
                sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
                user: null,
                userAgent: req.headers["user-agent"] ?? null,
                userArn: null,
            },
        },
    };
}

function buildContext(service: string, route: Route, requestId: string, deadline: number): Context {
    const functionName = `${service}-local-${route.functionKey}`;
    const unsupported = () => {
        throw new Error("context.done/succeed/fail are not supported; return a promise");
    };
    return {
        callbackWaitsForEmptyEventLoop: true,
        functionName,
        functionVersion: "$LATEST",
        invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:123456789012:function:${functionName}`,
        memoryLimitInMB: "1024",
        awsRequestId: requestId,
        logGroupName: `/aws/lambda/${functionName}`,
        logStreamName: "local",
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        done: unsupported,
        fail: unsupported,
        succeed: unsupported,
    };
}

type Outcome = { kind: "result"; value: unknown } | { kind: "error"; error: unknown } | { kind: "timeout" };

async function invoke(handler: LambdaHandler, event: APIGatewayProxyEvent, context: Context, timeoutMs: number): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const run = new Promise<Outcome>((ok) => {
        const callback = (error: unknown, value?: unknown) => ok(error ? { kind: "error", error } : { kind: "result", value });
        try {
            const ret = handler(event, context, callback);
            if (ret && typeof (ret as Promise<unknown>).then === "function") {
                (ret as Promise<unknown>).then(
                    (value) => ok({ kind: "result", value }),
                    (error) => ok({ kind: "error", error }),
                );
            } else if (handler.length < 3) {
                ok({ kind: "result", value: ret });
            }
        } catch (error) {
            ok({ kind: "error", error });
        }
    });
    const timeout = new Promise<Outcome>((ok) => (timer = setTimeout(() => ok({ kind: "timeout" }), timeoutMs)));
    try {
        return await Promise.race([run, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** Maps a Lambda proxy result onto the HTTP response; false when the result is malformed. */
function writeResult(res: ServerResponse, result: unknown, requestId: string): boolean {
    const r = result as APIGatewayProxyResult | null;
    if (!r || typeof r !== "object" || !Number.isInteger(r.statusCode) || r.statusCode < 100 || r.statusCode > 599) return false;
    if (r.body !== undefined && r.body !== null && typeof r.body !== "string") return false;
    const headers: Record<string, string | string[]> = {};
    const lower = new Map<string, string>();
    const put = (name: string, value: unknown) => {
        const key = lower.get(name.toLowerCase()) ?? name;
        lower.set(name.toLowerCase(), key);
        const prev = headers[key];
        headers[key] = prev === undefined ? String(value) : ([] as string[]).concat(prev, String(value));
    };
    for (const [name, values] of Object.entries(r.multiValueHeaders ?? {})) for (const v of values) put(name, v);
    for (const [name, value] of Object.entries(r.headers ?? {})) {
        const key = lower.get(name.toLowerCase());
        if (key) delete headers[key]; // single-value headers win over multi-value ones, as in API Gateway
        put(name, value);
    }
    if (!lower.has("content-type")) headers["Content-Type"] = "application/json";
    const body = r.body ? Buffer.from(r.body, r.isBase64Encoded ? "base64" : "utf8") : Buffer.alloc(0);
    res.writeHead(r.statusCode, { ...headers, "Content-Length": body.length, "x-amzn-RequestId": requestId });
    res.end(body);
    return true;
}

export async function startLocalApi(options: LocalApiOptions = {}): Promise<LocalApi> {
    if (running) throw new Error("a local API is already running in this process (handlers share process.env)");
    running = true;
    const log = options.quiet ? () => {} : (line: string) => console.log(line);
    const logErr = options.quiet ? () => {} : (line: string) => console.error(line);
    const savedEnv: Record<string, string | undefined> = {};
    let dynamo: LocalDynamo | undefined;
    let server: Server | undefined;

    const restoreEnv = () => {
        for (const [k, v] of Object.entries(savedEnv)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
    try {
        const app = loadRoutes(options.app);
        const tableName = `${app.service}-local-products`;
        dynamo = await startDynalite({ tableName, dataDir: options.dataDir ? resolve(options.dataDir) : undefined });

        // Environment for the handlers, set BEFORE the bundles are loaded (their clients are created at load).
        const env: Record<string, string | undefined> = {
            [TABLE_ENV]: tableName,
            AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
            AWS_REGION: LOCAL_REGION,
            AWS_DEFAULT_REGION: LOCAL_REGION,
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined, // would win over env credentials in the SDK's default chain
            AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
        };
        for (const [k, v] of Object.entries(env)) {
            savedEnv[k] = process.env[k];
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }

        // Load each bundle once, fresh (a previous start in this process may have cached it with another endpoint).
        const handlers = new Map<string, LambdaHandler>();
        for (const route of app.routes) {
            if (handlers.has(route.bundle + "#" + route.exportName)) continue;
            if (!existsSync(route.bundle)) throw new Error(`${route.bundle} not found: run \`npm run build\` first`);
            delete require.cache[require.resolve(route.bundle)];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const fn = require(route.bundle)[route.exportName];
            if (typeof fn !== "function") throw new Error(`${route.bundle} does not export ${route.exportName}`);
            handlers.set(route.bundle + "#" + route.exportName, fn);
        }

        const handle = async (req: IncomingMessage, res: ServerResponse) => {
            const started = Date.now();
            const requestId = randomUUID();
            const url = new URL(req.url ?? "/", "http://localhost");
            const method = (req.method ?? "GET").toUpperCase();
            let label = "-";
            const finish = (status: number) => log(`${method} ${url.pathname} → ${status} ${Date.now() - started}ms ${label}`);

            const matches = app.routes
                .map((route) => ({ route, m: route.pattern.exec(url.pathname) }))
                .filter((x): x is { route: Route; m: RegExpExecArray } => x.m !== null);
            if (matches.length === 0) {
                req.resume();
                sendJson(res, 404, { message: "Not Found" }, { "x-amzn-RequestId": requestId });
                return finish(404);
            }
            const hit = matches.find((x) => x.route.method === method) ?? matches.find((x) => x.route.method === "ANY");
            if (!hit) {
                req.resume();
                const allow = [...new Set(matches.map((x) => x.route.method))].join(", ");
                sendJson(res, 405, { message: "Method Not Allowed" }, { Allow: allow, "x-amzn-RequestId": requestId });
                return finish(405);
            }
            label = hit.route.functionKey;
            const body = await readBody(req);
            if (body === "too-large") {
                sendJson(res, 413, { message: "Request Too Long" }, { "x-amzn-RequestId": requestId });
                return finish(413);
            }
            const event = buildEvent(req, url, hit.route, hit.m, body, requestId);
            const context = buildContext(app.service, hit.route, randomUUID(), started + hit.route.timeoutMs);
            const outcome = await invoke(handlers.get(hit.route.bundle + "#" + hit.route.exportName)!, event, context, hit.route.timeoutMs);
            if (outcome.kind === "timeout") {
                logErr(`${hit.route.functionKey}: timed out after ${hit.route.timeoutMs} ms`);
                sendJson(res, 504, { message: "Endpoint request timed out" }, { "x-amzn-RequestId": requestId });
                return finish(504);
            }
            if (outcome.kind === "error") {
                logErr(`${hit.route.functionKey}: handler error: ${(outcome.error as Error)?.stack ?? String(outcome.error)}`);
            } else if (writeResult(res, outcome.value, requestId)) {
                return finish((outcome.value as APIGatewayProxyResult).statusCode);
            } else {
                logErr(`${hit.route.functionKey}: malformed Lambda proxy response: ${JSON.stringify(outcome.value)?.slice(0, 200)}`);
            }
            sendJson(res, 502, { message: "Internal server error" }, { "x-amzn-RequestId": requestId });
            return finish(502);
        };

        server = createServer((req, res) => {
            handle(req, res).catch((err) => {
                logErr(`gateway error: ${(err as Error)?.stack ?? err}`);
                if (!res.headersSent) sendJson(res, 502, { message: "Internal server error" });
                else res.destroy();
            });
        });
        const srv = server;
        await new Promise<void>((ok, fail) => {
            srv.once("error", fail);
            srv.listen(options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_HOST, () => ok());
        });
        const port = (srv.address() as AddressInfo).port;
        const host = !options.host || options.host === "127.0.0.1" || options.host === "0.0.0.0" ? "localhost" : options.host;
        const url = `http://${host}:${port}`;

        let stopping: Promise<void> | undefined;
        const dyn = dynamo;
        const stop = () =>
            (stopping ??= (async () => {
                await new Promise<void>((ok) => {
                    srv.close(() => ok());
                    srv.closeAllConnections();
                });
                await dyn.stop();
                restoreEnv();
                running = false;
            })());
        return { url, tableName, dynamoEndpoint: dynamo.endpoint, routes: app.routes, stop };
    } catch (err) {
        server?.close();
        await dynamo?.stop().catch(() => {});
        restoreEnv();
        running = false;
        throw err;
    }
}

// ---- CLI --------------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): LocalApiOptions {
    const opts: LocalApiOptions = {};
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split(/=(.*)/s, 2);
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined) throw new Error(`${flag} needs a value`);
            return v;
        };
        if (flag === "--port") {
            opts.port = Number(value());
            if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error("--port must be 0-65535");
        } else if (flag === "--data-dir") opts.dataDir = value();
        else if (flag === "--host") opts.host = value();
        else if (flag === "--quiet") opts.quiet = true;
        else throw new Error(`unknown option ${argv[i]} (use --port N, --data-dir DIR, --host H, --quiet)`);
    }
    return opts;
}

/** A port near `busy` that nothing listens on right now (bound on `host`, then released); any free one as a fallback. */
async function freePortNear(busy: number, host: string): Promise<number> {
    const tryListen = (port: number) =>
        new Promise<number | undefined>((ok) => {
            const probe = createNetServer();
            probe.once("error", () => ok(undefined));
            probe.listen(port, host, () => {
                const { port: bound } = probe.address() as AddressInfo;
                probe.close(() => ok(bound));
            });
        });
    for (let port = busy + 1; port <= Math.min(busy + 20, 65535); port++) {
        const free = await tryListen(port);
        if (free !== undefined) return free;
    }
    return (await tryListen(0))!;
}

async function startOrExplain(opts: LocalApiOptions): Promise<LocalApi> {
    try {
        return await startLocalApi(opts);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
        const port = opts.port ?? DEFAULT_PORT;
        const suggestion = await freePortNear(port, opts.host ?? DEFAULT_HOST);
        throw new Error(`port ${port} is in use; choose another with npm start -- --port ${suggestion}`);
    }
}

/**
 * Calls `onExit` once the parent process is gone (this process was re-parented). Under `npm start` the parent
 * is npm, or the `sh -c` npm runs the script with when the script does not `exec`; either can die without
 * passing a signal on (npm killed with SIGKILL; sh killed by npm forwarding SIGTERM), which would leave the
 * server orphaned and still listening. Polling is the portable way (only Linux has a parent-death signal).
 */
function onParentExit(onExit: () => void) {
    const parent = process.ppid;
    const timer = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(timer);
        onExit();
    }, 200);
    timer.unref();
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const api = await startOrExplain(opts);
    console.log(
        `Local product API on ${api.url}  (table ${api.tableName}, ${opts.dataDir ? `persisted in ${resolve(opts.dataDir)}` : "in memory"})`,
    );
    for (const r of api.routes)
        console.log(`  ${r.method.padEnd(6)} ${api.url}${r.resource}  → ${r.functionKey} (${r.bundle.replace(`${ROOT}/`, "")})`);
    console.log("\nTry:");
    console.log(
        `  curl -i -X POST ${api.url}/product/create -H 'Content-Type: application/json' \\\n    -d '{"id": "1001", "title": "Amazon Echo", "description": "Amazon Echo", "price": "89.99"}'`,
    );
    console.log(`  curl -i ${api.url}/product/find/1001`);
    console.log("\nCtrl-C to stop.");

    let stopping = false;
    const shutdown = (signal: string) => {
        if (stopping) {
            console.error(`${signal} again: exiting without waiting`);
            process.exit(1);
        }
        stopping = true;
        console.log(`\n${signal}: stopping`);
        api.stop().then(
            () => process.exit(0),
            (err) => {
                console.error(err);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    // Started by an npm script (npm sets npm_lifecycle_event): stop with npm. Run directly, a parent that exits
    // (e.g. `nohup … &` from a shell that closes) leaves the server running, as asked.
    if (process.env.npm_lifecycle_event !== undefined) onParentExit(() => shutdown("parent process exited"));
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`local-api: ${(err as Error).message ?? err}`);
        process.exit(1);
    });
}
