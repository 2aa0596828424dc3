/**
 * The route table (functions/routes.json, typed by functions/route-table.ts): the one declaration of the API's
 * routes, functions' settings and table variable that the handlers, the bundler, ProductApi, the local API and
 * serverless.yml (through scripts/ci-sls-functions.js) read. What each consumer makes of it is tested with the
 * consumer (tests/serverless, tests/api, tests/functions/build.test.ts, tests/local-api).
 */
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FUNCTION_SETTINGS, parseRouteTable, ROUTE_TABLE, ROUTES, routeTableProblems, TABLE_ENV } from "../../functions/route-table";
import * as products from "../../functions/lib/products";

const ROOT = join(__dirname, "..", "..");
const shipped = () => JSON.parse(readFileSync(join(ROOT, "functions", "routes.json"), "utf8"));

// eslint-disable-next-line @typescript-eslint/no-require-imports
const renderer = require(join(ROOT, "scripts", "ci-sls-functions.js")) as {
    functions: () => Promise<Record<string, any>>;
    environment: (o: { resolveVariable: (v: string) => Promise<unknown> }) => Promise<Record<string, unknown>>;
};

describe("route table (functions/routes.json)", () => {
    it("declares the product API: POST product/create and GET product/find/{id}, each with its own bundle", () => {
        expect(routeTableProblems(shipped())).to.deep.equal([]);
        expect(ROUTES).to.deep.include({ functionKey: "createProduct", bundle: "create-product", method: "POST", path: "product/create" });
        expect(ROUTES).to.deep.include({ functionKey: "findProduct", bundle: "find-product", method: "GET", path: "product/find/{id}" });
        expect(TABLE_ENV).to.equal("PRODUCTS_TABLE_NAME");
        expect(FUNCTION_SETTINGS).to.deep.equal({
            handler: "index.handler",
            runtime: "nodejs22.x",
            architecture: "arm64",
            memorySize: 256,
            timeoutSeconds: 10,
        });
    });

    it("has a handler source for every route, exporting the handler the settings name", () => {
        const exportName = FUNCTION_SETTINGS.handler.split(".")[1];
        for (const route of ROUTES) {
            const source = join(ROOT, "functions", `${route.bundle}.ts`);
            expect(existsSync(source), source).to.equal(true);
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            expect(typeof require(source)[exportName], `${route.bundle}.${exportName}`).to.equal("function");
        }
    });

    it("is the variable the handlers read the table's name from", () => {
        expect(products.TABLE_ENV).to.equal(ROUTE_TABLE.tableNameVariable);
    });

    it("refuses a broken table, naming every problem at once", () => {
        const table = shipped();
        table.tableNameVariable = "AWS_TABLE";
        table.functionSettings.timeoutSeconds = 30;
        table.functionSettings.architecture = "sparc";
        table.routes.push(
            { functionKey: "createProduct", bundle: "Create_Product", method: "GET", path: "/product/x" },
            { functionKey: "findAgain", bundle: "find-product", method: "GET", path: "product/find/{sku}" },
            { functionKey: "deleteProduct", bundle: "delete-product", method: "TRACE", path: "product/{id}" },
        );
        const n = shipped().routes.length; // the added routes' indices
        const problems = routeTableProblems(table);
        expect(problems).to.deep.equal([
            'tableNameVariable must be an environment variable name not reserved by Lambda (AWS_*), got "AWS_TABLE"',
            'functionSettings.architecture must be arm64 or x86_64, got "sparc"',
            "functionSettings.timeoutSeconds must be an integer of 1-29",
            `routes[${n}].functionKey createProduct is declared twice`,
            `routes[${n}].bundle must be kebab-case (functions/<bundle>.ts), got "Create_Product"`,
            `routes[${n}].path must be segments without leading or trailing "/", each literal or {param}, got "/product/x"`,
            `routes[${n + 1}].bundle find-product is declared twice`,
            `routes[${n + 1}]: GET product/find/{sku} is declared twice`,
            `routes[${n + 2}].method must be one of GET, POST, PUT, PATCH, DELETE, got "TRACE"`,
        ]);
        expect(() => parseRouteTable(table, "x.json")).to.throw(`x.json:\n  - ${problems[0]}`);
        expect(routeTableProblems({ ...shipped(), routes: [] })).to.deep.equal(["routes must be a non-empty list"]);
        expect(routeTableProblems([])).to.deep.equal(["the route table must be an object"]);
    });

    describe("as serverless.yml reads it (scripts/ci-sls-functions.js)", () => {
        it("renders one function per route: its bundle's zip, the settings' handler, one http event", async () => {
            const functions = await renderer.functions();
            expect(Object.keys(functions)).to.deep.equal(ROUTES.map((r) => r.functionKey));
            for (const r of ROUTES) {
                expect(functions[r.functionKey], r.functionKey).to.deep.equal({
                    handler: FUNCTION_SETTINGS.handler,
                    package: { artifact: `build/${r.bundle}.zip` },
                    events: [{ http: { path: r.path, method: r.method.toLowerCase() } }],
                });
            }
        });

        it("hands every function the table's name under the table variable", async () => {
            const asked: string[] = [];
            const environment = await renderer.environment({
                resolveVariable: async (v) => (asked.push(v), "product-catalog-service-dev-products"),
            });
            expect(asked).to.deep.equal(["self:custom.productsTableName"]);
            expect(environment).to.deep.equal({ [TABLE_ENV]: "product-catalog-service-dev-products" });
        });
    });
});
