/**
 * Child process of bench/run.ts (section 3, warm latency + HTTP load). Runs the local API
 * (scripts/local-api.ts: in-process dynalite + the API Gateway emulator serving build/<fn>/index.js) and:
 *
 *  1. invokes the shipped handlers (the bundles, loaded exactly as the local API loads them) in-process with
 *     API Gateway proxy events, interleaved batch by batch with the raw SDK calls they make
 *     (DynamoDBDocumentClient PutCommand with the same condition / GetCommand with ConsistentRead, from
 *     node_modules) against the same dynalite, and reports per-call latencies;
 *  2. starts a bare node:http server (fixed JSON answer: the HTTP baseline) and tells the parent both URLs,
 *     so the load generator (autocannon) runs in the parent process, not in the server's event loop;
 *  3. stops everything when the parent says "stop".
 *
 * Handler logs (one JSON line per request at the default LOG_LEVEL=info, as on Lambda) go to stdout, which the
 * parent discards. argv: JSON {"perKind":600,"warmup":60,"batch":20,"maxMs":8000}
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { LOCAL_CREDENTIALS, startLocalApi } from "../scripts/local-api";
import { ROOT } from "./lib/proc";
import { now } from "./lib/stats";

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
export type Kind = "handler-create" | "sdk-put" | "handler-find" | "sdk-get";
const KINDS: Kind[] = ["handler-create", "sdk-put", "handler-find", "sdk-get"];

async function main(): Promise<void> {
    const opts = JSON.parse(process.argv[2] ?? "{}") as { perKind: number; warmup: number; batch: number; maxMs: number };
    const api = await startLocalApi({ port: 0, quiet: true });
    // The bundles the local API just loaded (same require cache entry, so the same module-scope client).
    const create = require(join(ROOT, "build", "create-product", "index.js")).handler as Handler;
    const find = require(join(ROOT, "build", "find-product", "index.js")).handler as Handler;

    const raw = DynamoDBDocumentClient.from(
        new DynamoDBClient({
            endpoint: api.dynamoEndpoint,
            region: "us-east-1",
            credentials: LOCAL_CREDENTIALS,
            maxAttempts: 3,
            requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
        }),
        { marshallOptions: { removeUndefinedValues: true } },
    );

    let seq = 0;
    const ids: string[] = [];
    const product = (id: string) => ({ id, title: "Amazon Echo", description: "Smart speaker with Alexa", price: 89.99 });
    const event = (method: string, path: string, resource: string, body: string | null, pathParameters: Record<string, string> | null) => ({
        resource,
        path,
        httpMethod: method,
        headers: { "Content-Type": "application/json" },
        multiValueHeaders: { "Content-Type": ["application/json"] },
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        pathParameters,
        stageVariables: null,
        requestContext: { requestId: `bench-${seq}`, path, stage: "local", httpMethod: method, resourcePath: resource },
        body,
        isBase64Encoded: false,
    });
    const context = () => ({ awsRequestId: `bench-req-${seq}`, functionName: "bench", getRemainingTimeInMillis: () => 10_000 });
    const unexpected: Record<string, number> = {};
    const bad = (kind: string) => (unexpected[kind] = (unexpected[kind] ?? 0) + 1);
    const pick = () => ids[seq % ids.length];

    const ops: Record<Kind, () => Promise<void>> = {
        "handler-create": async () => {
            const id = `h-${++seq}`;
            const r = await create(event("POST", "/product/create", "/product/create", JSON.stringify(product(id)), null), context());
            if (r.statusCode !== 201) bad("handler-create");
            else ids.push(id);
        },
        "sdk-put": async () => {
            const id = `s-${++seq}`;
            await raw.send(
                new PutCommand({ TableName: api.tableName, Item: product(id), ConditionExpression: "attribute_not_exists(id)" }),
            );
            ids.push(id);
        },
        "handler-find": async () => {
            const id = pick();
            seq++;
            const r = await find(event("GET", `/product/find/${id}`, "/product/find/{id}", null, { id }), context());
            if (r.statusCode !== 200) bad("handler-find");
        },
        "sdk-get": async () => {
            const id = pick();
            seq++;
            const r = await raw.send(new GetCommand({ TableName: api.tableName, Key: { id }, ConsistentRead: true }));
            if (!r.Item) bad("sdk-get");
        },
    };

    // Warm-up (JIT, connection pools, credentials resolved once); not recorded.
    for (let i = 0; i < opts.warmup; i++) for (const k of KINDS) await ops[k]();

    const samples: Record<Kind, number[]> = { "handler-create": [], "sdk-put": [], "handler-find": [], "sdk-get": [] };
    const started = now();
    let round = 0;
    // Bounded by count (perKind per kind) and by time (maxMs); kinds alternate batch by batch, rotating the order.
    while (samples["sdk-get"].length < opts.perKind && now() - started < opts.maxMs) {
        const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]);
        for (const k of order) {
            for (let i = 0; i < opts.batch; i++) {
                const t0 = now();
                await ops[k]();
                samples[k].push(now() - t0);
            }
        }
        round++;
    }
    process.send!({ type: "latency", samples, unexpected, elapsedMs: now() - started, rounds: round });

    // HTTP baseline: the cheapest possible node:http answer, same process, same loopback.
    const bareBody = JSON.stringify(product("bare"));
    const bare = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(bareBody) });
            res.end(bareBody);
        });
    });
    await new Promise<void>((ok) => bare.listen(0, "127.0.0.1", () => ok()));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const apiUrl = api.url.replace("//localhost:", "//127.0.0.1:"); // loopback IPv4, as the API listens

    process.on("message", async (m: { type: string }) => {
        if (m?.type !== "stop") return;
        await new Promise<void>((ok) => {
            bare.close(() => ok());
            bare.closeAllConnections();
        });
        raw.destroy();
        await api.stop();
        process.send!({ type: "stopped" });
        process.disconnect();
    });
    process.send!({ type: "ready", apiUrl, bareUrl, findIds: ids.slice(0, 200) });
}

main().catch((err) => {
    process.send?.({ type: "error", message: String((err as Error)?.stack ?? err) });
    process.disconnect?.();
    process.exitCode = 1;
});
