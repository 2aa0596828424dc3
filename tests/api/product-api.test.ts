// The api stack (ProductApi), evaluated from index.ts with the shipped Pulumi.api.yaml under Pulumi's mocks,
// and checked against what `sls package` makes of serverless.yml: the two deployers must ship the same API.

import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { buildFunctions } from "../../scripts/build-functions";
import { FUNCTION_SETTINGS, PRODUCT_API_ROUTES, ProductApi, STAGE_THROTTLING } from "../../components/product-api";
import { allowedActions, expectLeastPrivilege } from "../helpers/iam";
import { MockCloud, policyDocument, RecordedResource, runStack, settle, TARGET_ACCOUNT, useMocks } from "../helpers/pulumi-mocks";
import { CfnResource, CfnTemplate, DEFAULT_PACKAGE_OPTIONS, packageService } from "../helpers/sls-package";
import { loadStackFile, ROOT } from "../helpers/stack-files";

const STAGE = "sandbox";

describe("api stack (index.ts, Pulumi.api.yaml)", () => {
    let cloud: MockCloud;
    let outputs: Record<string, any>;

    before(async () => {
        await buildFunctions({ quiet: true });
        ({ cloud, outputs } = await runStack({ stack: "api", accountId: TARGET_ACCOUNT, config: loadStackFile("Pulumi.api.yaml") }));
    });

    it("exports the URL and table name", () => {
        expect(outputs.url).to.equal(`https://product-api-stage-api-id.execute-api.us-east-1.amazonaws.com/${STAGE}`);
        expect(outputs.tableName).to.equal(`product-catalog-service-${STAGE}-products`);
    });

    it("keeps the table's data: on-demand, PITR, encrypted, deletion-protected, retained on destroy", () => {
        const table = cloud.one("aws:dynamodb/table:Table").inputs;
        expect(table).to.deep.include({
            billingMode: "PAY_PER_REQUEST",
            hashKey: "id",
            attributes: [{ name: "id", type: "S" }],
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true },
            deletionProtectionEnabled: true,
        });
    });

    it("gives the function role the boundary and only item reads/writes on its table", () => {
        const role = cloud.one("aws:iam/role:Role");
        const boundary = cloud.one("aws:iam/policy:Policy");
        expect(role.inputs.permissionsBoundary).to.equal(boundary.state.arn);
        expect(role.inputs.name).to.equal(`product-catalog-service-${STAGE}-lambda`);
        const doc = policyDocument(cloud.one("aws:iam/rolePolicy:RolePolicy").inputs.policy);
        expectLeastPrivilege(doc, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
        const table = doc.Statement.find((s: any) => s.Sid === "ProductsTable");
        expect(table.Resource).to.equal(cloud.one("aws:dynamodb/table:Table").state.arn);
        expect(allowedActions(doc).filter((a) => a.startsWith("dynamodb:"))).to.deep.equal(["dynamodb:PutItem", "dynamodb:GetItem"]);
    });

    it("runs each function from its bundle with a log group that has retention", async () => {
        for (const route of PRODUCT_API_ROUTES) {
            const fn = cloud.one("aws:lambda/function:Function", `-${route.functionKey}`).inputs;
            expect(fn.name).to.equal(`product-catalog-service-${STAGE}-${route.functionKey}`);
            expect(await fn.code.path).to.equal(path.join(ROOT, "build", `${route.bundle}.zip`));
            expect(fn.tracingConfig).to.deep.equal({ mode: "Active" });
            const logs = cloud.one("aws:cloudwatch/logGroup:LogGroup", `-${route.functionKey}-logs`).inputs;
            expect(logs).to.deep.equal({ name: `/aws/lambda/${fn.name}`, retentionInDays: 30 });
        }
    });

    it("lets only its own routes invoke each function", () => {
        for (const route of PRODUCT_API_ROUTES) {
            const permission = cloud.one("aws:lambda/permission:Permission", `-${route.functionKey}-invoke`).inputs;
            expect(permission.principal).to.equal("apigateway.amazonaws.com");
            expect(permission.sourceArn).to.match(
                new RegExp(`:product-api-rest-api-api-id/\\*/${route.method}/${route.path.replace(/[{}]/g, "\\$&")}$`),
            );
        }
    });

    it("throttles and traces the stage", () => {
        expect(cloud.one("aws:apigateway/stage:Stage").inputs).to.include({ stageName: STAGE, xrayTracingEnabled: true });
        const settings = cloud.one("aws:apigateway/methodSettings:MethodSettings").inputs;
        expect(settings.methodPath).to.equal("*/*");
        expect(settings.settings).to.deep.equal({
            throttlingRateLimit: STAGE_THROTTLING.rateLimit,
            throttlingBurstLimit: STAGE_THROTTLING.burstLimit,
        });
    });

    it("retains the table and the functions' log groups when the stack drops them (retainOnDelete), and nothing else", async () => {
        // Resource options never reach the mocks: a transformation on the component sees each child's options.
        // (Its own mock cloud, so the api stack's recorded resources stay as they are for the other tests.)
        await useMocks({ stack: "retention-probe", accountId: TARGET_ACCOUNT });
        const retained: string[] = [];
        const seen: string[] = [];
        new ProductApi(
            "retention-probe",
            {
                stage: STAGE,
                account: { partition: "aws", accountId: TARGET_ACCOUNT, region: "us-east-1" },
                permissionsBoundaryArn: "arn:aws:iam::222222222222:policy/boundary",
                logRetentionDays: 30,
                bundleDir: path.join(ROOT, "build"),
            },
            {
                transformations: [
                    (a: pulumi.ResourceTransformationArgs) => {
                        seen.push(a.name);
                        if (a.opts.retainOnDelete) retained.push(`${a.type} ${a.name}`);
                        return undefined;
                    },
                ],
            },
        );
        await settle();
        expect(seen.length, "the transformation saw the component's children").to.be.greaterThan(10);
        expect(retained.sort()).to.deep.equal(
            [
                "aws:dynamodb/table:Table retention-probe-table",
                ...PRODUCT_API_ROUTES.map((r) => `aws:cloudwatch/logGroup:LogGroup retention-probe-${r.functionKey}-logs`),
            ].sort(),
        );
    });

    it("as the pulumi deployer runs it: the target's boundary on the function role, and no boundary of its own", async () => {
        const boundaryArn = "arn:aws:iam::222222222222:policy/boundary-product-catalog-service-dev";
        const config = {
            ...loadStackFile("Pulumi.api.yaml"),
            "serverless-cross-account-cicd:stage": "dev",
            "serverless-cross-account-cicd:permissionsBoundaryArn": boundaryArn,
        };
        const { cloud: c } = await runStack({ stack: "dev", accountId: TARGET_ACCOUNT, config });
        expect(c.ofType("aws:iam/policy:Policy")).to.deep.equal([]);
        expect(c.one("aws:iam/role:Role").inputs.permissionsBoundary).to.equal(boundaryArn);
        expect(cloud.one("aws:iam/role:Role").inputs.permissionsBoundary).to.equal(cloud.one("aws:iam/policy:Policy").state.arn);
    });

    it("fails with what to do when the bundles are not built", async () => {
        const fs = await import("fs");
        const zip = path.join(ROOT, "build", "find-product.zip");
        const saved = fs.readFileSync(zip);
        fs.rmSync(zip);
        try {
            await runStack({ stack: "api", accountId: TARGET_ACCOUNT, config: loadStackFile("Pulumi.api.yaml") });
            expect.fail("expected the api stack to fail");
        } catch (e) {
            expect((e as Error).message).to.contain("find-product.zip): run `npm run build` before `pulumi up`");
        } finally {
            fs.writeFileSync(zip, saved);
        }
    });

    describe("parity with the Serverless service (sls package)", () => {
        let template: CfnTemplate;
        let resources: [string, CfnResource][];
        before(async function () {
            this.timeout(120_000);
            ({ template } = await packageService({ ...DEFAULT_PACKAGE_OPTIONS, stage: STAGE }));
            resources = Object.entries(template.Resources);
        });
        const cfnOfType = (type: string) => resources.filter(([, r]) => r.Type === type);

        /** "METHOD path" for every method of the packaged REST API, the path rebuilt from the resource tree. */
        function slsRoutes(): Record<string, string> {
            const pathOf = (ref: any): string => {
                if (ref["Fn::GetAtt"]) return ""; // the API's root resource
                const resource = template.Resources[ref.Ref];
                const parent = pathOf(resource.Properties!.ParentId);
                return parent ? `${parent}/${resource.Properties!.PathPart}` : resource.Properties!.PathPart;
            };
            const routes: Record<string, string> = {};
            for (const [, method] of cfnOfType("AWS::ApiGateway::Method")) {
                const p = method.Properties!;
                const functionLogicalId = p.Integration.Uri["Fn::Join"][1].find((x: any) => x["Fn::GetAtt"])["Fn::GetAtt"][0];
                routes[`${p.HttpMethod} ${pathOf(p.ResourceId)}`] = template.Resources[functionLogicalId].Properties!.FunctionName;
            }
            return routes;
        }

        function pulumiRoutes(): Record<string, string> {
            const byId = new Map<string, RecordedResource>(cloud.ofType("aws:apigateway/resource:Resource").map((r) => [r.id, r]));
            const pathOf = (id: string): string => {
                const r = byId.get(id);
                if (!r) return "";
                const parent = pathOf(r.inputs.parentId);
                return parent ? `${parent}/${r.inputs.pathPart}` : r.inputs.pathPart;
            };
            const functions = cloud.ofType("aws:lambda/function:Function");
            const routes: Record<string, string> = {};
            for (const integration of cloud.ofType("aws:apigateway/integration:Integration")) {
                const fn = functions.find((f) => f.state.invokeArn === integration.inputs.uri)!;
                expect(integration.inputs).to.include({ type: "AWS_PROXY", integrationHttpMethod: "POST" });
                routes[`${integration.inputs.httpMethod} ${pathOf(integration.inputs.resourceId)}`] = fn.inputs.name;
            }
            return routes;
        }

        it("serves the same routes and methods from the same functions: the route table's", () => {
            const expected = Object.fromEntries(
                PRODUCT_API_ROUTES.map((r) => [`${r.method} ${r.path}`, `product-catalog-service-${STAGE}-${r.functionKey}`]),
            );
            expect(expected).to.include({
                "POST product/create": `product-catalog-service-${STAGE}-createProduct`,
                "GET product/find/{id}": `product-catalog-service-${STAGE}-findProduct`,
            });
            expect(slsRoutes()).to.deep.equal(expected);
            expect(pulumiRoutes()).to.deep.equal(expected);
        });

        it("runs the same bundles with the same runtime, architecture, memory, timeout and variables", async () => {
            const sls = cfnOfType("AWS::Lambda::Function").map(([, r]) => r.Properties!);
            expect(sls).to.have.length(PRODUCT_API_ROUTES.length);
            for (const props of sls) {
                const fn = cloud.ofType("aws:lambda/function:Function").find((f) => f.inputs.name === props.FunctionName)!;
                expect(fn, props.FunctionName).to.exist;
                expect(path.basename(props.Code.S3Key)).to.equal(path.basename(await fn.inputs.code.path));
                expect(fn.inputs.handler).to.equal(props.Handler).and.equal(FUNCTION_SETTINGS.handler);
                expect(fn.inputs.runtime).to.equal(props.Runtime);
                expect(fn.inputs.architectures).to.deep.equal(props.Architectures);
                expect(fn.inputs.memorySize).to.equal(props.MemorySize);
                expect(fn.inputs.timeout).to.equal(props.Timeout);
                expect(fn.inputs.tracingConfig.mode).to.equal(props.TracingConfig.Mode);
                expect(Object.keys(fn.inputs.environment.variables)).to.deep.equal(Object.keys(props.Environment.Variables));
                expect(fn.inputs.environment.variables.PRODUCTS_TABLE_NAME).to.equal(props.Environment.Variables.PRODUCTS_TABLE_NAME);
            }
        });

        it("creates the same table", () => {
            const [[, table]] = cfnOfType("AWS::DynamoDB::Table");
            const p = table.Properties!;
            const t = cloud.one("aws:dynamodb/table:Table").inputs;
            expect(t.name).to.equal(p.TableName);
            expect(t.billingMode).to.equal(p.BillingMode);
            expect([{ AttributeName: t.hashKey, KeyType: "HASH" }]).to.deep.equal(p.KeySchema);
            expect(t.attributes.map((a: any) => ({ AttributeName: a.name, AttributeType: a.type }))).to.deep.equal(p.AttributeDefinitions);
            expect(t.pointInTimeRecovery.enabled).to.equal(p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled);
            expect(t.serverSideEncryption.enabled).to.equal(p.SSESpecification.SSEEnabled);
            expect(t.deletionProtectionEnabled).to.equal(p.DeletionProtectionEnabled);
            expect(table.DeletionPolicy).to.equal("Retain");
            expect(table.UpdateReplacePolicy).to.equal("Retain");
        });

        it("grants the functions the same IAM actions", () => {
            const [[, role]] = cfnOfType("AWS::IAM::Role");
            const slsActions = role
                .Properties!.Policies.flatMap((p: any) => p.PolicyDocument.Statement.flatMap((s: any) => s.Action))
                .sort();
            const pulumiActions = allowedActions(policyDocument(cloud.one("aws:iam/rolePolicy:RolePolicy").inputs.policy)).sort();
            expect(pulumiActions).to.deep.equal(slsActions);
            expect(role.Properties!.RoleName).to.equal(cloud.one("aws:iam/role:Role").inputs.name);
        });

        it("keeps logs as long and throttles the stage the same", () => {
            for (const [, group] of cfnOfType("AWS::Logs::LogGroup")) {
                const name = group.Properties!.LogGroupName;
                const ours = cloud.ofType("aws:cloudwatch/logGroup:LogGroup").find((g) => g.inputs.name === name)!;
                expect(ours, name).to.exist;
                expect(ours.inputs.retentionInDays).to.equal(group.Properties!.RetentionInDays);
                // both deployers keep a function's logs when the function goes away (Pulumi: retainOnDelete, tested above)
                expect([group.DeletionPolicy, group.UpdateReplacePolicy], name).to.deep.equal(["Retain", "Retain"]);
            }
            const [[, stage]] = cfnOfType("AWS::ApiGateway::Stage");
            const [setting] = stage.Properties!.MethodSettings;
            const ours = cloud.one("aws:apigateway/methodSettings:MethodSettings").inputs.settings;
            expect(ours.throttlingRateLimit).to.equal(setting.ThrottlingRateLimit);
            expect(ours.throttlingBurstLimit).to.equal(setting.ThrottlingBurstLimit);
            expect(stage.Properties!.TracingEnabled).to.equal(true);
        });
    });
});
