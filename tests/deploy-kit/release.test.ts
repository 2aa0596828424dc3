// deploy-kit/release.ts bindRelease on the real package: the Test stage's `sls package` of serverless.yml for dev
// (scripts/package-stages.ts with the placeholder parameters, the pinned osls, run once: ~1-2 s), bound to a target.
// Each refusal edits one thing of that package, the way a commit could change serverless.yml or the package.
import { expect } from "chai";
import { BoundRelease, bindRelease, PACKAGE_PARAMETERS, ReleasePackage } from "../../deploy-kit/release";
import { RULE } from "../../policy/rules";
import { stagePackage } from "../deploy/release";
import { DEV, PROD } from "./fixtures";
import { ROUTES } from "../../functions/route-table";

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("deploy kit: bindRelease (a stage's package bound to its target)", function () {
    this.timeout(60_000);
    let pkg: ReleasePackage;
    let bound: BoundRelease;
    let directory: string;

    before(async () => {
        pkg = await stagePackage("dev");
        directory = pkg.state.package!.artifactDirectoryName!;
        bound = bindRelease(clone(pkg), DEV);
    });

    /** The problems bindRelease lists for the package after `edit` (it throws one message listing all). */
    function refusal(edit: (p: { template: any; state: any }) => void, target = DEV): string[] {
        const edited = clone(pkg) as { template: any; state: any };
        edit(edited);
        try {
            bindRelease(edited, target);
        } catch (e) {
            const [head, ...problems] = (e as Error).message.split("\n");
            expect(head).to.equal(`release refused for ${target.stage} (${target.accountId}):`);
            return problems.map((p) => p.replace(/^ {2}- /, ""));
        }
        return expect.fail("expected the release to be refused");
    }

    describe("binds the placeholders the Test stage packaged with", () => {
        it("the package carries the placeholders, and no target value", () => {
            const text = JSON.stringify(pkg.template);
            expect(text).to.include(PACKAGE_PARAMETERS.deploymentBucket);
            expect(text).to.include(PACKAGE_PARAMETERS.permissionsBoundaryArn);
            expect(text).to.not.include(DEV.deploymentBucketName);
            // the execution role is handed to CloudFormation by the kit, never written into the template
            expect(text).to.not.include(PACKAGE_PARAMETERS.cfnRoleArn);
        });

        it("replaces every placeholder with the target's bucket and boundary", () => {
            const text = JSON.stringify(bound.template);
            expect(text).to.not.include("bound-at-deploy");
            expect(text).to.not.include(":000000000000:");
            const resources = Object.values(bound.template.Resources);
            const functions = resources.filter((r) => r.Type === "AWS::Lambda::Function");
            expect(functions).to.have.length(ROUTES.length);
            for (const fn of functions) expect(fn.Properties!.Code.S3Bucket).to.equal(DEV.deploymentBucketName);
            const roles = resources.filter((r) => r.Type === "AWS::IAM::Role");
            expect(roles.map((r) => r.Properties!.PermissionsBoundary)).to.deep.equal([DEV.permissionsBoundaryArn]);
        });

        it("lists the Test stage's zips to upload under the release's directory, and names the release by its time", () => {
            expect(directory.startsWith("serverless/product-catalog-service/dev/")).to.equal(true);
            expect(bound.uploads.map((u) => [u.key, u.file]).sort()).to.deep.equal(
                ROUTES.map((r) => [`${directory}/${r.bundle}.zip`, `build/${r.bundle}.zip`]).sort(),
            );
            expect(bound.uploads.map((u) => u.file))
                .to.include("build/create-product.zip")
                .and.include("build/find-product.zip");
            expect(bound.templateKey).to.equal(`${directory}/compiled-cloudformation-template.json`);
            expect(bound.name).to.equal(directory.split("/").pop());
            expect(bound.name).to.match(/^[0-9]{13}-[0-9]{4}-[0-9]{2}-[0-9]{2}T/);
        });

        it("leaves the package it was given unchanged", () => {
            const before = JSON.stringify(pkg);
            bindRelease(pkg, DEV);
            expect(JSON.stringify(pkg)).to.equal(before);
        });
    });

    describe("refuses, naming the reason", () => {
        it("an IAM resource other than the function role (a user, a managed policy)", () => {
            const problems = refusal(({ template }) => {
                template.Resources.Backdoor = { Type: "AWS::IAM::User", Properties: { UserName: "backdoor" } };
                template.Resources.ExtraPolicy = {
                    Type: "AWS::IAM::ManagedPolicy",
                    Properties: {
                        PolicyDocument: {
                            Version: "2012-10-17",
                            Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }],
                        },
                    },
                };
            });
            expect(problems).to.deep.equal([
                "Backdoor is an AWS::IAM::User: a release may hold the function role only (the execution role may create nothing else in IAM)",
                "ExtraPolicy is an AWS::IAM::ManagedPolicy: a release may hold the function role only (the execution role may create nothing else in IAM)",
            ]);
        });

        it("a role without the target's permissions boundary (none, or another one)", () => {
            expect(
                refusal(({ template }) => delete template.Resources.IamRoleLambdaExecution.Properties.PermissionsBoundary),
            ).to.deep.equal([`IamRoleLambdaExecution does not carry the target's permissions boundary ${DEV.permissionsBoundaryArn}`]);
            const other = "arn:aws:iam::222222222222:policy/admin-boundary";
            expect(
                refusal(({ template }) => (template.Resources.IamRoleLambdaExecution.Properties.PermissionsBoundary = other)),
            ).to.deep.equal([`IamRoleLambdaExecution does not carry the target's permissions boundary ${DEV.permissionsBoundaryArn}`]);
        });

        it("a function role trusting a principal other than Lambda", () => {
            const trust = (t: any) => t.Resources.IamRoleLambdaExecution.Properties.AssumeRolePolicyDocument.Statement[0];
            expect(trust(pkg.template).Principal).to.deep.equal({ Service: ["lambda.amazonaws.com"] });
            const problems = refusal(({ template }) => (trust(template).Principal.AWS = "arn:aws:iam::333333333333:role/intruder"));
            expect(problems).to.have.length(1);
            expect(problems[0]).to.match(/^IamRoleLambdaExecution: .*trusts AWS:arn:aws:iam::333333333333:role\/intruder/);
            expect(problems[0]).to.include(`[${RULE.functionRoleTrust}]`);
        });

        it("function code from another bucket, or from another stage's or release's key", () => {
            const code = (t: any) => t.Resources.CreateProductLambdaFunction.Properties.Code;
            const [otherBucket, ...rest] = refusal(({ template }) => (code(template).S3Bucket = "attacker-bucket"));
            expect(rest).to.deep.equal([]);
            expect(otherBucket).to.include(
                `CreateProductLambdaFunction's code is not the release's zip in ${DEV.deploymentBucketName}/${directory}/`,
            );
            expect(otherBucket).to.include("attacker-bucket");

            const prodKey = code(pkg.template).S3Key.replace("/dev/", "/prod/");
            expect(refusal(({ template }) => (code(template).S3Key = prodKey))[0]).to.include(
                "CreateProductLambdaFunction's code is not the release's zip",
            );
            const olderRelease = `serverless/product-catalog-service/dev/1700000000000-2023-11-14T22:13:20.000Z/create-product.zip`;
            expect(refusal(({ template }) => (code(template).S3Key = olderRelease))[0]).to.include(
                "CreateProductLambdaFunction's code is not the release's zip",
            );
            expect(refusal(({ template }) => (code(template).S3Key = `${directory}/../escape.zip`))).to.deep.equal([
                "CreateProductLambdaFunction's code ../escape.zip is not a bundle the Test stage builds",
            ]);
        });

        it("a table without point-in-time recovery, without deletion protection, or not retained", () => {
            const table = (t: any) => t.Resources.ProductsTable;
            const only = (problems: string[], rule: string) => {
                expect(problems, problems.join("\n")).to.have.length(1);
                expect(problems[0]).to.match(new RegExp(`^ProductsTable: .*\\[${rule}\\]$`));
            };
            only(
                refusal(({ template }) => (table(template).Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled = false)),
                RULE.dynamodbPitr,
            );
            only(
                refusal(({ template }) => delete table(template).Properties.DeletionProtectionEnabled),
                RULE.dynamodbDeletionProtection,
            );
            only(
                refusal(({ template }) => (table(template).DeletionPolicy = "Delete")),
                RULE.tableRetained,
            );
            only(
                refusal(({ template }) => delete table(template).UpdateReplacePolicy),
                RULE.tableRetained,
            );
        });

        it("a package of another service", () => {
            expect(refusal(({ state }) => (state.service.service = "other-service"))).to.deep.equal([
                'the package is for service "other-service", not product-catalog-service',
            ]);
        });

        it("a package of another stage (dev's package bound to prod)", () => {
            const problems = refusal(() => undefined, PROD);
            expect(problems).to.include('the package is for stage "dev", not prod');
            expect(problems).to.include(
                `the package's artifact directory ${JSON.stringify(directory)} is not under serverless/product-catalog-service/prod/<time>`,
            );
        });

        it("a placeholder the kit does not bind, and a template without functions", () => {
            expect(
                refusal(
                    ({ template }) =>
                        (template.Resources.ProductsTable.Properties.Tags = [{ Key: "r", Value: PACKAGE_PARAMETERS.cfnRoleArn }]),
                ),
            ).to.deep.equal([
                "the template holds a placeholder the kit does not bind (was it packaged by another version of scripts/package-stages.ts?)",
            ]);
            const problems = refusal(({ template }) => {
                for (const [id, r] of Object.entries<any>(template.Resources))
                    if (r.Type === "AWS::Lambda::Function") delete template.Resources[id];
            });
            expect(problems).to.include("the template deploys no function");
        });

        it("lists every reason at once", () => {
            const problems = refusal(({ template, state }) => {
                state.service.service = "other-service";
                delete template.Resources.ProductsTable.DeletionPolicy;
                template.Resources.Backdoor = { Type: "AWS::IAM::User", Properties: {} };
            });
            expect(problems).to.have.length(3);
        });
    });
});
