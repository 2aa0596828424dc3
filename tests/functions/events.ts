/** API Gateway REST proxy events/contexts for handler tests, plus response assertions shared by the suites. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { expect } from "chai";
import { randomUUID } from "node:crypto";

export const SAMPLE = { id: "1001", title: "Amazon Echo", description: "Amazon Echo", price: "89.99" };

export function apiEvent(over: Partial<APIGatewayProxyEvent> & { stage?: string; fullPath?: string } = {}): APIGatewayProxyEvent {
    const { stage = "dev", fullPath, ...rest } = over;
    const path = rest.path ?? "/product/create";
    return {
        body: null,
        headers: { "Content-Type": "application/json" },
        multiValueHeaders: { "Content-Type": ["application/json"] },
        httpMethod: "POST",
        isBase64Encoded: false,
        path,
        pathParameters: null,
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        stageVariables: null,
        resource: "/product/create",
        ...rest,
        requestContext: {
            accountId: "123456789012",
            apiId: "abc123",
            authorizer: null,
            protocol: "HTTP/1.1",
            httpMethod: rest.httpMethod ?? "POST",
            identity: {} as APIGatewayProxyEvent["requestContext"]["identity"],
            path: fullPath ?? `/${stage}${path}`,
            stage,
            requestId: randomUUID(),
            requestTimeEpoch: Date.now(),
            resourceId: "res",
            resourcePath: rest.resource ?? "/product/create",
        },
    };
}

export const createEvent = (body: unknown, over: Partial<APIGatewayProxyEvent> & { stage?: string; fullPath?: string } = {}) =>
    apiEvent({ body: body === null ? null : typeof body === "string" ? body : JSON.stringify(body), ...over });

export const findEvent = (id: string | undefined, over: Partial<APIGatewayProxyEvent> = {}) =>
    apiEvent({
        httpMethod: "GET",
        path: `/product/find/${id}`,
        resource: "/product/find/{id}",
        pathParameters: id === undefined ? null : { id },
        ...over,
    });

export function lambdaContext(): Context {
    const awsRequestId = randomUUID();
    return {
        callbackWaitsForEmptyEventLoop: true,
        functionName: "test",
        functionVersion: "$LATEST",
        invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:test",
        memoryLimitInMB: "256",
        awsRequestId,
        logGroupName: "/aws/lambda/test",
        logStreamName: "test",
        getRemainingTimeInMillis: () => 10_000,
        done: () => {},
        fail: () => {},
        succeed: () => {},
    };
}

/** Headers every response carries, success or error (functions/lib/http.ts). */
export const SECURITY_HEADERS = { "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" };

/** Every response: JSON content type, the security headers, never base64, body parses as JSON. Returns the parsed body. */
export function jsonBody(res: APIGatewayProxyResult, status: number): any {
    expect(res.statusCode, `status (body ${res.body})`).to.equal(status);
    expect(res.headers?.["Content-Type"]).to.equal("application/json");
    expect(res.headers, `security headers on a ${res.statusCode}`).to.include(SECURITY_HEADERS);
    expect(res.isBase64Encoded ?? false).to.equal(false);
    return JSON.parse(res.body);
}

/** A 400/413 with exactly this message. */
export function expectClientError(res: APIGatewayProxyResult, status: number, message: string | RegExp) {
    const body = jsonBody(res, status);
    expect(Object.keys(body)).to.deep.equal(["message"]);
    if (typeof message === "string") expect(body.message).to.equal(message);
    else expect(body.message).to.match(message);
}

/** A 5xx: generic message + requestId, nothing internal. */
export function expectServerError(res: APIGatewayProxyResult, status: number, requestId: string) {
    const body = jsonBody(res, status);
    expect(body).to.have.all.keys("message", "requestId");
    expect(body.requestId).to.equal(requestId);
    expect(res.body).not.to.match(/\n\s+at |Exception|ECONN|dynamodb|resource not found|PRODUCTS_TABLE_NAME/i);
}
