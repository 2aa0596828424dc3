/**
 * The API Gateway (REST, Lambda proxy) response shape, shared by both handlers.
 *
 * Every response is JSON with `Content-Type: application/json`, `X-Content-Type-Options: nosniff`,
 * `Cache-Control: no-store` and isBase64Encoded false. Errors are
 * `{"message": ...}`; server-side errors add `requestId` (the Lambda awsRequestId, which is also on every
 * log line) and never carry a stack trace or an SDK message.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { createLogger, errorFields, type Fields, type Logger } from "./log";

export const JSON_HEADERS = {
    "Content-Type": "application/json",
    // A browser must not sniff another type from the body (product text could look like HTML or script).
    "X-Content-Type-Options": "nosniff",
    // Answers describe the state of one moment (and errors one request): no browser or proxy keeps a copy.
    "Cache-Control": "no-store",
} as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
    return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body), isBase64Encoded: false };
}

export function clientError(statusCode: number, message: string): APIGatewayProxyResult {
    return json(statusCode, { message });
}

export function serverError(statusCode: 500 | 503, requestId: string): APIGatewayProxyResult {
    const message = statusCode === 503 ? "Service temporarily unavailable, please retry" : "Internal server error";
    return json(statusCode, { message, requestId }, statusCode === 503 ? { "Retry-After": "1" } : {});
}

/**
 * Every value of a request header, whatever the case of its name: API Gateway passes names as the client
 * spelled them, in `headers` (last value of each name) and `multiValueHeaders` (all values); either may be null.
 */
export function headerValues(event: Pick<APIGatewayProxyEvent, "headers" | "multiValueHeaders">, name: string): string[] {
    const wanted = name.toLowerCase();
    const values: string[] = [];
    for (const [key, list] of Object.entries(event.multiValueHeaders ?? {})) {
        if (key.toLowerCase() === wanted && Array.isArray(list)) values.push(...list.filter((v) => typeof v === "string"));
    }
    for (const [key, value] of Object.entries(event.headers ?? {})) {
        if (key.toLowerCase() === wanted && typeof value === "string") values.push(value);
    }
    return values;
}

/**
 * Base path under which the API is served, so Location headers work behind the default execute-api URL
 * (`/dev/product/...`) and behind a custom domain with a base-path mapping (`/v1/product/...`).
 * API Gateway puts the full request path in requestContext.path and the resource path in event.path; the
 * difference is the prefix. When they do not line up (or requestContext.path is absent, e.g. the local
 * gateway) the prefix is "" and the Location is the resource path.
 */
export function basePath(event: Pick<APIGatewayProxyEvent, "path" | "requestContext">): string {
    const full = event.requestContext?.path;
    const path = event.path;
    if (!full || !path || full === path || !full.endsWith(path)) return "";
    const prefix = full.slice(0, full.length - path.length);
    return /^(\/[A-Za-z0-9._~-]+)+$/.test(prefix) ? prefix : "";
}

export type Inner = (
    event: APIGatewayProxyEvent,
    log: Logger,
    requestId: string,
) => Promise<APIGatewayProxyResult & { logFields?: Fields }>;

/**
 * Wraps a handler body: one structured log line per request (status, duration, and error details when
 * any), and a catch-all so an unexpected exception becomes a JSON 500 instead of a Lambda error (which API
 * Gateway would turn into a bare 502).
 */
export function httpHandler(name: string, inner: Inner) {
    return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
        const started = Date.now();
        const requestId = context?.awsRequestId ?? "unknown";
        const log = createLogger({ fn: name, requestId, apiRequestId: event?.requestContext?.requestId });
        let result: APIGatewayProxyResult & { logFields?: Fields };
        try {
            result = await inner(event, log, requestId);
        } catch (err) {
            result = { ...serverError(500, requestId), logFields: { unexpected: true, ...errorFields(err) } };
        }
        const { logFields, ...response } = result;
        const status = response.statusCode;
        const fields = { method: event?.httpMethod, path: event?.path, status, durationMs: Date.now() - started, ...logFields };
        if (status >= 500) log.error("request failed", fields);
        else log.info("request", fields);
        return response;
    };
}
