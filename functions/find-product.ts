/**
 * GET /product/find/{id} — 200 + product, 404 when there is none, 400 for an id that can never exist
 * (same rule as create), 500/503 + requestId on server-side failure.
 * Lambda handler string: index.handler (bundle build/find-product/index.js).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { clientError, httpHandler, json, serverError } from "./lib/http";
import { errorFields } from "./lib/log";
import { createDocumentClient, ProductRepository, statusForError, TABLE_ENV } from "./lib/products";
import { validateId } from "./lib/validation";

export interface Deps {
    client: DynamoDBDocumentClient;
    tableName: () => string | undefined;
}

export function makeHandler(deps: Deps) {
    return httpHandler("find-product", async (event, _log, requestId) => {
        const raw = event.pathParameters?.id;
        if (raw === undefined) return clientError(400, "Missing path parameter: id");
        const id = validateId(raw);
        if (!id.ok) return { ...clientError(id.status, id.message), logFields: { reason: id.message } };

        const table = deps.tableName();
        if (!table) return { ...serverError(500, requestId), logFields: { reason: `${TABLE_ENV} is not set` } };

        try {
            const product = await new ProductRepository(deps.client, table).find(id.value);
            if (!product) return { ...clientError(404, `Product ${id.value} not found`), logFields: { id: id.value } };
            return { ...json(200, product), logFields: { id: id.value } };
        } catch (err) {
            return { ...serverError(statusForError(err), requestId), logFields: { id: id.value, ...errorFields(err) } };
        }
    });
}

// Once per container: the client (and its connection pool) is reused across invocations.
const client = createDocumentClient();
export const handler = makeHandler({ client, tableName: () => process.env[TABLE_ENV] });
