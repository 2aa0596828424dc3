/**
 * The product API's route table, declared once in ./routes.json and read by every part that needs it:
 *
 *   the handlers           TABLE_ENV (lib/products.ts): the variable holding the table's name
 *   the bundler            scripts/build-functions.ts: one bundle per route, functions/<bundle>.ts → build/<bundle>.zip
 *   ProductApi (Pulumi)    components/product-api.ts: functions, methods, paths, settings
 *   the local API          scripts/local-api.ts
 *   serverless.yml         through `${file(./scripts/ci-sls-functions.js):…}` (which reads the JSON) and
 *                          `${file(./functions/routes.json):functionSettings.…}`
 *
 * Adding a route: one entry in routes.json and its handler functions/<bundle>.ts (exporting `handler`).
 * JSON rather than TypeScript so that serverless.yml can read it; this module gives it its types and rejects a
 * table that breaks them, listing every problem at once. It imports nothing else, so a handler bundle stays small.
 * (Named route-table.ts, not routes.ts: Node resolves `./routes` to routes.json before any .ts file.)
 */
import table from "./routes.json";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A function of the API and the route that invokes it. */
export interface ApiRoute {
    /** Serverless function key; the function is named `<service>-<stage>-<functionKey>`. */
    readonly functionKey: string;
    /** Handler source `functions/<bundle>.ts`, built by `npm run build` to `build/<bundle>.zip`. */
    readonly bundle: string;
    readonly method: HttpMethod;
    /** Path below the stage, without a leading slash; `{name}` is a path parameter. */
    readonly path: string;
}

/** The same for every function (serverless.yml's provider block, ProductApi's functions). */
export interface FunctionSettings {
    /** `<file>.<export>` inside each bundle's zip. */
    readonly handler: string;
    readonly runtime: string;
    readonly architecture: "arm64" | "x86_64";
    readonly memorySize: number;
    readonly timeoutSeconds: number;
}

export interface RouteTable {
    /** Environment variable that hands every function the product table's name. */
    readonly tableNameVariable: string;
    readonly functionSettings: FunctionSettings;
    readonly routes: readonly ApiRoute[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInteger = (v: unknown, min: number, max: number) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/** Every reason `data` is not a route table (empty when it is one). */
export function routeTableProblems(data: unknown): string[] {
    if (!isRecord(data)) return ["the route table must be an object"];
    const problems: string[] = [];
    const env = data.tableNameVariable;
    if (typeof env !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env) || /^AWS_/i.test(env)) {
        problems.push(`tableNameVariable must be an environment variable name not reserved by Lambda (AWS_*), got ${JSON.stringify(env)}`);
    }
    const s = data.functionSettings;
    if (!isRecord(s)) problems.push("functionSettings must be an object");
    else {
        if (typeof s.handler !== "string" || !/^[A-Za-z0-9_-]+\.[A-Za-z_$][A-Za-z0-9_$]*$/.test(s.handler)) {
            problems.push(`functionSettings.handler must be <file>.<export>, got ${JSON.stringify(s.handler)}`);
        }
        if (typeof s.runtime !== "string" || !/^nodejs\d+\.x$/.test(s.runtime)) {
            problems.push(`functionSettings.runtime must be a Node.js runtime (nodejsNN.x), got ${JSON.stringify(s.runtime)}`);
        }
        if (s.architecture !== "arm64" && s.architecture !== "x86_64") {
            problems.push(`functionSettings.architecture must be arm64 or x86_64, got ${JSON.stringify(s.architecture)}`);
        }
        if (!isInteger(s.memorySize, 128, 10240)) problems.push("functionSettings.memorySize must be an integer of 128-10240 (MB)");
        // API Gateway (REST) gives up on an integration after 29 s: a longer function timeout would never be waited for.
        if (!isInteger(s.timeoutSeconds, 1, 29)) problems.push("functionSettings.timeoutSeconds must be an integer of 1-29");
    }
    if (!Array.isArray(data.routes) || data.routes.length === 0) {
        problems.push("routes must be a non-empty list");
        return problems;
    }
    const seen = { functionKey: new Set<string>(), bundle: new Set<string>(), route: new Set<string>() };
    data.routes.forEach((r: unknown, i) => {
        const at = `routes[${i}]`;
        if (!isRecord(r)) {
            problems.push(`${at} must be an object`);
            return;
        }
        const { functionKey, bundle, method, path } = r;
        if (typeof functionKey !== "string" || !/^[a-z][A-Za-z0-9]*$/.test(functionKey)) {
            problems.push(`${at}.functionKey must be camelCase letters and digits, got ${JSON.stringify(functionKey)}`);
        } else if (seen.functionKey.has(functionKey)) problems.push(`${at}.functionKey ${functionKey} is declared twice`);
        else seen.functionKey.add(functionKey);
        if (typeof bundle !== "string" || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(bundle)) {
            problems.push(`${at}.bundle must be kebab-case (functions/<bundle>.ts), got ${JSON.stringify(bundle)}`);
        } else if (seen.bundle.has(bundle)) problems.push(`${at}.bundle ${bundle} is declared twice`);
        else seen.bundle.add(bundle);
        if (!HTTP_METHODS.includes(method as HttpMethod)) {
            problems.push(`${at}.method must be one of ${HTTP_METHODS.join(", ")}, got ${JSON.stringify(method)}`);
        }
        const segment = /^([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\})$/;
        if (typeof path !== "string" || !path.split("/").every((part) => segment.test(part))) {
            problems.push(
                `${at}.path must be segments without leading or trailing "/", each literal or {param}, got ${JSON.stringify(path)}`,
            );
        } else {
            // API Gateway treats /a/{x} and /a/{y} as the same resource: compare with parameter names erased.
            const route = `${String(method)} ${path.replace(/\{[^}]+\}/g, "{}")}`;
            if (seen.route.has(route)) problems.push(`${at}: ${method} ${path} is declared twice`);
            seen.route.add(route);
        }
    });
    return problems;
}

/** `data` as a route table; throws listing every problem. */
export function parseRouteTable(data: unknown, source = "functions/routes.json"): RouteTable {
    const problems = routeTableProblems(data);
    if (problems.length > 0) throw new Error(`${source}:\n  - ${problems.join("\n  - ")}`);
    return data as RouteTable;
}

export const ROUTE_TABLE: RouteTable = parseRouteTable(table);
export const ROUTES: readonly ApiRoute[] = ROUTE_TABLE.routes;
export const TABLE_ENV: string = ROUTE_TABLE.tableNameVariable;
export const FUNCTION_SETTINGS: FunctionSettings = ROUTE_TABLE.functionSettings;
