/**
 * Stand-in for API Gateway serving a REST API's stage, `https://<apiId>.execute-api.<region>.amazonaws.com/<stage>`:
 * moto stores REST APIs but, in server mode, executes no integration, and never an AWS_PROXY one
 * (moto/apigateway/models.py, APIGatewayBackend docstring: "Other types (AWS_PROXY, MOCK, etc) are ignored",
 * "This only works when using the decorators, not in ServerMode").
 * Mapping: one loopback server for every API; a client is given `<url>/<apiId>/<stage>` (stageUrl, localUrl) in
 * place of the execute-api URL, the only change scripts/smoke-test.mjs needs (it takes the URL as an argument);
 * a request whose Host header is the execute-api host is served at `/<stage>/…` as well.
 * Each request reads the API from moto as it stands (GetRestApi, GetStage, GetResources embed=methods,
 * GetIntegration), matches the path as API Gateway does (a literal segment before `{param}` before `{param+}`,
 * the method before ANY), checks the function's resource policy lets apigateway.amazonaws.com invoke it from
 * this API's ARN, builds the REST proxy event (payload format 1.0) and invokes the function's deployed code
 * (./lambda-standin.ts). Answers as API Gateway does: no route or method → 403 {"message":"Missing
 * Authentication Token"}; no permission, a function error or a malformed proxy response → 502 (500 for the
 * permission) {"message":"Internal server error"}; past the integration's timeout (timeoutInMillis, default
 * 29 s) → 504 {"message":"Endpoint request timed out"}.
 * Not modelled: authorizers, API keys and usage plans, request validation, mapping templates, non-proxy
 * integrations, stage variables in URIs, the stage's deployment snapshot (the API's current resources are
 * served), custom domains, throttling, CORS, binary responses without isBase64Encoded.
 */
import {
    APIGatewayClient,
    GetIntegrationCommand,
    GetResourcesCommand,
    GetRestApiCommand,
    GetStageCommand,
    Resource,
} from "@aws-sdk/client-api-gateway";
import { GetPolicyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { functionRef, LambdaStandIn } from "./lambda-standin";

export interface ApiGatewayStandInOptions {
    readonly motoUrl: string;
    readonly region: string;
    /** reads the APIs and functions' policies as API Gateway does: an administrator of their account */
    readonly readCredentials: AwsCredentialIdentity;
    readonly lambda: LambdaStandIn;
}

export interface ServedRequest {
    readonly method: string;
    readonly path: string;
    readonly status: number;
    readonly apiId?: string;
    readonly stage?: string;
    readonly resource?: string;
    readonly functionArn?: string;
    /** what API Gateway would have logged (execution log) when it did not answer from the function */
    readonly reason?: string;
}

export interface ApiGatewayStandIn {
    readonly url: string;
    readonly requests: ServedRequest[];
    /** what to give a client in place of https://<apiId>.execute-api.<region>.amazonaws.com/<stage> */
    stageUrl(apiId: string, stage: string): string;
    /** the stand-in's URL for an execute-api URL (e.g. a Deploy action's API_URL) */
    localUrl(executeApiUrl: string): string;
    close(): Promise<void>;
}

const MAX_PAYLOAD = 10 * 1024 * 1024;
const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;
const EXECUTE_API_HOST = /^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/;
const LAMBDA_URI = /^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/(arn:[^/]+)\/invocations$/;

class Answer extends Error {
    constructor(
        readonly status: number,
        readonly body: string,
        readonly reason: string,
    ) {
        super(reason);
    }
}
const missingToken = (reason: string) => new Answer(403, "Missing Authentication Token", reason);
const internalError = (status: number, reason: string) => new Answer(status, "Internal server error", reason);

/** How specific a matched segment is: literal, then {param}, then {param+} (API Gateway's precedence). */
function match(template: string, segments: string[]): { params: Record<string, string>; rank: number[] } | undefined {
    const parts = template.split("/").filter(Boolean);
    const params: Record<string, string> = {};
    const rank: number[] = [];
    for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const greedy = /^\{(.+)\+\}$/.exec(part);
        if (greedy) {
            if (i !== parts.length - 1 || segments.length <= i) return undefined;
            params[greedy[1]] = segments.slice(i).map(decodeURIComponent).join("/");
            rank.push(0);
            return { params, rank };
        }
        if (i >= segments.length) return undefined;
        const param = /^\{(.+)\}$/.exec(part);
        if (param) {
            params[param[1]] = decodeURIComponent(segments[i]);
            rank.push(1);
        } else if (part === segments[i]) rank.push(2);
        else return undefined;
    }
    return parts.length === segments.length ? { params, rank } : undefined;
}

/** Ranks compared segment by segment: the higher first difference wins. */
function moreSpecific(a: number[], b: number[]): boolean {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if ((a[i] ?? -1) !== (b[i] ?? -1)) return (a[i] ?? -1) > (b[i] ?? -1);
    }
    return false;
}

function bestResource(resources: Resource[], segments: string[]) {
    let best: { resource: Resource; params: Record<string, string>; rank: number[] } | undefined;
    for (const resource of resources) {
        const found = match(resource.path ?? "", segments);
        if (found && (!best || moreSpecific(found.rank, best.rank))) best = { resource, ...found };
    }
    return best;
}

function arnLike(pattern: string, value: string): boolean {
    const regex = new RegExp(
        `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
    );
    return regex.test(value);
}

/**
 * Whether the function's resource policy lets API Gateway invoke it from `sourceArn`: an Allow for the
 * apigateway.amazonaws.com service and lambda:InvokeFunction whose conditions (ArnLike/ArnEquals/StringEquals/
 * StringLike on aws:SourceArn and aws:SourceAccount) hold, and no Deny that applies. Other conditions fail closed.
 */
export function policyAllowsApiGateway(policy: string | undefined, sourceArn: string, sourceAccount: string): boolean {
    if (!policy) return false;
    const context: Record<string, string> = { "aws:sourcearn": sourceArn, "aws:sourceaccount": sourceAccount };
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
    const applies = (statement: any): boolean => {
        const principal = statement.Principal;
        const services = principal === "*" ? ["apigateway.amazonaws.com"] : list(principal?.Service);
        if (!services.includes("apigateway.amazonaws.com")) return false;
        if (!list(statement.Action).some((a) => arnLike(a.toLowerCase(), "lambda:invokefunction"))) return false;
        return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
            Object.entries(keys as Record<string, unknown>).every(([key, expected]) => {
                const actual = context[key.toLowerCase()];
                if (actual === undefined || !/^(Arn|String)(Equals|Like)$/.test(operator)) return false;
                return list(expected).some((e) => (operator.endsWith("Like") ? arnLike(e, actual) : e === actual));
            }),
        );
    };
    const statements: any[] = [JSON.parse(policy).Statement ?? []].flat();
    const applying = statements.filter(applies);
    return applying.some((s) => s.Effect === "Allow") && !applying.some((s) => s.Effect === "Deny");
}

function requestTime(date: Date): string {
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const p = (n: number) => String(n).padStart(2, "0");
    return `${p(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size <= MAX_PAYLOAD) chunks.push(c);
        });
        req.on("end", () => resolve(size > MAX_PAYLOAD ? undefined : Buffer.concat(chunks)));
        req.on("error", reject);
    });
}

export async function startApiGatewayStandIn(options: ApiGatewayStandInOptions): Promise<ApiGatewayStandIn> {
    const config = { endpoint: options.motoUrl, region: options.region, credentials: options.readCredentials, maxAttempts: 1 };
    const apiGateway = new APIGatewayClient(config);
    const lambda = new LambdaClient(config);
    const sts = new STSClient(config);
    const { Account: account } = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    const requests: ServedRequest[] = [];

    const route = (req: IncomingMessage): { apiId: string; stage: string; segments: string[]; query: URLSearchParams } => {
        const url = new URL(req.url ?? "/", "http://stand-in");
        const segments = url.pathname.split("/").filter(Boolean);
        const host = EXECUTE_API_HOST.exec(String(req.headers.host ?? ""));
        const [apiId, stage, ...rest] = host ? [host[1], ...segments] : segments;
        if (!apiId || !stage) throw missingToken(`no <apiId>/<stage> in ${url.pathname}`);
        return { apiId, stage, segments: rest, query: url.searchParams };
    };

    const handle = async (
        req: IncomingMessage,
        res: ServerResponse,
        record: { -readonly [K in keyof ServedRequest]?: ServedRequest[K] },
    ) => {
        const { apiId, stage, segments, query } = route(req);
        Object.assign(record, { apiId, stage });
        const api = await apiGateway.send(new GetRestApiCommand({ restApiId: apiId })).catch(() => undefined);
        if (!api) throw new Answer(404, `stand-in: no REST API ${apiId} in moto (API Gateway: no such host)`, "unknown API");
        await apiGateway.send(new GetStageCommand({ restApiId: apiId, stageName: stage })).catch(() => {
            throw missingToken(`no stage ${stage}`);
        });
        const { items = [] } = await apiGateway.send(new GetResourcesCommand({ restApiId: apiId, embed: ["methods"], limit: 500 }));
        const found = bestResource(items, segments);
        const method = req.method ?? "GET";
        const declared = found?.resource.resourceMethods?.[method] ? method : found?.resource.resourceMethods?.ANY ? "ANY" : undefined;
        if (!found || !declared) throw missingToken(found ? `no ${method} on ${found.resource.path}` : "no matching resource");
        const resourcePath = found.resource.path!;
        record.resource = resourcePath;
        const methodInfo = found.resource.resourceMethods![declared];
        if ((methodInfo.authorizationType ?? "NONE") !== "NONE" || methodInfo.apiKeyRequired) {
            throw internalError(500, `stand-in: authorization ${methodInfo.authorizationType} / API keys are not modelled`);
        }
        const integration = await apiGateway.send(
            new GetIntegrationCommand({ restApiId: apiId, resourceId: found.resource.id, httpMethod: declared }),
        );
        const functionArn = integration.type === "AWS_PROXY" ? LAMBDA_URI.exec(integration.uri ?? "")?.[1] : undefined;
        if (!functionArn)
            throw internalError(
                500,
                `stand-in: ${integration.type} integration ${integration.uri} is not modelled (AWS_PROXY to Lambda only)`,
            );
        record.functionArn = functionArn;

        const sourceArn = `arn:aws:execute-api:${options.region}:${account}:${apiId}/${stage}/${method}${resourcePath}`;
        const policy = await lambda.send(new GetPolicyCommand(functionRef(functionArn))).then(
            (p) => p.Policy,
            (error: Error) => {
                if (error.name !== "ResourceNotFoundException") throw error;
                return undefined;
            },
        );
        if (!policyAllowsApiGateway(policy, sourceArn, account!)) {
            const why = policy ? "no statement of its resource policy allows" : "it has no resource policy for";
            throw internalError(
                500,
                `Execution failed due to configuration error: Invalid permissions on Lambda function (${why} ${sourceArn})`,
            );
        }

        const body = await readBody(req);
        if (!body) throw new Answer(413, "Request Too Long", "payload over 10 MB");
        const binary = (api.binaryMediaTypes ?? []).some(
            (t) => t === "*/*" || t === String(req.headers["content-type"] ?? "").split(";")[0],
        );
        const headers: Record<string, string> = {};
        const multiValueHeaders: Record<string, string[]> = {};
        const domainName = `${apiId}.execute-api.${options.region}.amazonaws.com`;
        const sourceIp = req.socket.remoteAddress ?? "127.0.0.1";
        const received: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
            if (req.rawHeaders[i].toLowerCase() !== "host") received.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
        }
        // as API Gateway adds them
        received.push(["Host", domainName], ["X-Forwarded-Proto", "https"], ["X-Forwarded-For", sourceIp]);
        for (const [name, value] of received) {
            headers[name] = value;
            (multiValueHeaders[name] ??= []).push(value);
        }
        const queryKeys = [...new Set(query.keys())];
        const requestId = randomUUID();
        const now = new Date();
        const path = `/${segments.join("/")}`;
        const event: APIGatewayProxyEvent = {
            resource: resourcePath,
            path,
            httpMethod: method,
            headers,
            multiValueHeaders,
            queryStringParameters: queryKeys.length ? Object.fromEntries(queryKeys.map((k) => [k, query.getAll(k).at(-1)!])) : null,
            multiValueQueryStringParameters: queryKeys.length ? Object.fromEntries(queryKeys.map((k) => [k, query.getAll(k)])) : null,
            pathParameters: Object.keys(found.params).length ? found.params : null,
            stageVariables: null,
            requestContext: {
                accountId: account!,
                apiId,
                authorizer: null,
                domainName,
                domainPrefix: apiId,
                extendedRequestId: requestId,
                httpMethod: method,
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
                    sourceIp,
                    user: null,
                    userAgent: String(req.headers["user-agent"] ?? ""),
                    userArn: null,
                },
                path: `/${stage}${path}`,
                protocol: `HTTP/${req.httpVersion}`,
                requestId,
                requestTime: requestTime(now),
                requestTimeEpoch: now.getTime(),
                resourceId: found.resource.id!,
                resourcePath,
                stage,
            },
            body: body.length === 0 ? null : binary ? body.toString("base64") : body.toString("utf8"),
            isBase64Encoded: binary && body.length > 0,
        };

        const timeoutMs = integration.timeoutInMillis ?? DEFAULT_INTEGRATION_TIMEOUT_MS;
        const invocation = await Promise.race([
            options.lambda.invoke(functionArn, event),
            new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref()),
        ]);
        if (!invocation) throw new Answer(504, "Endpoint request timed out", `integration timeout ${timeoutMs} ms`);
        const { outcome } = invocation;
        if (outcome.kind === "error") throw internalError(502, `Lambda execution failed: ${outcome.errorType}: ${outcome.errorMessage}`);
        const result = outcome.payload as {
            statusCode?: unknown;
            headers?: unknown;
            multiValueHeaders?: unknown;
            body?: unknown;
            isBase64Encoded?: unknown;
        };
        const valid =
            typeof result === "object" &&
            result !== null &&
            Number.isInteger(result.statusCode) &&
            (result.body === undefined || result.body === null || typeof result.body === "string") &&
            (result.headers === undefined || (typeof result.headers === "object" && result.headers !== null)) &&
            (result.multiValueHeaders === undefined || (typeof result.multiValueHeaders === "object" && result.multiValueHeaders !== null));
        if (!valid) throw internalError(502, "Execution failed due to configuration error: Malformed Lambda proxy response");

        const out: Record<string, string | string[]> = { "content-type": "application/json", "x-amzn-requestid": requestId };
        for (const [k, v] of Object.entries((result.headers ?? {}) as Record<string, unknown>)) out[k.toLowerCase()] = String(v);
        for (const [k, v] of Object.entries((result.multiValueHeaders ?? {}) as Record<string, unknown[]>))
            out[k.toLowerCase()] = v.map(String);
        const payload =
            typeof result.body === "string"
                ? Buffer.from(result.body, result.isBase64Encoded === true ? "base64" : "utf8")
                : Buffer.alloc(0);
        res.writeHead(result.statusCode as number, { ...out, "content-length": String(payload.length) });
        res.end(payload);
        record.status = result.statusCode as number;
    };

    const server = createServer((req, res) => {
        const record: { -readonly [K in keyof ServedRequest]?: ServedRequest[K] } = { method: req.method ?? "GET", path: req.url ?? "/" };
        handle(req, res, record)
            .catch((error: unknown) => {
                const answer = error instanceof Answer ? error : internalError(500, `stand-in failure: ${(error as Error).stack ?? error}`);
                const body = JSON.stringify({ message: answer.body });
                res.writeHead(answer.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
                res.end(body);
                Object.assign(record, { status: answer.status, reason: answer.reason });
            })
            .finally(() => requests.push(record as ServedRequest));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    return {
        url,
        requests,
        stageUrl: (apiId, stage) => `${url}/${apiId}/${stage}`,
        localUrl(executeApiUrl) {
            const parsed = new URL(executeApiUrl);
            const host = EXECUTE_API_HOST.exec(parsed.hostname);
            if (!host)
                throw new Error(`${executeApiUrl} is not an execute-api URL (https://<apiId>.execute-api.<region>.amazonaws.com/<stage>)`);
            return `${url}/${host[1]}${parsed.pathname.replace(/\/+$/, "")}`;
        },
        close: () =>
            new Promise<void>((r) => {
                apiGateway.destroy();
                lambda.destroy();
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}
