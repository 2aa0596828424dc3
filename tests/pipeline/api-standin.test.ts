/**
 * The API Gateway and Lambda stand-ins against a real moto with IAM enforced: a REST API, functions and a table
 * created as an administrator (before access control is on), the functions' code being THIS repository's bundles
 * (scripts/build-functions.ts, uploaded to S3 and deployed from there as `sls deploy` does), each function running
 * as its own role, whose session moto issues to lambda.amazonaws.com after checking the role's trust policy.
 *
 * The roles' DynamoDB statements name Resource "*": moto authorises DynamoDB calls against "*" (it has no
 * `_determine_resource` for DynamoDB, moto/core/responses.py call_action), so a statement scoped to the table's
 * ARN would be refused there although AWS allows it. What moto does enforce is the action: PutItem.
 */
import {
    APIGatewayClient,
    CreateDeploymentCommand,
    CreateResourceCommand,
    CreateRestApiCommand,
    GetResourcesCommand,
    PutIntegrationCommand,
    PutMethodCommand,
} from "@aws-sdk/client-api-gateway";
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
    CreateAccessKeyCommand,
    CreateRoleCommand,
    CreateUserCommand,
    IAMClient,
    PutRolePolicyCommand,
    PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { AddPermissionCommand, CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity } from "@smithy/types";
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { zipSingleFile } from "../../scripts/build-functions";
import { Moto, startMoto } from "../helpers/moto";
import { buildArtifacts } from "../helpers/sls-package";
import { ApiGatewayStandIn, policyAllowsApiGateway, startApiGatewayStandIn } from "./api-gateway-standin";
import { LambdaStandIn } from "./lambda-standin";
import { serviceCredentials } from "./service-session";

const REGION = "us-east-1";
const ACCOUNT = "222222222222";
const TABLE = "products";
const BUCKET = `deployments-${ACCOUNT}`;
const ROOT = resolve(__dirname, "..", "..");

/** An administrator of `account` in moto, made before access control is on (moto takes the account from a header then). */
async function administrator(moto: Moto, account: string): Promise<AwsCredentialIdentity> {
    const iam = new IAMClient({
        endpoint: moto.url,
        region: REGION,
        credentials: { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" },
    });
    iam.middlewareStack.add(
        (next: any) => (args: any) => {
            args.request.headers["x-moto-account-id"] = account;
            return next(args);
        },
        { step: "build" },
    );
    try {
        await iam.send(new CreateUserCommand({ UserName: "administrator" }));
        const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
        await iam.send(new PutUserPolicyCommand({ UserName: "administrator", PolicyName: "all", PolicyDocument: JSON.stringify(policy) }));
        const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "administrator" }));
        return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    } finally {
        iam.destroy();
    }
}

describe("pipeline rehearsal: API Gateway and Lambda stand-ins against moto, IAM enforced", function () {
    this.timeout(60_000);
    let moto: Moto;
    let workDir: string;
    let admin: AwsCredentialIdentity;
    let dynamo: DynamoDBClient;
    let lambdaStandIn: LambdaStandIn;
    let gateway: ApiGatewayStandIn;
    let apiId: string;
    let base: string;

    before(async () => {
        const started = Date.now();
        workDir = mkdtempSync(join(tmpdir(), "api-standin-"));
        moto = await startMoto();
        admin = await administrator(moto, ACCOUNT);
        const config = { endpoint: moto.url, region: REGION, credentials: admin, maxAttempts: 1 };
        const iam = new IAMClient(config);
        const lambda = new LambdaClient(config);
        const s3 = new S3Client({ ...config, forcePathStyle: true });
        const apigw = new APIGatewayClient(config);
        dynamo = new DynamoDBClient(config);
        try {
            await dynamo.send(
                new CreateTableCommand({
                    TableName: TABLE,
                    BillingMode: "PAY_PER_REQUEST",
                    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
                    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
                }),
            );
            const role = async (name: string, actions: string[]) => {
                const trust = {
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
                };
                const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
                const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] };
                await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "table", PolicyDocument: JSON.stringify(policy) }));
                return Role!.Arn!;
            };
            const writer = await role("product-writer", ["dynamodb:PutItem", "dynamodb:GetItem"]);
            const reader = await role("product-reader", ["dynamodb:GetItem"]);

            // this repository's bundles, deployed from S3 as CloudFormation (sls deploy) deploys them
            const bundles = await buildArtifacts();
            await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
            const fromS3 = async (bundle: string) => {
                const key = `serverless/product-catalog/dev/${bundle}.zip`;
                await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(join(bundles, `${bundle}.zip`)) }));
                return { S3Bucket: BUCKET, S3Key: key };
            };
            // small handlers for the gateway's own behaviour, created from a zip (their code is given to the stand-in)
            const tiny = (name: string, source: string) => {
                const file = join(workDir, `${name}.zip`);
                writeFileSync(file, zipSingleFile("index.js", Buffer.from(source)));
                return file;
            };
            const archives = {
                echo: tiny(
                    "echo",
                    `exports.handler = async (event) => ({ statusCode: 200, headers: { "x-handled-by": "echo" }, body: JSON.stringify(event) });`,
                ),
                slow: tiny(
                    "slow",
                    `exports.handler = () => new Promise((r) => setTimeout(() => r({ statusCode: 200, body: "late" }), 10000));`,
                ),
                thrower: tiny("thrower", `exports.handler = async () => { throw new TypeError("boom"); };`),
                malformed: tiny("malformed", `exports.handler = async () => "not a proxy response";`),
            };
            const functions: Record<string, string> = {};
            const createFunction = async (
                name: string,
                roleArn: string,
                code: { S3Bucket: string; S3Key: string } | { ZipFile: Buffer },
                timeout = 10,
            ) => {
                const fn = await lambda.send(
                    new CreateFunctionCommand({
                        FunctionName: name,
                        Role: roleArn,
                        Runtime: "nodejs22.x",
                        Handler: "index.handler",
                        Code: code,
                        Timeout: timeout,
                        Environment: { Variables: { PRODUCTS_TABLE_NAME: TABLE, LOG_LEVEL: "info" } },
                    }),
                );
                functions[name] = fn.FunctionArn!;
            };
            await createFunction("create-product", writer, await fromS3("create-product"));
            await createFunction("find-product", writer, await fromS3("find-product"));
            await createFunction("create-product-denied", reader, await fromS3("create-product"));
            for (const [name, file] of Object.entries(archives))
                await createFunction(name, reader, { ZipFile: readFileSync(file) }, name === "slow" ? 2 : 10);
            await createFunction("unpermitted", reader, { ZipFile: readFileSync(archives.echo) });

            const api = await apigw.send(new CreateRestApiCommand({ name: "dev-product-catalog" }));
            apiId = api.id!;
            const { items } = await apigw.send(new GetResourcesCommand({ restApiId: apiId }));
            const ids: Record<string, string> = { "": items![0].id! };
            const resource = async (path: string) => {
                let parent = "";
                for (const part of path.split("/").filter(Boolean)) {
                    const here = `${parent}/${part}`;
                    ids[here] ??= (
                        await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: ids[parent], pathPart: part }))
                    ).id!;
                    parent = here;
                }
                return ids[parent];
            };
            const routes: [string, string, string, number?][] = [
                ["POST", "/product/create", "create-product"],
                ["GET", "/product/find/{id}", "find-product"],
                ["POST", "/denied/create", "create-product-denied"],
                ["GET", "/items/{id}", "echo"],
                ["GET", "/items/special", "echo"],
                ["ANY", "/files/{path+}", "echo"],
                ["GET", "/slow", "slow"],
                ["GET", "/slow-gateway", "slow", 300],
                ["GET", "/throws", "thrower"],
                ["GET", "/malformed", "malformed"],
                ["GET", "/unpermitted", "unpermitted"],
            ];
            for (const [method, path, fn, timeoutInMillis] of routes) {
                const resourceId = await resource(path);
                await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId, httpMethod: method, authorizationType: "NONE" }));
                await apigw.send(
                    new PutIntegrationCommand({
                        restApiId: apiId,
                        resourceId,
                        httpMethod: method,
                        type: "AWS_PROXY",
                        integrationHttpMethod: "POST",
                        uri: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${functions[fn]}/invocations`,
                        timeoutInMillis,
                    }),
                );
            }
            for (const name of Object.keys(functions).filter((n) => n !== "unpermitted")) {
                await lambda.send(
                    new AddPermissionCommand({
                        FunctionName: name,
                        StatementId: "api-gateway",
                        Action: "lambda:InvokeFunction",
                        Principal: "apigateway.amazonaws.com",
                        SourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/*/*`,
                    }),
                );
            }
            await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: "dev" }));
            await moto.enforceIam();

            lambdaStandIn = new LambdaStandIn({
                motoUrl: moto.url,
                region: REGION,
                readCredentials: admin,
                credentialsFor: serviceCredentials(moto, "lambda.amazonaws.com", { account: ACCOUNT }),
                codeArchives: Object.values(archives),
                workDir,
            });
            gateway = await startApiGatewayStandIn({ motoUrl: moto.url, region: REGION, readCredentials: admin, lambda: lambdaStandIn });
            base = gateway.stageUrl(apiId, "dev");
            console.log(`      timing: moto, bundles and API set up: ${Date.now() - started} ms`);
        } finally {
            for (const client of [iam, lambda, s3, apigw]) client.destroy();
        }
    });

    after(async () => {
        await gateway?.close();
        lambdaStandIn?.close();
        dynamo?.destroy();
        await moto?.stop();
        rmSync(workDir, { recursive: true, force: true });
    });

    const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
            method,
            headers: body === undefined ? {} : { "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return {
            status: res.status,
            headers: res.headers,
            text,
            json: (() => {
                try {
                    return JSON.parse(text);
                } catch {
                    return undefined;
                }
            })(),
        };
    };

    it("creates a product through the deployed create-product bundle: 201, and the item is in moto's table", async () => {
        const product = { id: "standin-1", title: "Stand-in", description: "through API Gateway's stand-in", price: 2.5 };
        const started = Date.now();
        const res = await call("POST", "/product/create", product);
        console.log(`      timing: first POST (cold start): ${Date.now() - started} ms`);
        expect(res.status, JSON.stringify(gateway.requests.at(-1))).to.equal(201);
        expect(res.json).to.deep.equal(product);
        // the Location carries the stage, from requestContext.path as API Gateway sets it
        expect(res.headers.get("location")).to.equal("/dev/product/find/standin-1");
        const { Item } = await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: "standin-1" } } }));
        expect(Item).to.deep.equal({
            id: { S: "standin-1" },
            title: { S: "Stand-in" },
            description: { S: "through API Gateway's stand-in" },
            price: { N: "2.5" },
        });
        const invocation = lambdaStandIn.invocations.at(-1)!;
        expect(invocation.functionArn).to.match(/:function:create-product$/);
        expect(invocation.logs).to.include('"status":201');
    });

    it("answers the handler's 5xx when the function's role may not PutItem; moto logs the refusal", async () => {
        const res = await call("POST", "/denied/create", { id: "standin-2", title: "Denied", description: "no PutItem", price: 1 });
        expect(res.status, res.text).to.equal(500);
        // the handler's own answer (its request ID is the invocation's), not API Gateway's
        const invocation = lambdaStandIn.invocations.at(-1)!;
        expect(res.json).to.deep.equal({ message: "Internal server error", requestId: invocation.requestId });
        expect(invocation.outcome).to.deep.include({ kind: "result" });
        // moto answers the refusal as XML 403 where DynamoDB answers JSON 400 AccessDeniedException; either way the
        // handler classifies it as its own failure (500), not a retryable one (503)
        expect(invocation.logs).to.include('"status":500').and.include('"awsStatus":403');
        const log = await moto.logHolding(["moto-iam: denied arn:aws:sts::222222222222:assumed-role/product-reader/"]);
        expect(log).to.match(/moto-iam: denied arn:aws:sts::222222222222:assumed-role\/product-reader\/\S+ dynamodb:PutItem/);
        const { Item } = await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: "standin-2" } } }));
        expect(Item).to.equal(undefined);
    });

    it("serves scripts/smoke-test.mjs, run as the pipeline runs it, at the stand-in's stage URL", async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [
            join(ROOT, "scripts", "smoke-test.mjs"),
            gateway.localUrl(`https://${apiId}.execute-api.${REGION}.amazonaws.com/dev`),
        ]);
        expect(stdout).to.match(/smoke test \(full\) of http:\/\/127\.0\.0\.1:\d+\/\w+\/dev: 6 passed, 0 failed/);
    });

    it("builds the REST proxy event: path parameters (literal before {param} before {param+}), query, headers, stage", async () => {
        const res = await call("GET", "/items/a%20b?x=1&x=2&y=3");
        expect(res.status).to.equal(200);
        expect(res.headers.get("x-handled-by")).to.equal("echo");
        const event = res.json;
        expect(event).to.deep.include({
            resource: "/items/{id}",
            path: "/items/a%20b",
            httpMethod: "GET",
            pathParameters: { id: "a b" },
            queryStringParameters: { x: "2", y: "3" },
            multiValueQueryStringParameters: { x: ["1", "2"], y: ["3"] },
            body: null,
            isBase64Encoded: false,
            stageVariables: null,
        });
        expect(event.headers.Host).to.equal(`${apiId}.execute-api.${REGION}.amazonaws.com`);
        expect(event.requestContext).to.deep.include({
            stage: "dev",
            path: "/dev/items/a%20b",
            resourcePath: "/items/{id}",
            accountId: ACCOUNT,
            apiId,
        });

        expect((await call("GET", "/items/special")).json.resource).to.equal("/items/special");
        const greedy = (await call("DELETE", "/files/a/b.txt")).json;
        expect(greedy).to.deep.include({ resource: "/files/{path+}", httpMethod: "DELETE", pathParameters: { path: "a/b.txt" } });
    });

    it("answers as API Gateway for what never reaches a function: unknown route or method 403, no invoke permission 500", async () => {
        expect(await call("GET", "/nowhere")).to.deep.include({ status: 403, json: { message: "Missing Authentication Token" } });
        expect(await call("DELETE", "/product/create")).to.deep.include({ status: 403, json: { message: "Missing Authentication Token" } });
        expect(await call("GET", "/unpermitted")).to.deep.include({ status: 500, json: { message: "Internal server error" } });
        expect(gateway.requests.at(-1)!.reason).to.match(
            /^Execution failed due to configuration error: Invalid permissions on Lambda function/,
        );
    });

    it("answers 502 for a thrown error, a malformed response or the function's timeout, and 504 past the integration timeout", async () => {
        expect(await call("GET", "/throws")).to.deep.include({ status: 502, json: { message: "Internal server error" } });
        expect(lambdaStandIn.invocations.at(-1)!.outcome).to.deep.equal({ kind: "error", errorType: "TypeError", errorMessage: "boom" });
        expect(await call("GET", "/malformed")).to.deep.include({ status: 502, json: { message: "Internal server error" } });

        let started = Date.now();
        expect(await call("GET", "/slow")).to.deep.include({ status: 502, json: { message: "Internal server error" } });
        expect(Date.now() - started).to.be.within(1_900, 5_000);
        expect(lambdaStandIn.invocations.at(-1)!.outcome).to.include({ kind: "error", errorType: "Sandbox.Timedout" });

        started = Date.now();
        expect(await call("GET", "/slow-gateway")).to.deep.include({ status: 504, json: { message: "Endpoint request timed out" } });
        expect(Date.now() - started).to.be.below(1_500);
    });

    it("evaluates a function's resource policy as Lambda does for API Gateway", () => {
        const policy = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
        const allow = { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "lambda:InvokeFunction" };
        const source = `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc/dev/GET/items/{id}`;
        expect(
            policyAllowsApiGateway(
                policy({ ...allow, Condition: { ArnLike: { "AWS:SourceArn": `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc/*/*` } } }),
                source,
                ACCOUNT,
            ),
        ).to.equal(true);
        expect(
            policyAllowsApiGateway(
                policy({ ...allow, Condition: { ArnLike: { "AWS:SourceArn": `arn:aws:execute-api:${REGION}:${ACCOUNT}:other/*/*` } } }),
                source,
                ACCOUNT,
            ),
        ).to.equal(false);
        expect(policyAllowsApiGateway(policy({ ...allow, Principal: { Service: "events.amazonaws.com" } }), source, ACCOUNT)).to.equal(
            false,
        );
        expect(
            policyAllowsApiGateway(policy({ ...allow, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }), source, ACCOUNT),
        ).to.equal(false);
        expect(policyAllowsApiGateway(undefined, source, ACCOUNT)).to.equal(false);
    });
});
