/**
 * POST /product/create — stores a new product.
 *   201 + product + Location (/product/find/{id}, under the stage/base path when there is one)
 *   415 not application/json in UTF-8, 400/413 bad input (see lib/validation.ts), 409 id exists (nothing overwritten),
 *   500/503 + requestId on server-side failure.
 * Lambda handler string: index.handler (bundle build/create-product/index.js).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { basePath, clientError, headerValues, httpHandler, json, serverError } from "./lib/http";
import { errorFields } from "./lib/log";
import { createDocumentClient, ProductRepository, statusForError, TABLE_ENV } from "./lib/products";
import { contentTypeError, parseCreateProduct } from "./lib/validation";

export interface Deps {
    client: DynamoDBDocumentClient;
    tableName: () => string | undefined;
}

export function makeHandler(deps: Deps) {
    return httpHandler("create-product", async (event, log, requestId) => {
        const unsupported = contentTypeError(headerValues(event, "Content-Type"));
        if (unsupported) return { ...clientError(unsupported.status, unsupported.message), logFields: { reason: unsupported.message } };
        const parsed = parseCreateProduct(event.body, event.isBase64Encoded);
        if (!parsed.ok) return { ...clientError(parsed.status, parsed.message), logFields: { reason: parsed.message } };
        const product = parsed.value;
        log.debug("create parsed", { id: product.id, bodyBytes: Buffer.byteLength(event.body ?? "") });

        const table = deps.tableName();
        if (!table) return { ...serverError(500, requestId), logFields: { reason: `${TABLE_ENV} is not set` } };

        try {
            const outcome = await new ProductRepository(deps.client, table).create(product);
            if (outcome === "exists") {
                return { ...clientError(409, `Product ${product.id} already exists`), logFields: { id: product.id } };
            }
        } catch (err) {
            return { ...serverError(statusForError(err), requestId), logFields: { id: product.id, ...errorFields(err) } };
        }
        const location = `${basePath(event)}/product/find/${encodeURIComponent(product.id)}`;
        return { ...json(201, product, { Location: location }), logFields: { id: product.id } };
    });
}

// Once per container: the client (and its connection pool) is reused across invocations.
const client = createDocumentClient();
export const handler = makeHandler({ client, tableName: () => process.env[TABLE_ENV] });
