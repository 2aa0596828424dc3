/**
 * Shared plumbing for the robustness suites: the REAL exported handlers (fresh module instances, so their
 * module-scope DynamoDB client is configured from this suite's env, as a new Lambda container would be),
 * the response invariants every answer must satisfy, a model of what the table must contain, and the
 * fast-check seed.
 */
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { expect } from "chai";
import fc from "fast-check";
import { lambdaContext } from "../functions/events";

/** Fixed by default (reproducible in CI); `FC_SEED=<int>` overrides. `FC_SCALE=<n>` multiplies numRuns. */
export const SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== "" ? Number(process.env.FC_SEED) : 20261105;
if (!Number.isSafeInteger(SEED)) throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
const SCALE = process.env.FC_SCALE ? Number(process.env.FC_SCALE) : 1;
export const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

/**
 * fc.assert parameters: the seed, the number of runs, and a reporter that caps the failure report (a
 * counterexample can be a 10 MB body). The report keeps seed, path and the shrunk case, enough to replay.
 */
export function fcParams(numRuns: number): fc.Parameters<unknown> {
    return {
        seed: SEED,
        numRuns: runs(numRuns),
        asyncReporter: async (details) => {
            if (!details.failed) return;
            const full = fc.defaultReportMessage(details) ?? "property failed";
            const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… [${s.length - n} more chars]` : s);
            const lines = full.split("\n").map((l) => cut(l, 2000));
            const cause = details.errorInstance instanceof Error ? `\nCaused by: ${cut(details.errorInstance.message, 3000)}` : "";
            throw new Error(`${lines.join("\n")}${cause}`);
        },
    };
}

export type Handler = (event: APIGatewayProxyEvent, context: ReturnType<typeof lambdaContext>) => Promise<APIGatewayProxyResult>;

/**
 * `require`s functions/create-product and functions/find-product afresh and returns their exported `handler`s.
 * Fresh because the SDK client memoises its endpoint on first use: another suite in the same mocha process
 * may already have used the cached modules against a dynalite that is gone. Call after setting the env.
 */
export function loadFreshHandlers(): { create: Handler; find: Handler } {
    const load = (rel: string) => {
        const path = require.resolve(rel);
        delete require.cache[path];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(path).handler as Handler;
    };
    return { create: load("../../functions/create-product"), find: load("../../functions/find-product") };
}

/** The public product shape, price as a number. */
export interface Product {
    id: string;
    title: string;
    description: string;
    price: number;
}

/** Header lookup as API Gateway/HTTP do it: case-insensitive. */
export function header(res: APIGatewayProxyResult, name: string): string | undefined {
    const hit = Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase());
    return hit === undefined ? undefined : String(hit[1]);
}

const show = (v: unknown, max = 300) => {
    const s = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
    return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
};

/**
 * Invokes a handler and checks what must hold for EVERY response, whatever the input:
 *   - the promise resolves (a rejection would be a Lambda error → a bare 502 from API Gateway);
 *   - status is an integer 200..499 (never a 5xx for anything a client can send);
 *   - Content-Type: application/json, X-Content-Type-Options: nosniff, Cache-Control: no-store;
 *   - isBase64Encoded never true, body is JSON;
 *   - every 4xx body is an object whose `message` is a non-empty string of printable ASCII: whatever the
 *     input, no control, bidi or other client-supplied character is reflected.
 * Returns the status and parsed body.
 */
export async function invoke(
    handler: Handler,
    event: APIGatewayProxyEvent,
): Promise<{ status: number; body: any; res: APIGatewayProxyResult }> {
    let res: APIGatewayProxyResult;
    try {
        res = await handler(event, lambdaContext());
    } catch (err) {
        throw new Error(`handler promise rejected: ${(err as Error)?.stack ?? err}`);
    }
    const where = `${event.httpMethod} body=${show(event.body)} b64=${event.isBase64Encoded} pathParameters=${show(event.pathParameters)} headers=${show(event.multiValueHeaders)}`;
    expect(res, `result object (${where})`).to.be.an("object");
    expect(Number.isInteger(res.statusCode), `integer status (${where})`).to.equal(true);
    expect(res.statusCode, `no 5xx; got body ${show(res.body)} (${where})`).to.be.within(200, 499);
    expect(header(res, "Content-Type"), `Content-Type (${where})`).to.equal("application/json");
    expect(header(res, "X-Content-Type-Options"), `X-Content-Type-Options (${where})`).to.equal("nosniff");
    expect(header(res, "Cache-Control"), `Cache-Control (${where})`).to.equal("no-store");
    expect(res.isBase64Encoded === true, `isBase64Encoded (${where})`).to.equal(false);
    expect(res.body, `body is a string (${where})`).to.be.a("string");
    let body: any;
    try {
        body = JSON.parse(res.body);
    } catch {
        throw new Error(`response body is not JSON: ${show(res.body)} (${where})`);
    }
    if (res.statusCode >= 400) {
        expect(body, `4xx body is an object (${where})`).to.be.an("object").that.is.not.null;
        expect(body.message, `4xx message (${where})`).to.be.a("string");
        expect(body.message.trim(), `4xx message not blank (${where})`).not.to.equal("");
        expect(body.message, `4xx message is printable ASCII (${where})`).to.match(/^[\x20-\x7e]+$/);
    }
    return { status: res.statusCode, body, res };
}

/** Generated-input counters (and the statuses they got), printed at the end of the property suite. */
export const counts = new Map<string, number>();
export const statuses = new Map<string, Map<number, number>>();
export const tick = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
export function sawStatus(name: string, status: number) {
    const m = statuses.get(name) ?? new Map<number, number>();
    m.set(status, (m.get(status) ?? 0) + 1);
    statuses.set(name, m);
}
export const statusSummary = (name: string) =>
    [...(statuses.get(name) ?? new Map<number, number>())]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ");

/**
 * What the table must contain: every product some create answered 201 for, and nothing else. Any write by a
 * rejected (4xx) create shows up as a count mismatch (checked in batches) or a content mismatch (checked at
 * the end); an overwrite by a 409 shows up as a content mismatch.
 */
export class TableModel {
    readonly items = new Map<string, Product>();
    constructor(
        private readonly doc: DynamoDBDocumentClient,
        private readonly tableName: string,
    ) {}

    async scan(select?: "COUNT"): Promise<{ count: number; items: Record<string, unknown>[] }> {
        let count = 0;
        const items: Record<string, unknown>[] = [];
        let start: Record<string, unknown> | undefined;
        do {
            const out = await this.doc.send(
                new ScanCommand({
                    TableName: this.tableName,
                    ExclusiveStartKey: start,
                    ConsistentRead: true,
                    ...(select ? { Select: select } : {}),
                }),
            );
            count += out.Count ?? 0;
            items.push(...(out.Items ?? []));
            start = out.LastEvaluatedKey;
        } while (start);
        return { count, items };
    }

    async expectCount(context: string) {
        const { count } = await this.scan("COUNT");
        expect(count, `table item count vs. 201s so far (${context}: did a rejected input since the last check write?)`).to.equal(
            this.items.size,
        );
    }

    async expectContent(context: string) {
        const { items } = await this.scan();
        const actual = new Map(items.map((i) => [String(i.id), i]));
        expect(actual.size, `table size (${context})`).to.equal(this.items.size);
        for (const [id, want] of this.items) expect(actual.get(id), `item ${JSON.stringify(id)} (${context})`).to.deep.equal(want);
    }
}
