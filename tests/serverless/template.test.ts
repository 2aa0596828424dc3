/**
 * serverless.yml → packaged CloudFormation template (osls `sls package`, offline, fake credentials).
 * The target account's CloudFormation execution role is written against the naming contract checked here:
 * everything is <service>-<stage>-* (REST API: <service>-<stage>).
 */
import { expect } from "chai";
import { ROUTES } from "../../functions/route-table";
import { CfnResource, CfnTemplate, EXAMPLE_PARAMS, PackagedService, SERVICE, packageService, runSlsPackage } from "../helpers/sls-package";

const entries = (t: CfnTemplate, type: string): [string, CfnResource][] => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

const single = (t: CfnTemplate, type: string): [string, CfnResource] => {
    const found = entries(t, type);
    expect(found, `exactly one ${type}`).to.have.length(1);
    return found[0];
};

/** Resolves the literal parts of a name: a string, or Fn::Join whose parts are all strings. */
function literal(value: unknown): string | undefined {
    if (typeof value === "string") return value;
    const join = (value as any)?.["Fn::Join"];
    if (Array.isArray(join) && join[1].every((p: unknown) => typeof p === "string")) return join[1].join(join[0]);
    return undefined;
}

// The functions and routes come from the route table (functions/routes.json, through scripts/ci-sls-functions.js):
// one function, log group, method and invoke permission per route; one API Gateway resource per path prefix.
/** osls' logical ID of a function: the key with its first letter upper-cased, + "LambdaFunction". */
const functionLogicalId = (key: string) => `${key.charAt(0).toUpperCase()}${key.slice(1)}LambdaFunction`;
const pathPrefixes = new Set(ROUTES.flatMap((r) => r.path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"))));

const EXPECTED_TYPES: Record<string, number> = {
    "AWS::ApiGateway::Deployment": 1,
    "AWS::ApiGateway::Method": ROUTES.length,
    "AWS::ApiGateway::Resource": pathPrefixes.size,
    "AWS::ApiGateway::RestApi": 1,
    "AWS::ApiGateway::Stage": 1,
    "AWS::DynamoDB::Table": 1,
    "AWS::IAM::Role": 1,
    "AWS::Lambda::Function": ROUTES.length,
    "AWS::Lambda::Permission": ROUTES.length,
    "AWS::Logs::LogGroup": ROUTES.length,
};

function describeTemplate(label: string, stage: string, region: string) {
    describe(`serverless.yml packaged for ${label}`, function () {
        this.timeout(120_000);
        const prefix = `${SERVICE}-${stage}`;
        const tableName = `${prefix}-products`;
        let pkg: PackagedService;
        let t: CfnTemplate;

        before(async () => {
            pkg = await packageService({ stage, region, params: { ...EXAMPLE_PARAMS } });
            t = pkg.template;
        });

        it("packages without deprecation or configuration warnings", () => {
            const out = `${pkg.stdout}\n${pkg.stderr}`;
            expect(out).to.not.match(/deprecat|warning|unrecognized/i);
        });

        it("contains exactly the reviewed resource types and counts (no custom resources, no extra Lambdas or roles)", () => {
            const counts: Record<string, number> = {};
            for (const r of Object.values(t.Resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
            expect(counts).to.deep.equal(EXPECTED_TYPES);
            for (const [id, r] of Object.entries(t.Resources)) {
                expect(r.Type, id).to.not.match(/^Custom::|^AWS::CloudFormation::CustomResource$/);
                expect(r.Type, id).to.not.equal("AWS::ApiGateway::Account"); // account-level CloudWatch role setting
            }
        });

        describe("DynamoDB table", () => {
            let table: CfnResource;
            before(() => {
                table = single(t, "AWS::DynamoDB::Table")[1];
            });
            it(`is named ${tableName}, on-demand, keyed by id (S)`, () => {
                const p = table.Properties!;
                expect(p.TableName).to.equal(tableName);
                expect(p.BillingMode).to.equal("PAY_PER_REQUEST");
                expect(p.ProvisionedThroughput).to.equal(undefined);
                expect(p.KeySchema).to.deep.equal([{ AttributeName: "id", KeyType: "HASH" }]);
                expect(p.AttributeDefinitions).to.deep.equal([{ AttributeName: "id", AttributeType: "S" }]);
            });
            it("has PITR, SSE and deletion protection on, and is retained on delete/replace", () => {
                const p = table.Properties!;
                expect(p.PointInTimeRecoverySpecification).to.deep.include({ PointInTimeRecoveryEnabled: true });
                expect(p.SSESpecification).to.deep.include({ SSEEnabled: true });
                expect(p.DeletionProtectionEnabled).to.equal(true);
                expect(table.DeletionPolicy).to.equal("Retain");
                expect(table.UpdateReplacePolicy).to.equal("Retain");
            });
        });

        describe("functions", () => {
            it("one per route of the route table, createProduct and findProduct among them", () => {
                const ids = entries(t, "AWS::Lambda::Function").map(([id]) => id);
                expect(ids.sort()).to.deep.equal(ROUTES.map((r) => functionLogicalId(r.functionKey)).sort());
                expect(ids).to.include.members(["CreateProductLambdaFunction", "FindProductLambdaFunction"]);
            });
            for (const { functionKey: key, bundle } of ROUTES) {
                it(`${key}: name, runtime, arch, memory, timeout, env, tracing, role, code location`, () => {
                    const fn = t.Resources[functionLogicalId(key)];
                    expect(fn?.Type).to.equal("AWS::Lambda::Function");
                    const p = fn.Properties!;
                    expect(p.FunctionName).to.equal(`${prefix}-${key}`);
                    expect(p.Handler).to.equal("index.handler");
                    expect(p.Runtime).to.equal("nodejs22.x");
                    expect(p.Architectures).to.deep.equal(["arm64"]);
                    expect(p.MemorySize).to.equal(256);
                    expect(p.Timeout).to.equal(10);
                    expect(p.Environment).to.deep.equal({ Variables: { PRODUCTS_TABLE_NAME: tableName } });
                    expect(p.TracingConfig).to.deep.equal({ Mode: "Active" });
                    expect(p.Role).to.deep.equal({ "Fn::GetAtt": ["IamRoleLambdaExecution", "Arn"] });
                    expect(p.Code.S3Bucket).to.equal(EXAMPLE_PARAMS.deploymentBucket);
                    expect(p.Code.S3Key).to.match(new RegExp(`^serverless/${SERVICE}/${stage}/[^/]+/${bundle}\\.zip$`));
                });
            }
            it("no function versions are published (versionFunctions: false)", () => {
                expect(entries(t, "AWS::Lambda::Version")).to.have.length(0);
            });
        });

        describe("function IAM role", () => {
            let role: CfnResource;
            let statements: { Effect: string; Action: string[]; Resource: unknown[] }[];
            before(() => {
                role = single(t, "AWS::IAM::Role")[1];
                expect(role.Properties!.Policies).to.have.length(1);
                statements = role.Properties!.Policies[0].PolicyDocument.Statement;
            });
            it(`is named ${prefix}-lambda (≤ 64 chars), assumable only by Lambda, with the boundary parameter`, () => {
                const p = role.Properties!;
                expect(p.RoleName).to.equal(`${prefix}-lambda`);
                expect(p.RoleName.length).to.be.at.most(64);
                expect(p.PermissionsBoundary).to.equal(EXAMPLE_PARAMS.permissionsBoundaryArn);
                expect(p.ManagedPolicyArns ?? []).to.deep.equal([]);
                expect(p.AssumeRolePolicyDocument.Statement).to.deep.equal([
                    { Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com"] }, Action: ["sts:AssumeRole"] },
                ]);
            });
            it("grants DynamoDB exactly PutItem and GetItem, only on this stage's table", () => {
                const dynamo = statements.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
                expect(dynamo).to.have.length(1);
                expect(dynamo[0].Effect).to.equal("Allow");
                expect([...dynamo[0].Action].sort()).to.deep.equal(["dynamodb:GetItem", "dynamodb:PutItem"]);
                expect(dynamo[0].Resource).to.deep.equal([{ "Fn::GetAtt": ["ProductsTable", "Arn"] }]);
                expect(t.Resources.ProductsTable?.Type).to.equal("AWS::DynamoDB::Table");
            });
            it("otherwise only writes its own logs and X-Ray segments", () => {
                const allowed = new Set([
                    "dynamodb:PutItem",
                    "dynamodb:GetItem",
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:TagResource",
                    "logs:PutLogEvents",
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                ]);
                for (const s of statements) {
                    expect(s.Effect).to.equal("Allow");
                    for (const a of s.Action) expect(allowed.has(a), `unexpected action ${a}`).to.equal(true);
                    if (s.Action.some((a) => a.startsWith("logs:"))) {
                        for (const r of s.Resource) {
                            expect((r as any)["Fn::Sub"]).to.match(new RegExp(`:log-group:/aws/lambda/${prefix}\\*:`));
                        }
                    }
                    if (s.Resource.includes("*")) expect(s.Action.every((a) => a.startsWith("xray:"))).to.equal(true);
                }
                expect(statements.flatMap((s) => s.Action).filter((a) => a.startsWith("logs:PutLogEvents"))).to.have.length(1);
            });
        });

        it("creates a log group per function with 30-day retention, retained on delete/replace", () => {
            const found = entries(t, "AWS::Logs::LogGroup");
            const groups = found.map(([, r]) => r.Properties!);
            expect(groups.map((g) => g.LogGroupName).sort()).to.deep.equal(
                ROUTES.map((r) => `/aws/lambda/${prefix}-${r.functionKey}`).sort(),
            );
            expect(groups.map((g) => g.LogGroupName)).to.include.members([
                `/aws/lambda/${prefix}-createProduct`,
                `/aws/lambda/${prefix}-findProduct`,
            ]);
            for (const g of groups) expect(g.RetentionInDays).to.equal(30);
            // scripts/ci-sls-api-stage-extension.js: the execution role may not delete log groups, so CloudFormation must not try
            for (const [id, r] of found) expect([r.DeletionPolicy, r.UpdateReplacePolicy], id).to.deep.equal(["Retain", "Retain"]);
            for (const id of ROUTES.map((r) => functionLogicalId(r.functionKey))) {
                expect([t.Resources[id].DependsOn].flat()).to.include(id.replace("LambdaFunction", "LogGroup"));
            }
        });

        describe("REST API", () => {
            it(`is named ${prefix} (not Serverless' default <stage>-<service>) and regional`, () => {
                const api = single(t, "AWS::ApiGateway::RestApi")[1].Properties!;
                expect(api.Name).to.equal(prefix);
                expect(api.EndpointConfiguration).to.deep.equal({ Types: ["REGIONAL"] });
            });

            it("routes each route of the route table, POST /product/create and GET /product/find/{id} among them, to its function (AWS_PROXY)", () => {
                const resourcePath = (ref: any): string => {
                    if (ref?.["Fn::GetAtt"]?.[0] === "ApiGatewayRestApi" && ref["Fn::GetAtt"][1] === "RootResourceId") return "";
                    const r = t.Resources[ref.Ref];
                    expect(r?.Type).to.equal("AWS::ApiGateway::Resource");
                    return `${resourcePath(r.Properties!.ParentId)}/${r.Properties!.PathPart}`;
                };
                const routes = entries(t, "AWS::ApiGateway::Method").map(([, m]) => {
                    const p = m.Properties!;
                    const uri = p.Integration.Uri["Fn::Join"][1];
                    const fn = uri.find((part: any) => part?.["Fn::GetAtt"])["Fn::GetAtt"][0];
                    expect(p.Integration.Type).to.equal("AWS_PROXY");
                    expect(p.AuthorizationType).to.equal("NONE");
                    return `${p.HttpMethod} ${resourcePath(p.ResourceId)} -> ${fn}`;
                });
                expect(routes.sort()).to.deep.equal(
                    ROUTES.map((r) => `${r.method} /${r.path} -> ${functionLogicalId(r.functionKey)}`).sort(),
                );
                expect(routes).to.include.members([
                    "GET /product/find/{id} -> FindProductLambdaFunction",
                    "POST /product/create -> CreateProductLambdaFunction",
                ]);
            });

            it(`has one stage "${stage}" with stage-wide throttling and X-Ray, owned by the Stage resource`, () => {
                const [stageId, stageRes] = single(t, "AWS::ApiGateway::Stage");
                const [deploymentId, deployment] = single(t, "AWS::ApiGateway::Deployment");
                const p = stageRes.Properties!;
                expect(p.StageName).to.equal(stage);
                expect(p.RestApiId).to.deep.equal({ Ref: "ApiGatewayRestApi" });
                expect(p.DeploymentId, `${stageId} must point at this run's deployment`).to.deep.equal({ Ref: deploymentId });
                // the deployment must not create the stage implicitly as well (that would collide with the Stage resource)
                expect(deployment.Properties!.StageName).to.deep.equal({ Ref: "AWS::NoValue" });
                expect(deployment.Properties!.StageDescription).to.equal(undefined);
                expect(p.TracingEnabled).to.equal(true);
                expect(p.MethodSettings).to.have.length(1);
                const m = p.MethodSettings[0];
                expect(m).to.include({ HttpMethod: "*", ResourcePath: "/*" });
                expect(m.ThrottlingRateLimit).to.be.a("number").and.to.be.greaterThan(0);
                expect(m.ThrottlingBurstLimit).to.be.a("number").and.to.be.at.least(m.ThrottlingRateLimit);
                // nothing that needs the account-level API Gateway CloudWatch role
                expect(m.LoggingLevel).to.equal(undefined);
                expect(m.DataTraceEnabled).to.equal(undefined);
                expect(p.AccessLogSetting).to.equal(undefined);
            });

            it("lets API Gateway invoke each function only from this REST API", () => {
                const perms = entries(t, "AWS::Lambda::Permission").map(([, r]) => r.Properties!);
                expect(perms.map((p) => p.FunctionName["Fn::GetAtt"][0]).sort()).to.deep.equal(
                    ROUTES.map((r) => functionLogicalId(r.functionKey)).sort(),
                );
                for (const p of perms) {
                    expect(p.Principal).to.equal("apigateway.amazonaws.com");
                    expect(p.Action).to.equal("lambda:InvokeFunction");
                    expect(JSON.stringify(p.SourceArn)).to.include('{"Ref":"ApiGatewayRestApi"}');
                }
            });
        });

        it("every resource and export name follows <service>-<stage>[-*] (explicit names, nothing CloudFormation-generated)", () => {
            const matches = (n: string) => n === prefix || n.startsWith(`${prefix}-`);
            const mustBeNamed: Record<string, string> = {
                "AWS::DynamoDB::Table": "TableName",
                "AWS::Lambda::Function": "FunctionName",
                "AWS::IAM::Role": "RoleName",
                "AWS::Logs::LogGroup": "LogGroupName",
                "AWS::ApiGateway::RestApi": "Name",
            };
            const names: string[] = [];
            for (const [id, r] of Object.entries(t.Resources)) {
                const prop = mustBeNamed[r.Type];
                if (!prop) continue;
                const name = literal(r.Properties?.[prop]);
                expect(name, `${id}.${prop} must be a literal name`).to.be.a("string");
                names.push(r.Type === "AWS::Logs::LogGroup" ? name!.replace(/^\/aws\/lambda\//, "") : name!);
                for (const policy of r.Properties?.Policies ?? []) names.push(literal(policy.PolicyName)!);
            }
            for (const o of Object.values(t.Outputs ?? {})) if (o.Export) names.push(literal(o.Export.Name)!);
            expect(names.length).to.equal(2 * ROUTES.length + 1 + 1 + 1 + 1 + 2); // functions, log groups, role, policy, table, API, exports
            for (const n of names) expect(matches(n), n).to.equal(true);
            for (const fn of entries(t, "AWS::Lambda::Function")) expect(fn[1].Properties!.FunctionName.length).to.be.at.most(64);
            expect(pkg.state.service.provider.stackName).to.equal(prefix);
        });

        it("keeps the ServiceEndpoint output (https://<api>.execute-api.<region>.<suffix>/<stage>)", () => {
            const out = t.Outputs?.ServiceEndpoint;
            expect(out, "ServiceEndpoint output").to.not.equal(undefined);
            const parts: unknown[] = out!.Value["Fn::Join"][1];
            expect(parts[0]).to.equal("https://");
            expect(parts).to.deep.include({ Ref: "ApiGatewayRestApi" });
            expect(parts[parts.length - 1]).to.equal(`/${stage}`);
            expect(out!.Export!.Name).to.equal(`${prefix}-ServiceEndpoint`);
        });

        it("deploys through the CloudFormation execution role and the given bucket (resolved config)", () => {
            const provider = pkg.state.service.provider;
            expect(provider.iam.deploymentRole).to.equal(EXAMPLE_PARAMS.cfnRoleArn);
            expect(provider.cfnRole).to.equal(undefined);
            expect(provider.deploymentBucket).to.equal(EXAMPLE_PARAMS.deploymentBucket);
            expect(provider.stage).to.equal(stage);
            expect(provider.region).to.equal(region);
            // the framework's post-deploy "update-stage hack" (raw API Gateway calls from the deploy role) stays off
            expect(provider.tags ?? provider.stackTags ?? provider.logs?.restApi ?? provider.tracing?.apiGateway).to.equal(undefined);
            // no framework-managed bucket in the stack
            expect(entries(t, "AWS::S3::Bucket")).to.have.length(0);
        });
    });
}

// All three `sls package` runs start at once (each ~2-4 s); the describe blocks await the cached results.
const missingParamsRun = runSlsPackage({ stage: "dev", region: "us-east-1", params: {} });
missingParamsRun.catch(() => undefined); // reported by the test that awaits it
for (const [stage, region] of [
    ["dev", "us-east-1"],
    ["perf-test-012345", "eu-west-1"],
]) {
    packageService({ stage, region, params: { ...EXAMPLE_PARAMS } }).catch(() => undefined); // reported by `before`
}

describeTemplate("stage dev in us-east-1", "dev", "us-east-1");
// The longest stage components/identifiers.ts accepts (16 chars) and another region: nothing is hard-coded to dev /
// us-east-1 and every name still fits its limit.
describeTemplate("a 16-character stage in eu-west-1", "perf-test-012345", "eu-west-1");

describe("serverless.yml without its parameters", function () {
    this.timeout(120_000);
    it("fails to package, naming each missing parameter's setting", async () => {
        const run = await missingParamsRun;
        const out = `${run.stdout}\n${run.stderr}`;
        expect(run.code).to.not.equal(0);
        for (const path of ["provider.iam.deploymentRole", "provider.deploymentBucket.name", "provider.iam.role.permissionsBoundary"]) {
            expect(out).to.include(`Cannot resolve variable at "${path}": Value not found at "param" source`);
        }
    });
});
