/**
 * Product repository on DynamoDB (table key: partition key `id` (S) only).
 *
 * The client is created once per Lambda container by the handler modules (module scope) and injected here,
 * so tests can hand in a client pointed at dynalite or at a dead port. The endpoint is never configured in
 * code: locally the SDK picks up AWS_ENDPOINT_URL_DYNAMODB by itself.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Product } from "./validation";

/** The environment variable holding the table's name, as the route table (functions/routes.json) declares it. */
export { TABLE_ENV } from "../route-table";

export function createDocumentClient(): DynamoDBDocumentClient {
    const client = new DynamoDBClient({
        // Fail fast with a JSON 503 instead of running into the Lambda timeout (serverless.yml: 10 s), which API
        // Gateway would turn into a bare 502/504: ≤ 1 s to connect, ≤ 2 s per attempt, 3 attempts (+ ~0.1 s
        // backoff) ≈ 6.5 s worst case. AWS_MAX_ATTEMPTS, when set, wins (the SDK reads it).
        requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
        maxAttempts: process.env.AWS_MAX_ATTEMPTS ? undefined : 3,
    });
    return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export type CreateOutcome = "created" | "exists";

export class ProductRepository {
    constructor(
        private readonly doc: DynamoDBDocumentClient,
        private readonly tableName: string,
    ) {}

    /** Writes the product unless the id is taken; never overwrites. */
    async create(product: Product): Promise<CreateOutcome> {
        try {
            await this.doc.send(
                new PutCommand({
                    TableName: this.tableName,
                    Item: { id: product.id, title: product.title, description: product.description, price: product.price },
                    ConditionExpression: "attribute_not_exists(id)",
                }),
            );
            return "created";
        } catch (err) {
            if ((err as Error)?.name === "ConditionalCheckFailedException") return "exists";
            throw err;
        }
    }

    /**
     * Strongly consistent read: the create response hands out a Location, and a client following it right away
     * must not get a 404. Costs one RCU per 4 KB instead of half of one.
     */
    async find(id: string): Promise<Product | undefined> {
        const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
        return out.Item ? toProduct(out.Item) : undefined;
    }
}

/** Only the public fields, whatever else the item may carry. */
export function toProduct(item: Record<string, unknown>): Product {
    return {
        id: String(item.id),
        title: String(item.title ?? ""),
        description: String(item.description ?? ""),
        price: Number(item.price),
    };
}

const RETRYABLE_NAMES = new Set([
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TimeoutError",
    "RequestTimeout",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

/**
 * 503 for failures a retry may fix (throttling, DynamoDB 5xx, network/timeouts), 500 for the rest
 * (missing table, access denied, validation errors from DynamoDB = our bug or our config).
 */
export function statusForError(err: unknown): 500 | 503 {
    const e = err as { name?: string; code?: string; $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
    if (!e || typeof e !== "object") return 500;
    if (e.name && RETRYABLE_NAMES.has(e.name)) return 503;
    if (e.code && NETWORK_CODES.has(e.code)) return 503;
    if (e.$retryable) return 503;
    if (e.$fault === "server" || (e.$metadata?.httpStatusCode ?? 0) >= 500) return 503;
    return 500;
}
