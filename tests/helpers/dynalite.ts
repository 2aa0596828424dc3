/**
 * Test helpers: an in-process dynalite on a free port with the products table (partition key `id` (S)),
 * and scoped env changes. Everything started here is closed by stop(), so mocha exits without --exit.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { LOCAL_CREDENTIALS, startDynalite } from "../../scripts/local-api";
import { freePort } from "./free-port";

export const TEST_REGION = "us-east-1";

export interface TestDynamo {
    endpoint: string;
    tableName: string;
    /** Env for code that configures itself like a Lambda would (AWS_ENDPOINT_URL_DYNAMODB etc.). */
    env: Record<string, string | undefined>;
    /** A document client pointed at this dynalite (closed by stop()). */
    doc: DynamoDBDocumentClient;
    stop(): Promise<void>;
}

export async function startTestDynamo(tableName = "products-test", dataDir?: string): Promise<TestDynamo> {
    const dynamo = await startDynalite({ tableName, dataDir });
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: TEST_REGION, credentials: LOCAL_CREDENTIALS });
    const doc = DynamoDBDocumentClient.from(client);
    return {
        endpoint: dynamo.endpoint,
        tableName,
        env: {
            PRODUCTS_TABLE_NAME: tableName,
            AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
            AWS_REGION: TEST_REGION,
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            LOG_LEVEL: "silent",
        },
        doc,
        async stop() {
            doc.destroy();
            await dynamo.stop();
        },
    };
}

/** Sets env vars (undefined = unset); returns a function that restores the previous values. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const apply = (v: Record<string, string | undefined>) => {
        for (const [k, val] of Object.entries(v)) {
            if (val === undefined) delete process.env[k];
            else process.env[k] = val;
        }
    };
    apply(vars);
    return () => apply(saved);
}

/** A TCP port nobody listens on (bound then released): where a test points a client to make it fail to connect. */
export const deadPort = freePort;
