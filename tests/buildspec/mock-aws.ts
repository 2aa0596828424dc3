/**
 * A tiny in-process AWS endpoint for offline deploy rehearsals: ECS container credentials, STS (AssumeRole,
 * GetCallerIdentity), CloudFormation (the change-set flow), S3 (path style) and Lambda GetFunction. Point SDKs at
 * it with AWS_ENDPOINT_URL and AWS_CONTAINER_CREDENTIALS_FULL_URI=<url>/creds. Every request is recorded with the
 * access key that signed it, so a test can tell container credentials from assumed-role credentials.
 * Secrets it hands out contain FAKESECRET.
 */
import { randomUUID } from "node:crypto";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

export interface MockCall {
    /** signing service from the SigV4 scope ("container-credentials" for the credentials endpoint) */
    service: string;
    /** access key id that signed the request */
    akid: string;
    action: string;
    params: Record<string, string>;
}

export interface MockAws {
    url: string;
    account: string;
    calls: MockCall[];
    /** Lifetime of the sessions AssumeRole hands out from now on (default 3600 s, the role-chaining cap). */
    setAssumedSessionSeconds(seconds: number): void;
    /** Requests refused because they were signed with an assumed-role session past its expiration. */
    readonly expiredRejections: number;
    close(): Promise<void>;
}

export const CONTAINER_KEY = "AKIDCONTAINERFAKE";
export const ASSUMED_KEY = "ASIAASSUMEDFAKE";

/**
 * The AWS API calls (service:Operation) osls 4.3.1 makes as the deploy role (custom deployment bucket, change
 * sets), as observed by tests/buildspec/deploy-rehearsal.test.ts. IAM: S3 HeadBucket and ListObjectsV2 are
 * authorised by s3:ListBucket, HeadObject by s3:GetObject, DeleteObjects (old artifacts beyond the 5 newest,
 * not reached here) by s3:DeleteObject. sts:GetCallerIdentity needs no permission.
 */
export const DEPLOY_API_CALLS = {
    create: [
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:ListStackResources",
        "cloudformation:ValidateTemplate",
        "lambda:GetFunction",
        "s3:HeadBucket",
        "s3:ListObjectsV2",
        "s3:PutObject",
        "sts:GetCallerIdentity",
    ],
    /** additionally on updates */
    update: ["cloudformation:DeleteChangeSet", "s3:HeadObject"],
    /** what `sls info` reads; `sls deploy` runs it at the end (a standalone `sls info` also assumes the role) */
    info: ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"],
} as const;

const CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const esc = (s: unknown) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const hourFromNow = () => new Date(Date.now() + 3600_000).toISOString();

function queryResponse(res: ServerResponse, ns: string, action: string, inner: string) {
    res.writeHead(200, { "content-type": "text/xml" });
    res.end(
        `<${action}Response xmlns="${ns}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`,
    );
}
function queryError(res: ServerResponse, code: string, message: string) {
    res.writeHead(400, { "content-type": "text/xml" });
    res.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
    );
}

interface Stack {
    id: string;
    status: string;
    events: { id: string; type: string; logicalId: string; status: string }[];
}

export async function startMockAws(account = "222222222222"): Promise<MockAws> {
    const calls: MockCall[] = [];
    const objects = new Map<string, { size: number; meta: Record<string, string>; lastModified: string }>();
    const stacks = new Map<string, Stack>();
    const changeSets = new Map<string, { stackId: string; type: string }>();
    let url = "";
    // Like STS: an assumed-role session stops working at its Expiration, so a client that does not re-assume fails.
    let sessionSeconds = 3600;
    let assumedUntil = 0;
    let expiredRejections = 0;

    function cloudFormation(res: ServerResponse, p: URLSearchParams) {
        const action = p.get("Action") ?? "";
        const given = p.get("StackName") ?? "";
        const name = given.startsWith("arn:") ? given.split("/")[1] : given;
        const stack = stacks.get(name);
        const csKey = `${name}/${p.get("ChangeSetName")}`;
        switch (action) {
            case "DescribeStacks": {
                if (!stack || stack.status === "REVIEW_IN_PROGRESS")
                    return queryError(res, "ValidationError", `Stack with id ${given} does not exist`);
                const endpoint = `https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/${name.split("-").pop()}`;
                return queryResponse(
                    res,
                    CFN_NS,
                    action,
                    `<Stacks><member><StackId>${stack.id}</StackId><StackName>${name}</StackName><StackStatus>${stack.status}</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>ServiceEndpoint</OutputKey><OutputValue>${endpoint}</OutputValue></member></Outputs></member></Stacks>`,
                );
            }
            case "ValidateTemplate":
                return queryResponse(res, CFN_NS, action, "<Parameters/>");
            case "CreateChangeSet": {
                if (!stack)
                    stacks.set(name, {
                        id: `arn:aws:cloudformation:us-east-1:${account}:stack/${name}/${randomUUID()}`,
                        status: "REVIEW_IN_PROGRESS",
                        events: [],
                    });
                const s = stacks.get(name)!;
                changeSets.set(csKey, { stackId: s.id, type: p.get("ChangeSetType") ?? "" });
                return queryResponse(
                    res,
                    CFN_NS,
                    action,
                    `<Id>arn:aws:cloudformation:us-east-1:${account}:changeSet/x/${randomUUID()}</Id><StackId>${s.id}</StackId>`,
                );
            }
            case "DescribeChangeSet": {
                const cs = changeSets.get(csKey);
                if (!cs) return queryError(res, "ChangeSetNotFound", "ChangeSet does not exist");
                return queryResponse(
                    res,
                    CFN_NS,
                    action,
                    `<ChangeSetName>${esc(p.get("ChangeSetName"))}</ChangeSetName><StackId>${cs.stackId}</StackId><StackName>${name}</StackName><Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action><LogicalResourceId>ProductsTable</LogicalResourceId><ResourceType>AWS::DynamoDB::Table</ResourceType></ResourceChange></member></Changes>`,
                );
            }
            case "DeleteChangeSet":
                changeSets.delete(csKey);
                return queryResponse(res, CFN_NS, action, "");
            case "ExecuteChangeSet": {
                const cs = changeSets.get(csKey);
                if (!cs || !stack) return queryError(res, "ChangeSetNotFound", "ChangeSet does not exist");
                const verb = cs.type === "CREATE" ? "CREATE" : "UPDATE";
                stack.status = `${verb}_COMPLETE`;
                stack.events = [
                    { id: randomUUID(), type: "AWS::CloudFormation::Stack", logicalId: name, status: `${verb}_COMPLETE` },
                    { id: randomUUID(), type: "AWS::DynamoDB::Table", logicalId: "ProductsTable", status: `${verb}_COMPLETE` },
                    { id: randomUUID(), type: "AWS::CloudFormation::Stack", logicalId: name, status: `${verb}_IN_PROGRESS` },
                ];
                changeSets.delete(csKey);
                return queryResponse(res, CFN_NS, action, "");
            }
            case "DescribeStackEvents": {
                const events = (stack?.events ?? [])
                    .map(
                        (e) =>
                            `<member><EventId>${e.id}</EventId><StackId>${stack!.id}</StackId><StackName>${name}</StackName><LogicalResourceId>${e.logicalId}</LogicalResourceId><ResourceType>${e.type}</ResourceType><ResourceStatus>${e.status}</ResourceStatus><Timestamp>2026-01-01T00:00:00Z</Timestamp></member>`,
                    )
                    .join("");
                return queryResponse(res, CFN_NS, action, `<StackEvents>${events}</StackEvents>`);
            }
            case "ListStackResources":
                return queryResponse(
                    res,
                    CFN_NS,
                    action,
                    "<StackResourceSummaries><member><LogicalResourceId>ProductsTable</LogicalResourceId><ResourceType>AWS::DynamoDB::Table</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member></StackResourceSummaries>",
                );
            default:
                return queryError(res, "InvalidAction", `mock-aws: unsupported CloudFormation ${action}`);
        }
    }

    function s3(req: IncomingMessage, res: ServerResponse, u: URL, body: Buffer, call: MockCall) {
        const [, bucket, ...rest] = u.pathname.split("/");
        const key = decodeURIComponent(rest.join("/"));
        call.params = { Bucket: bucket, ...(key ? { Key: key } : {}) };
        if (req.method === "HEAD" && !key) {
            call.action = "HeadBucket";
            res.writeHead(200, { "x-amz-bucket-region": "us-east-1" });
            return res.end();
        }
        if (req.method === "GET" && u.searchParams.get("list-type") === "2") {
            call.action = "ListObjectsV2";
            const prefix = u.searchParams.get("prefix") ?? "";
            call.params.Prefix = prefix;
            const items = [...objects.entries()]
                .filter(([k]) => k.startsWith(`${bucket}/${prefix}`))
                .map(
                    ([k, o]) =>
                        `<Contents><Key>${esc(k.slice(bucket.length + 1))}</Key><LastModified>${o.lastModified}</LastModified><Size>${o.size}</Size><ETag>"x"</ETag></Contents>`,
                )
                .join("");
            res.writeHead(200, { "content-type": "application/xml" });
            return res.end(
                `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${esc(prefix)}</Prefix><IsTruncated>false</IsTruncated>${items}</ListBucketResult>`,
            );
        }
        if (req.method === "HEAD") {
            call.action = "HeadObject";
            const o = objects.get(`${bucket}/${key}`);
            if (!o) {
                res.writeHead(404);
                return res.end();
            }
            const meta = Object.fromEntries(Object.entries(o.meta).map(([k, v]) => [`x-amz-meta-${k}`, v]));
            res.writeHead(200, { "content-length": o.size, "last-modified": new Date(o.lastModified).toUTCString(), ...meta });
            return res.end();
        }
        if (req.method === "PUT") {
            call.action = "PutObject";
            const meta: Record<string, string> = {};
            for (const [k, v] of Object.entries(req.headers)) if (k.startsWith("x-amz-meta-")) meta[k.slice(11)] = String(v);
            objects.set(`${bucket}/${key}`, { size: body.length, meta, lastModified: new Date().toISOString() });
            res.writeHead(200, { etag: '"x"' });
            return res.end();
        }
        if (req.method === "POST" && u.searchParams.has("delete")) {
            call.action = "DeleteObjects";
            res.writeHead(200, { "content-type": "application/xml" });
            return res.end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>');
        }
        call.action = `unsupported ${req.method}`;
        res.writeHead(501);
        return res.end();
    }

    const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const u = new URL(req.url ?? "/", url);
            const scope = /Credential=([^/]+)\/\d+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ""));
            const call: MockCall = { service: scope?.[2] ?? "-", akid: scope?.[1] ?? "-", action: "", params: {} };
            calls.push(call);

            if (u.pathname === "/creds") {
                call.service = "container-credentials";
                call.action = "GetCredentials";
                res.writeHead(200, { "content-type": "application/json" });
                return res.end(
                    JSON.stringify({
                        AccessKeyId: CONTAINER_KEY,
                        SecretAccessKey: "FAKESECRET-container",
                        Token: "FAKESECRET-container-token",
                        Expiration: hourFromNow(),
                    }),
                );
            }
            if (call.akid === ASSUMED_KEY && Date.now() > assumedUntil) {
                expiredRejections++;
                call.action = "(expired session)";
                return queryError(res, "ExpiredToken", "The security token included in the request is expired");
            }
            if (call.service === "sts") {
                const p = new URLSearchParams(body.toString());
                call.action = p.get("Action") ?? "";
                call.params = Object.fromEntries(p);
                if (call.action === "AssumeRole") {
                    const arn = `arn:aws:sts::${account}:assumed-role/${p.get("RoleArn")?.split("/").pop()}/${p.get("RoleSessionName")}`;
                    assumedUntil = Date.now() + sessionSeconds * 1000;
                    const expiration = new Date(assumedUntil).toISOString();
                    return queryResponse(
                        res,
                        STS_NS,
                        "AssumeRole",
                        `<Credentials><AccessKeyId>${ASSUMED_KEY}</AccessKeyId><SecretAccessKey>FAKESECRET-assumed</SecretAccessKey><SessionToken>FAKESECRET-assumed-token</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:x</AssumedRoleId><Arn>${arn}</Arn></AssumedRoleUser>`,
                    );
                }
                if (call.action === "GetCallerIdentity") {
                    const arn =
                        call.akid === ASSUMED_KEY
                            ? `arn:aws:sts::${account}:assumed-role/deploy/session`
                            : "arn:aws:sts::111111111111:assumed-role/codebuild/session";
                    return queryResponse(
                        res,
                        STS_NS,
                        "GetCallerIdentity",
                        `<Arn>${arn}</Arn><UserId>AROAFAKE:x</UserId><Account>${arn.split(":")[4]}</Account>`,
                    );
                }
                return queryError(res, "InvalidAction", `mock-aws: unsupported STS ${call.action}`);
            }
            if (call.service === "cloudformation") {
                const p = new URLSearchParams(body.toString());
                call.action = p.get("Action") ?? "";
                call.params = Object.fromEntries(p);
                return cloudFormation(res, p);
            }
            if (call.service === "s3") return s3(req, res, u, body, call);
            if (call.service === "lambda" && req.method === "GET" && /^\/2015-03-31\/functions\/[^/]+$/.test(u.pathname)) {
                call.action = "GetFunction";
                call.params = { FunctionName: decodeURIComponent(u.pathname.split("/").pop()!) };
                res.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" });
                return res.end(JSON.stringify({ Type: "User", Message: "Function not found" }));
            }
            call.action = `unsupported ${req.method} ${u.pathname}`;
            res.writeHead(501);
            return res.end();
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
        url,
        account,
        calls,
        setAssumedSessionSeconds: (seconds: number) => (sessionSeconds = seconds),
        get expiredRejections() {
            return expiredRejections;
        },
        close: () => new Promise<void>((r) => server.close(() => r())),
    };
}
