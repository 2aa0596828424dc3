"use strict";

// Used by serverless.yml as `functions: ${file(./scripts/ci-sls-functions.js):functions}` and
// `environment: ${file(./scripts/ci-sls-functions.js):environment}`: the service's functions and their environment,
// rendered from the route table functions/routes.json (declared once; functions/route-table.ts types and checks it for
// the TypeScript side, tests/serverless checks the packaged template against it). YAML cannot loop over a list nor
// use a variable as a key, hence this small resolver. For each route:
//
//   <functionKey>:
//     handler: <functionSettings.handler>
//     package: { artifact: build/<bundle>.zip }          (scripts/build-functions.ts writes it)
//     events: [{ http: { path: <path>, method: <method, lower case> } }]
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const table = () => JSON.parse(readFileSync(join(__dirname, "..", "functions", "routes.json"), "utf8"));

module.exports = {
    functions: async () => {
        const { functionSettings, routes } = table();
        return Object.fromEntries(
            routes.map((route) => [
                route.functionKey,
                {
                    handler: functionSettings.handler,
                    package: { artifact: `build/${route.bundle}.zip` },
                    events: [{ http: { path: route.path, method: route.method.toLowerCase() } }],
                },
            ]),
        );
    },
    // The table's name under the variable the handlers read (functions/lib/products.ts TABLE_ENV).
    environment: async ({ resolveVariable }) => ({
        [table().tableNameVariable]: await resolveVariable("self:custom.productsTableName"),
    }),
};
