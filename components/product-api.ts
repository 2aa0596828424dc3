import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ApiRoute, FUNCTION_SETTINGS as ROUTE_FUNCTION_SETTINGS, ROUTES, TABLE_ENV } from "../functions/route-table";
import { SERVICE_NAME } from "./domain";
import { serviceNames } from "./naming";
import { AccountContext, functionRolePolicy, lambdaTrustPolicy } from "./policies";

/** A function of the API and the route that invokes it: an entry of the route table (functions/routes.json). */
export type ProductApiRoute = ApiRoute;

/** The route table's routes; serverless.yml renders its functions from the same table. */
export const PRODUCT_API_ROUTES: readonly ProductApiRoute[] = ROUTES;

/** Function settings (the route table's, which serverless.yml's provider block reads) and the table's variable. */
export const FUNCTION_SETTINGS = { ...ROUTE_FUNCTION_SETTINGS, tableNameVariable: TABLE_ENV } as const;
export const STAGE_THROTTLING = { rateLimit: 50, burstLimit: 100 } as const;

export interface ProductApiArgs {
    readonly stage: string;
    readonly account: pulumi.Input<AccountContext>;
    /** Boundary every function role must carry. */
    readonly permissionsBoundaryArn: pulumi.Input<string>;
    readonly logRetentionDays: pulumi.Input<number>;
    /** Folder with the zips `npm run build` writes. */
    readonly bundleDir?: string;
    readonly serviceName?: string;
    readonly routes?: readonly ProductApiRoute[];
}

/**
 * The product API deployed by Pulumi directly: the same table, functions, role and REST API as the
 * Serverless service the pipeline deploys, from the same bundles.
 */
export class ProductApi extends pulumi.ComponentResource {
    public readonly table: aws.dynamodb.Table;
    public readonly role: aws.iam.Role;
    public readonly functions: Record<string, aws.lambda.Function> = {};
    public readonly restApi: aws.apigateway.RestApi;
    public readonly stage: aws.apigateway.Stage;

    public readonly url: pulumi.Output<string>;
    public readonly tableName: pulumi.Output<string>;

    constructor(name: string, args: ProductApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:api:ProductApi", name, {}, opts);

        const service = args.serviceName ?? SERVICE_NAME;
        const names = serviceNames(args.stage, service);
        const routes = args.routes ?? PRODUCT_API_ROUTES;
        const bundleDir = args.bundleDir ?? path.join(__dirname, "..", "build");
        const account = pulumi.output(args.account);

        this.table = new aws.dynamodb.Table(
            `${name}-table`,
            {
                name: names.table,
                billingMode: "PAY_PER_REQUEST",
                hashKey: "id",
                attributes: [{ name: "id", type: "S" }],
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
                deletionProtectionEnabled: true,
            },
            // Like DeletionPolicy/UpdateReplacePolicy: Retain in serverless.yml: `pulumi destroy` leaves the data.
            { parent: this, retainOnDelete: true },
        );

        this.role = new aws.iam.Role(
            `${name}-function-role`,
            {
                name: names.functionRole,
                assumeRolePolicy: lambdaTrustPolicy(),
                permissionsBoundary: args.permissionsBoundaryArn,
            },
            { parent: this },
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-function-policy`,
            {
                role: this.role.id,
                policy: pulumi
                    .all([account, this.table.arn])
                    .apply(([ctx, tableArn]) => functionRolePolicy({ ctx, service, stage: args.stage, tableArn })),
            },
            { parent: this },
        );

        this.restApi = new aws.apigateway.RestApi(
            `${name}-rest-api`,
            { name: names.restApi, endpointConfiguration: { types: "REGIONAL" } },
            { parent: this },
        );

        const resources = this.pathResources(name, routes);
        const integrations: aws.apigateway.Integration[] = [];
        for (const route of routes) {
            const functionName = names.function(route.functionKey);
            const logGroup = new aws.cloudwatch.LogGroup(
                `${name}-${route.functionKey}-logs`,
                { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays },
                // Kept when a function goes away: the deploy role may not delete log groups (a release must not erase logs).
                { parent: this, retainOnDelete: true },
            );
            const fn = new aws.lambda.Function(
                `${name}-${route.functionKey}`,
                {
                    name: functionName,
                    role: this.role.arn,
                    runtime: FUNCTION_SETTINGS.runtime,
                    architectures: [FUNCTION_SETTINGS.architecture],
                    handler: FUNCTION_SETTINGS.handler,
                    code: new pulumi.asset.FileArchive(path.join(bundleDir, `${route.bundle}.zip`)),
                    memorySize: FUNCTION_SETTINGS.memorySize,
                    timeout: FUNCTION_SETTINGS.timeoutSeconds,
                    environment: { variables: { [FUNCTION_SETTINGS.tableNameVariable]: this.table.name } },
                    tracingConfig: { mode: "Active" },
                },
                // The log group first, so Lambda does not create one without retention.
                { parent: this, dependsOn: [logGroup, rolePolicy] },
            );
            this.functions[route.functionKey] = fn;

            const method = new aws.apigateway.Method(
                `${name}-${route.functionKey}-method`,
                { restApi: this.restApi.id, resourceId: resources[route.path].id, httpMethod: route.method, authorization: "NONE" },
                { parent: this },
            );
            integrations.push(
                new aws.apigateway.Integration(
                    `${name}-${route.functionKey}-integration`,
                    {
                        restApi: this.restApi.id,
                        resourceId: method.resourceId,
                        httpMethod: method.httpMethod,
                        type: "AWS_PROXY",
                        integrationHttpMethod: "POST",
                        uri: fn.invokeArn,
                    },
                    { parent: this },
                ),
            );
            new aws.lambda.Permission(
                `${name}-${route.functionKey}-invoke`,
                {
                    action: "lambda:InvokeFunction",
                    function: fn.name,
                    principal: "apigateway.amazonaws.com",
                    // Only this API, this method and path may invoke the function.
                    sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/${route.method}/${route.path}`,
                },
                { parent: this },
            );
        }

        const deployment = new aws.apigateway.Deployment(
            `${name}-deployment`,
            {
                restApi: this.restApi.id,
                // A new deployment whenever the routes change; API Gateway serves a stage from a snapshot.
                triggers: { routes: JSON.stringify(routes.map((r) => `${r.method} ${r.path} ${r.functionKey}`)) },
            },
            { parent: this, dependsOn: integrations },
        );
        this.stage = new aws.apigateway.Stage(
            `${name}-stage`,
            { restApi: this.restApi.id, deployment: deployment.id, stageName: args.stage, xrayTracingEnabled: true },
            { parent: this },
        );
        new aws.apigateway.MethodSettings(
            `${name}-throttling`,
            {
                restApi: this.restApi.id,
                stageName: this.stage.stageName,
                methodPath: "*/*",
                settings: { throttlingRateLimit: STAGE_THROTTLING.rateLimit, throttlingBurstLimit: STAGE_THROTTLING.burstLimit },
            },
            { parent: this },
        );

        this.url = this.stage.invokeUrl;
        this.tableName = this.table.name;
        this.registerOutputs({ url: this.url, tableName: this.tableName });
    }

    /** One API Gateway resource per path prefix of the routes, keyed by path. */
    private pathResources(name: string, routes: readonly ProductApiRoute[]): Record<string, aws.apigateway.Resource> {
        const resources: Record<string, aws.apigateway.Resource> = {};
        for (const route of routes) {
            const parts = route.path.split("/");
            parts.forEach((part, i) => {
                const subPath = parts.slice(0, i + 1).join("/");
                if (resources[subPath]) return;
                const parentId = i === 0 ? this.restApi.rootResourceId : resources[parts.slice(0, i).join("/")].id;
                const logicalName = subPath.replace(/[{}]/g, "").replace(/\//g, "-");
                resources[subPath] = new aws.apigateway.Resource(
                    `${name}-path-${logicalName}`,
                    { restApi: this.restApi.id, parentId, pathPart: part },
                    { parent: this },
                );
            });
        }
        return resources;
    }
}
